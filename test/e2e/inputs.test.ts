// Declared inputs (docs/semantics.md I1-I5) through every surface: a real
// coordinator over Connect and JSON-RPC, the `horus` CLI as a process, and
// sub-workflows (inline and from a template) whose declared inputs are
// checked when their parent step starts them.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ValidateWorkflowResponseSchema } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import type { RunningCoordinator } from "../../src/coordinator/app.js";
import { fromValue, toValueMap, type JsonValue } from "../../src/common/json.js";
import { StepState } from "../../src/engine/states.js";
import { horus } from "../helpers/cli.js";
import { coordinator, outputs, runYaml, WorkflowState, type CoordinatorClient } from "../helpers/coordinator.js";

let running: RunningCoordinator;
let client: CoordinatorClient;
const dir = mkdtempSync(join(tmpdir(), "horus-inputs-"));

beforeAll(async () => {
  ({ running, client } = await coordinator());
});
afterAll(async () => {
  await running?.close();
  rmSync(dir, { recursive: true, force: true });
});

const GREET = `workflow:
  name: greet
  inputs:
    who: { type: string, required: true, description: whom to greet }
    times: { type: number, default: 2 }
    loud: boolean
    tags: { type: array, default: [] }
  steps:
    - id: hello
      runner: js
      payload: '({ text: "hello " + inputs.who, times: inputs.times, loud: inputs.loud ?? null, tags: inputs.tags })'
`;

async function submitError(yaml: string, inputs: Record<string, JsonValue>): Promise<ConnectError> {
  try {
    await client.submitWorkflow({ definition: { case: "yaml", value: yaml }, inputs: toValueMap(inputs) });
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("the submission was accepted");
}

describe("SubmitWorkflow checks declared inputs", () => {
  it("fills in defaults before the run starts: the step and GetWorkflow see them", async () => {
    const wf = await runYaml(client, GREET, { who: "ada" });
    expect(wf.state).toBe(WorkflowState.SUCCEEDED);
    expect(outputs(wf).hello).toEqual({ text: "hello ada", times: 2, loud: null, tags: [] });
    expect(Object.fromEntries(Object.entries(wf.inputs).map(([k, v]) => [k, fromValue(v)]))).toEqual({ who: "ada", times: 2, tags: [] });
    // The declarations are part of the definition kept with the run.
    expect(wf.spec!.inputs.who).toMatchObject({ type: "string", required: true, description: "whom to greet" });
  });

  const refused: Array<{ what: string; inputs: Record<string, JsonValue>; message: string; field: string }> = [
    { what: "a missing required input", inputs: {}, message: 'input "who" is required (a string: whom to greet)', field: "inputs.who" },
    { what: "a mistyped input", inputs: { who: "ada", times: "3" }, message: 'input "times" must be a number, got a string', field: "inputs.times" },
    { what: "an undeclared input", inputs: { who: "ada", whom: "x" }, message: 'input "whom" is not declared in workflow.inputs (declared: who, times, loud, tags)', field: "inputs.whom" },
  ];
  for (const t of refused) {
    it(`refuses ${t.what} with INVALID_ARGUMENT naming it`, async () => {
      const err = await submitError(GREET, t.inputs);
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toBe(`invalid inputs: ${t.message}`);
      const [details] = err.findDetails(ValidateWorkflowResponseSchema);
      expect(details!.problems.map((p) => p.field)).toEqual([t.field]);
    });
  }

  it("a workflow with no inputs block takes any inputs, unchecked, as before", async () => {
    const wf = await runYaml(client, `workflow:\n  name: free\n  steps:\n    - { id: a, runner: js, payload: "inputs" }\n`, { anything: "3", n: 3 });
    expect(outputs(wf).a).toEqual({ anything: "3", n: 3 });
  });

  it("SubmitWorkflows refuses the whole batch when one submission's inputs are wrong, naming its index", async () => {
    const err = await client
      .submitWorkflows({ workflows: [{ definition: { case: "yaml", value: GREET }, inputs: toValueMap({ who: "a" }) }, { definition: { case: "yaml", value: GREET }, inputs: toValueMap({ who: 1 }) }] })
      .then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(err?.rawMessage).toBe('invalid workflows (nothing was submitted): workflows[1]: input "who" must be a string, got a number');
    expect((await client.listWorkflows({ name: "greet", pageSize: 100 })).workflows.length).toBe(1);
  });

  it("JSON-RPC submit_workflow refuses a missing input with -32003 and its problem", async () => {
    const res = await fetch(`${running.url}/rpc`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "submit_workflow", params: { yaml: GREET, inputs: { times: 1 } } }),
    });
    const body = (await res.json()) as { error: { code: number; message: string; data: { problems: Array<{ field: string }> } } };
    expect(body.error.code).toBe(-32003);
    expect(body.error.message).toBe('invalid inputs: input "who" is required (a string: whom to greet)');
    expect(body.error.data.problems).toEqual([expect.objectContaining({ field: "inputs.who" })]);
  });
});

describe("horus run --input converts by the declared type", () => {
  const path = join(dir, "typed.yaml");
  writeFileSync(path, `workflow:
  name: typed
  inputs:
    n: { type: number, required: true }
    label: { type: string, required: true }
    on: { type: boolean }
    opts: { type: object }
  steps:
    - { id: show, runner: js, payload: '({ n: inputs.n, label: inputs.label, on: inputs.on ?? null, opts: inputs.opts ?? null, sum: inputs.n + 1 })' }
`);

  it("a number input becomes a number, a string input stays a string even when it looks like one", async () => {
    const r = await horus(["--coordinator", running.url, "--json", "run", path, "--input", "n=3", "--input", "label=3", "--input", "on=true", "--input", 'opts={"a":1}']);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const wf = JSON.parse(r.stdout) as { steps: Array<{ id: string; output: unknown }> };
    expect(wf.steps[0]!.output).toEqual({ n: 3, label: "3", on: true, opts: { a: 1 }, sum: 4 });
  });

  it("a value that is not of the declared type is a one-line error naming the input", async () => {
    const r = await horus(["--coordinator", running.url, "run", path, "--input", "n=three", "--input", "label=x"]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim()).toBe('horus: --input input "n" is declared number, got "three"');
  });

  it("a missing required input is refused by the coordinator in one line", async () => {
    const r = await horus(["--coordinator", running.url, "submit", path, "--input", "n=1"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain('input "label" is required (a string)');
  });
});

describe("I5: a sub-workflow's declared inputs are checked when its parent step starts it", () => {
  const parent = (count: string, child: string) => `workflow:
  name: parent
  steps:
    - { id: count, runner: js, payload: '${count}' }
    - id: child
      depends_on: [count]
      workflow:
${child}
`;
  const inline = `        name: child
        inputs:
          count: { type: number, required: true }
          unit: { type: string, default: rows }
        steps:
          - { id: report, runner: js, payload: '(inputs.count + " " + inputs.unit)' }`;

  it("an inline child gets its defaults and its declared input from the parent step's dependency", async () => {
    const wf = await runYaml(client, parent("3", inline));
    expect(wf.state).toBe(WorkflowState.SUCCEEDED);
    expect(outputs(wf).child).toEqual({ report: "3 rows" });
  });

  it("a mistyped input fails the step INVALID_INPUTS with a clear error, and no child is created", async () => {
    const wf = await runYaml(client, parent('"three"', inline));
    expect(wf.state).toBe(WorkflowState.FAILED);
    const step = wf.steps.find((s) => s.id === "child")!;
    expect(step.state).toBe(StepState.FAILED);
    expect(step.error?.code).toBe("INVALID_INPUTS");
    expect(step.error?.message).toBe('sub-workflow (inline): input "count" must be a number, got a string');
    expect(step.attemptHistory[0]!.childWorkflowId).toBe("");
  });

  it("a template declares its inputs the same way", async () => {
    await client.registerWorkflowTemplate({
      name: "needs-region",
      definition: { case: "yaml", value: `workflow:\n  name: needs-region\n  inputs:\n    region: { type: string, required: true }\n  steps:\n    - { id: r, runner: js, payload: "inputs.region" }\n` },
    });
    const wf = await runYaml(client, `workflow:\n  name: uses-template\n  steps:\n    - { id: count, runner: js, payload: "1" }\n    - { id: t, depends_on: [count], workflow: { template: needs-region } }\n`);
    expect(wf.state).toBe(WorkflowState.FAILED);
    expect(wf.steps.find((s) => s.id === "t")!.error).toMatchObject({ code: "INVALID_INPUTS", message: 'sub-workflow template "needs-region": input "region" is required (a string)' });
  });

  it("a template with invalid declarations cannot be registered", async () => {
    const err = await client
      .registerWorkflowTemplate({ name: "bad-decl", definition: { case: "yaml", value: `workflow:\n  name: bad-decl\n  inputs:\n    n: { type: number, default: "x" }\n  steps:\n    - { id: a, runner: noop }\n` } })
      .then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(err?.rawMessage).toContain('input "n": the default must be a number, got a string');
  });
});
