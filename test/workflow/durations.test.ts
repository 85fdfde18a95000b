// Durations get one range check whatever form the definition takes: YAML
// text, or the proto spec (binary or Connect JSON). Positive, at most the
// coordinator's maximum (30 days unless configured), timeouts and retry
// backoffs alike; and no stored value can make a workflow unencodable.
import { create, toJson } from "@bufbuild/protobuf";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, describe, expect, it } from "vitest";
import { RetryPolicySchema, StepSpecSchema, WorkflowSpecSchema } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { msDuration } from "../../src/common/json.js";
import { createMemoryStore } from "../../src/store/memory/memory-store.js";
import { fromSpec, parseWorkflowYaml, validateAndPlan, type Problem, type ValidationLimits } from "../../src/workflow/index.js";
import { sampleRecord } from "../store/contract.js";
import { coordinator } from "../helpers/coordinator.js";

function yamlProblems(text: string, limits: Partial<ValidationLimits> = {}): Problem[] {
  const parsed = parseWorkflowYaml(text);
  return [...parsed.problems, ...(parsed.definition ? validateAndPlan(parsed.definition, limits).problems : [])];
}

function specProblems(spec: ReturnType<typeof create<typeof WorkflowSpecSchema>>, limits: Partial<ValidationLimits> = {}): Problem[] {
  const parsed = fromSpec(spec);
  return [...parsed.problems, ...(parsed.definition ? validateAndPlan(parsed.definition, limits).problems : [])];
}

const wf = (step: string, workflow = "") => `workflow:\n  name: t\n${workflow}  steps:\n    - {id: a, runner: noop${step}}\n`;
const seconds = (s: number) => ({ seconds: BigInt(s), nanos: 0 });

describe("duration ranges: YAML", () => {
  const table: Array<{ yaml: string; field: string; message: RegExp; title?: string }> = [
    { yaml: wf(", timeout: 9999999999999h"), field: "workflow.steps[0].timeout", message: /step "a": timeout must be at most 30d .*--max-duration/ },
    { yaml: wf(", timeout: 31d"), field: "workflow.steps[0].timeout", message: /at most 30d/ },
    { yaml: wf("", "  timeout: 9999999999999h\n"), field: "workflow.timeout", message: /workflow.timeout must be at most 30d/ },
    { yaml: wf(", retry: {initial_backoff: 9999999999999h, max_backoff: 9999999999999h}"), field: "workflow.steps[0].retry.initial_backoff", message: /retry.initial_backoff must be at most 30d/ },
    { yaml: wf(", retry: {max_backoff: 40d}"), field: "workflow.steps[0].retry.max_backoff", message: /retry.max_backoff must be at most 30d/ },
    // A number too big for a double is Infinity in YAML: the range is named, not "a number, got a number".
    { yaml: wf(`, retry: {max_attempts: 1${"0".repeat(400)}}`), field: "workflow.steps[0].retry.max_attempts", message: /must be a whole number from 1 to 100, got Infinity/, title: "max_attempts: 1e400" },
    { yaml: wf(`, retry: {multiplier: 1${"0".repeat(400)}}`), field: "workflow.steps[0].retry.multiplier", message: /must be a number from 1 to 100, got Infinity/, title: "multiplier: 1e400" },
    { yaml: wf(", retry: {jitter: .nan}"), field: "workflow.steps[0].retry.jitter", message: /fraction from 0 to 1, got NaN/ },
  ];
  for (const t of table) {
    it(`${t.field}: ${t.title ?? t.yaml.split("\n").find((l) => /timeout|retry/.test(l))!.trim()}`, () => {
      const problems = yamlProblems(t.yaml);
      expect(problems.map((p) => p.field)).toContain(t.field);
      expect(problems.find((p) => p.field === t.field)!.message).toMatch(t.message);
    });
  }

  it("the maximum is configurable, and 30 days itself is accepted", () => {
    expect(yamlProblems(wf(", timeout: 30d"))).toEqual([]);
    expect(yamlProblems(wf(", timeout: 31d"), { maxDurationMs: 60 * 86_400_000 })).toEqual([]);
    expect(yamlProblems(wf(", timeout: 2h"), { maxDurationMs: 3_600_000 })[0]!.message).toMatch(/at most 1h0m|at most 60m/);
  });
});

describe("duration ranges: proto spec", () => {
  const step = (init: Parameters<typeof create<typeof StepSpecSchema>>[1]) => create(WorkflowSpecSchema, { name: "s", steps: [create(StepSpecSchema, { id: "a", runner: "noop", ...init })] });

  it("a negative step timeout is a problem naming step and field, not ignored", () => {
    expect(specProblems(step({ timeout: seconds(-5) }))).toEqual([
      { stepId: "a", field: "workflow.steps[0].timeout", message: 'step "a": timeout must be a positive duration, got -5s' },
    ]);
  });

  it("a negative workflow timeout is a problem at workflow.timeout", () => {
    const spec = create(WorkflowSpecSchema, { name: "s", timeout: seconds(-100), steps: [create(StepSpecSchema, { id: "a", runner: "noop" })] });
    expect(specProblems(spec)).toEqual([{ stepId: "", field: "workflow.timeout", message: "workflow.timeout must be a positive duration, got -1m40s" }]);
  });

  it("zero, and longer than the maximum, are problems too", () => {
    expect(specProblems(step({ timeout: seconds(0) }))[0]!.message).toMatch(/positive duration/);
    expect(specProblems(step({ timeout: seconds(315_576_000_000) }))[0]!.message).toMatch(/at most 30d/);
  });

  it("retry backoffs get the same range", () => {
    const problems = specProblems(step({ retry: create(RetryPolicySchema, { initialBackoff: seconds(-1), maxBackoff: seconds(100 * 86_400) }) }));
    expect(problems.map((p) => p.field)).toEqual(["workflow.steps[0].retry.initial_backoff", "workflow.steps[0].retry.max_backoff"]);
  });
});

describe("stored durations always encode", () => {
  it("msDuration clamps to Duration's range and keeps seconds and nanos of one sign", () => {
    for (const ms of [3.6e19, Infinity, -Infinity, NaN, -1500, 1500, 0]) {
      expect(() => toJson(DurationSchema, create(DurationSchema, msDuration(ms)))).not.toThrow();
    }
    expect(msDuration(-1500)).toEqual({ seconds: -1n, nanos: -500_000_000 });
  });

  const closers: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of closers) await c();
  });

  it("GetWorkflow over Connect JSON and JSON-RPC answers for a workflow stored with an out-of-range timeout", async () => {
    const store = createMemoryStore();
    const { running, client } = await coordinator({ store, embedded: false });
    closers.push(() => running.close());
    // As a coordinator without the range check could have stored it.
    const rec = sampleRecord();
    rec.definition = { ...rec.definition, timeoutMs: 9999999999999 * 3_600_000, steps: rec.definition.steps.map((s) => ({ ...s, timeoutMs: -5000, retry: { initialBackoffMs: Infinity } })) };
    await store.createWorkflow(rec);
    const got = await client.getWorkflow({ workflowId: rec.id });
    expect(got.workflow!.spec!.timeout!.seconds).toBe(315_576_000_000n);
    const res = await fetch(`${running.url}/rpc`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "get_workflow_status", params: { workflowId: rec.id } }) });
    const body = (await res.json()) as { result?: { workflow: { spec: { timeout: string } } }; error?: unknown };
    expect(body.error).toBeUndefined();
    expect(body.result!.workflow.spec.timeout).toBe("315576000000s");
  });

  it("SubmitWorkflow over Connect JSON refuses a -5s step timeout with INVALID_ARGUMENT naming step and field", async () => {
    const { running, client } = await coordinator({ embedded: false });
    closers.push(() => running.close());
    const spec = create(WorkflowSpecSchema, { name: "s", timeout: seconds(-100), steps: [create(StepSpecSchema, { id: "slow", runner: "noop", timeout: seconds(-5) })] });
    const err = await client.submitWorkflow({ definition: { case: "spec", value: spec } }).then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(err?.rawMessage).toMatch(/step "slow": timeout must be a positive duration, got -5s/);
    expect(err?.rawMessage).toMatch(/workflow.timeout must be a positive duration, got -1m40s/);
  });
});
