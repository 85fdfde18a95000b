// Large YAML definitions are read in worker threads (definition-pool.ts):
// the answers are the same as on the main thread, and a document that needs
// too much memory or time, or too many at once, is refused without harm.
// How long the event loop is held is measured in bench/ (not asserted here).
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, describe, expect, it } from "vitest";
import { createDefinitionPool, type DefinitionPool } from "../../src/coordinator/definition-pool.js";
import { checkDefinition, checkDefinitionOffThread } from "../../src/coordinator/service.js";
import { create, fromBinary, fromJsonString, toBinary, toJsonString } from "@bufbuild/protobuf";
import { SubmitWorkflowRequestSchema } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { definitionToSpec } from "../../src/coordinator/convert.js";
import { parseWorkflowYaml } from "../../src/workflow/parse.js";
import { coordinator, runYaml, WorkflowState } from "../helpers/coordinator.js";

const pools: DefinitionPool[] = [];
const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const p of pools) await p.close();
  for (const c of closers) await c();
});

function pool(options: Parameters<typeof createDefinitionPool>[0]): DefinitionPool {
  const p = createDefinitionPool(options);
  pools.push(p);
  return p;
}

/** `n` noop steps, each after the one before. */
function chain(n: number, extra = ""): string {
  const lines = ["workflow:", "  name: big", "  steps:", "    - {id: s0, runner: noop}"];
  for (let i = 1; i < n; i++) lines.push(`    - {id: s${i}, runner: noop, depends_on: [s${i - 1}]${extra}}`);
  return lines.join("\n") + "\n";
}

const yaml = (value: string) => ({ case: "yaml" as const, value });

describe("definitions read in a worker", () => {
  it("a valid document gets the same plan and definition as on the main thread", async () => {
    const p = pool({ offloadChars: 1 });
    const text = chain(300);
    const off = await checkDefinitionOffThread(yaml(text), {}, p);
    const inline = checkDefinition(yaml(text));
    expect(off.problems).toEqual([]);
    expect(off.plan!.levels).toEqual(inline.plan!.levels);
    expect(off.parsed.definition).toEqual(inline.parsed.definition);
  });

  it("an invalid document gets the same problems", async () => {
    const p = pool({ offloadChars: 1 });
    const text = chain(50, ", retry: {jitter: 5}") + "    - {id: s0, runner: noop}\n    - {id: x, depends_on: [ghost]}\n";
    const off = await checkDefinitionOffThread(yaml(text), {}, p);
    expect(off.problems.length).toBeGreaterThan(50);
    expect(off.problems).toEqual(checkDefinition(yaml(text)).problems);
    expect(off.plan).toBeUndefined();
    // Within the step limit, the definition comes back for ValidateWorkflow's spec.
    expect(off.parsed.definition?.steps).toHaveLength(52);
  });

  it("a document over the step limit gets one problem, and no definition is copied back", async () => {
    const p = pool({ offloadChars: 1 });
    const off = await checkDefinitionOffThread(yaml(chain(2_000)), { maxSteps: 1_000 }, p);
    expect(off.problems).toEqual([{ stepId: "", field: "workflow.steps", message: "the workflow has 2000 steps, more than the limit of 1000" }]);
    expect(off.parsed.definition).toBeUndefined();
  });

  it("small documents stay on the main thread", async () => {
    const p = pool({ offloadChars: 1_000_000 });
    expect(p.offloads(chain(10))).toBe(false);
    expect((await checkDefinitionOffThread(yaml(chain(10)), {}, p)).plan).toBeDefined();
  });

  it("a document needing more memory than a worker has is a problem, and the next document is read", async () => {
    const p = pool({ offloadChars: 1, maxHeapMb: 16 });
    const off = await checkDefinitionOffThread(yaml(chain(60_000)), { maxSteps: 100_000 }, p);
    expect(off.problems).toEqual([{ stepId: "", field: "", message: expect.stringMatching(/needs more than the 16 MiB/) }]);
    expect((await checkDefinitionOffThread(yaml(chain(20)), {}, p)).plan).toBeDefined();
  });

  it("a document taking longer than the time limit is a problem", async () => {
    const p = pool({ offloadChars: 1, maxMs: 1 });
    const off = await checkDefinitionOffThread(yaml(chain(5_000)), {}, p);
    expect(off.problems[0]!.message).toMatch(/took longer than 0.001s to read/);
  });

  it("more documents than workers and queue: RESOURCE_EXHAUSTED", async () => {
    const p = pool({ offloadChars: 1, size: 1, maxQueued: 1 });
    const text = chain(2_000);
    const first = p.check(text, {});
    const second = p.check(text, {});
    const third = await p.check(text, {}).then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(third?.code).toBe(Code.ResourceExhausted);
    expect(third?.rawMessage).toMatch(/too many large definitions/);
    expect((await first).problems).toEqual([]);
    expect((await second).problems).toEqual([]);
  });

  it("a request message is decoded and checked in a worker: the main thread's answer, and the request without its definition", async () => {
    const p = pool({});
    const spec = definitionToSpec(parseWorkflowYaml(chain(300)).definition!);
    const request = create(SubmitWorkflowRequestSchema, { definition: { case: "spec", value: spec }, idempotencyKey: "key-1" });
    const inline = checkDefinition({ case: "spec", value: spec });
    for (const format of ["binary", "json"] as const) {
      const bytes = format === "binary" ? toBinary(SubmitWorkflowRequestSchema, request) : new TextEncoder().encode(toJsonString(SubmitWorkflowRequestSchema, request));
      const reply = await p.checkRequest("SubmitWorkflow", format, bytes, {});
      expect(reply.problems, format).toEqual([]);
      expect(reply.error, format).toBeUndefined();
      expect(reply.definition, format).toEqual(inline.parsed.definition);
      const rest = format === "binary" ? fromBinary(SubmitWorkflowRequestSchema, reply.message!) : fromJsonString(SubmitWorkflowRequestSchema, new TextDecoder().decode(reply.message));
      expect(rest.idempotencyKey, format).toBe("key-1");
      expect(rest.definition.case === "spec" && rest.definition.value.steps, format).toEqual([]);
    }
    const broken = await p.checkRequest("ValidateWorkflow", "binary", new Uint8Array(1_000).fill(0xff), {});
    expect(broken.error).toMatchObject({ code: Code.InvalidArgument, message: expect.stringMatching(/^parse binary: /) });
  });

  it("a coordinator runs a workflow whose YAML is read in a worker", async () => {
    const { running, client } = await coordinator();
    closers.push(() => running.close());
    // Side by side: noop outputs its input, so a chain would nest 1,500 deep.
    const text = ["workflow:", "  name: wide", "  steps:", ...Array.from({ length: 1_500 }, (_, i) => `    - {id: step_${i}, runner: noop}`)].join("\n") + "\n";
    expect(text.length).toBeGreaterThan(32 * 1024);
    const wf = await runYaml(client, text, {}, 60_000);
    expect(wf.state).toBe(WorkflowState.SUCCEEDED);
    expect(wf.steps).toHaveLength(1_500);
  });
});
