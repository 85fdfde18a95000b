// SubmitWorkflows against real coordinators (embedded and on Redis) over
// Connect, gRPC and gRPC-web: one result per definition in order, each with
// its own inputs and idempotency key; a batch with an invalid definition is
// refused whole, naming the definition, step and field, and creates nothing.
import { randomBytes } from "node:crypto";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, describe, expect, it } from "vitest";
import { CoordinatorService, ValidateWorkflowResponseSchema, type SubmitWorkflowRequestSchema } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { WorkflowSpecSchema } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { toValueMap } from "../../src/common/json.js";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import { coordinator, outputs, PROTOCOLS, waitForEnd, WorkflowState, type CoordinatorClient } from "../helpers/coordinator.js";
import { sharedRedisUrl, stopSharedRedis } from "../helpers/redis.js";

const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c();
  await stopSharedRedis();
});

async function start(options: Parameters<typeof coordinator>[0] = {}) {
  const c = await coordinator(options);
  closers.push(() => c.running.close());
  return c;
}

const yaml = (name: string, steps: string[]) => `workflow:\n  name: ${name}\n  steps:\n${steps.map((s) => `    - ${s}\n`).join("")}`;
const submission = (value: string, inputs: Record<string, number> = {}, idempotencyKey = ""): MessageInitShape<typeof SubmitWorkflowRequestSchema> => ({
  definition: { case: "yaml", value },
  inputs: toValueMap(inputs),
  idempotencyKey,
});

async function errorOf(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected an error");
}

/** Submits a batch of three (YAML with inputs, a spec, YAML) and checks each runs to its own result. */
async function runsABatch(client: CoordinatorClient, name: string): Promise<void> {
  const res = await client.submitWorkflows({
    workflows: [
      submission(yaml(name, ["{ id: a, runner: js, payload: 'inputs.n * 2' }", "{ id: b, runner: js, depends_on: [a], payload: 'input.a + 1' }"]), { n: 10 }),
      {
        definition: { case: "spec", value: create(WorkflowSpecSchema, { name, steps: [{ id: "only", runner: "js", payload: "'spec'" }] }) },
      },
      submission(yaml(name, ["{ id: a, runner: js, payload: 'inputs.n * 2' }"]), { n: 1 }),
    ],
  });
  expect(res.workflows.map((w) => w.existing)).toEqual([false, false, false]);
  expect(new Set(res.workflows.map((w) => w.workflowId)).size).toBe(3);
  expect(res.workflows.map((w) => w.plan!.levels.map((l) => l.stepIds))).toEqual([[["a"], ["b"]], [["only"]], [["a"]]]);
  const ended = await Promise.all(res.workflows.map((w) => waitForEnd(client, w.workflowId)));
  expect(ended.map((w) => w.state)).toEqual([WorkflowState.SUCCEEDED, WorkflowState.SUCCEEDED, WorkflowState.SUCCEEDED]);
  expect(ended.map(outputs)).toEqual([{ a: 20, b: 21 }, { only: "spec" }, { a: 2 }]);
}

describe("SubmitWorkflows", () => {
  it("runs every definition of a batch, results in order, over Connect, gRPC and gRPC-web", async () => {
    const { running } = await start();
    for (const [protocol, transport] of Object.entries(PROTOCOLS)) {
      await runsABatch(createClient(CoordinatorService, transport(running.url)), `batch-${protocol.replace(/\W+/g, "-")}`);
    }
  });

  it("runs a batch on a Redis store", async () => {
    const store = await createRedisStore({ url: await sharedRedisUrl(), prefix: `b${randomBytes(4).toString("hex")}` });
    const { client } = await start({ store });
    await runsABatch(client, "batch-redis");
  });

  it("refuses a batch with an invalid definition whole: INVALID_ARGUMENT naming index, step and field; nothing is created", async () => {
    const { client } = await start();
    const name = "batch-invalid";
    const e = await errorOf(
      client.submitWorkflows({
        workflows: [
          submission(yaml(name, ["{ id: a, runner: noop }"]), {}, "first-valid"),
          submission(yaml(name, ["{ id: a, runner: noop, depends_on: [ghost] }"])),
          submission(yaml(name, ["{ id: a, runner: noop }"])),
          submission(yaml(name, ["{ id: x, runner: noop, timeout: 'soon' }"])),
        ],
      }),
    );
    expect(e.code).toBe(Code.InvalidArgument);
    expect(e.rawMessage).toMatch(/^invalid workflows \(nothing was submitted\): workflows\[1\]: step "a".*ghost.*; workflows\[3\]: step "x".*timeout/);
    const [detail] = e.findDetails(ValidateWorkflowResponseSchema);
    expect(detail!.problems.map((p) => [p.stepId, p.field.replace(/\].*/, "]")])).toEqual([
      ["a", "workflows[1]"],
      ["x", "workflows[3]"],
    ]);
    expect(detail!.problems[0]!.field).toMatch(/^workflows\[1\]\..*depends_on\[0\]$/);
    expect((await client.listWorkflows({ name })).workflows).toEqual([]);
    // The valid definition's idempotency key was not used up either.
    const again = await client.submitWorkflows({ workflows: [submission(yaml(name, ["{ id: a, runner: noop }"]), {}, "first-valid")] });
    expect(again.workflows[0]!.existing).toBe(false);
  });

  it("keeps idempotency keys within a batch and across calls", async () => {
    const { client } = await start();
    const k = randomBytes(4).toString("hex");
    const def = yaml("batch-keys", ["{ id: a, runner: noop }"]);
    const single = await client.submitWorkflow(submission(def, {}, `${k}-single`));
    const first = await client.submitWorkflows({ workflows: [submission(def, {}, `${k}-a`), submission(def, {}, `${k}-single`), submission(def), submission(def, {}, `${k}-a`)] });
    const ids = first.workflows.map((w) => w.workflowId);
    expect(first.workflows.map((w) => w.existing)).toEqual([false, true, false, true]);
    expect(ids[1]).toBe(single.workflowId);
    expect(ids[3]).toBe(ids[0]);
    const second = await client.submitWorkflows({ workflows: [submission(def, {}, `${k}-a`), submission(def, {}, `${k}-b`)] });
    expect(second.workflows.map((w) => [w.workflowId === ids[0], w.existing])).toEqual([
      [true, true],
      [false, false],
    ]);
  });

  it("reads a batch of large YAML definitions (worker threads) without filling the pool's queue", async () => {
    const { client } = await start({ security: { clientLimits: { submitsPerSecond: 0 } } });
    // Over 32 KiB each, so each goes to a worker; more of them than the pool holds at once (2 reading, 8 waiting).
    const big = yaml("batch-large", [`{ id: a, runner: noop, payload: "${"x".repeat(40_000)}" }`]);
    const res = await client.submitWorkflows({ workflows: Array.from({ length: 12 }, () => submission(big)) });
    expect(res.workflows.map((w) => w.existing)).toEqual(Array(12).fill(false));
  });

  it("takes 1 to 1,000 definitions: an empty or larger batch is INVALID_ARGUMENT naming the field", async () => {
    const { client } = await start({ security: { clientLimits: { submitsPerSecond: 0 } } });
    const empty = await errorOf(client.submitWorkflows({ workflows: [] }));
    expect([empty.code, empty.rawMessage]).toEqual([Code.InvalidArgument, expect.stringMatching(/workflows: .*at least 1/)]);
    const def = submission(yaml("batch-big", ["{ id: a, runner: noop }"]));
    const big = await errorOf(client.submitWorkflows({ workflows: Array.from({ length: 1001 }, () => def) }));
    expect([big.code, big.rawMessage]).toEqual([Code.InvalidArgument, expect.stringMatching(/workflows: .*no more than 1000/)]);
    const missing = await errorOf(client.submitWorkflows({ workflows: [def, { idempotencyKey: "no definition" }] }));
    expect([missing.code, missing.rawMessage]).toEqual([Code.InvalidArgument, expect.stringMatching(/workflows\[1\]\.definition/)]);
    expect((await client.listWorkflows({ name: "batch-big" })).workflows).toEqual([]);
  });
});
