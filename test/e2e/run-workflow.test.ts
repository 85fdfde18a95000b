// RunWorkflow (submit and follow in one call) against real coordinators,
// embedded and on Redis, over every protocol: the first message is the
// submission's answer, then the workflow from its start to its end, exactly
// as WatchWorkflow sends it. Bad definitions are refused before anything is
// created; an idempotency key follows the earlier workflow; the SDK helper
// resumes a broken stream with WatchWorkflow and does not submit twice.
// Large RunWorkflow requests: test/server/large-requests.test.ts.
import { writeFileSync } from "node:fs";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCoordinatorClient, runWorkflow, StepState, WorkflowState as PlainState, type WatchMessage } from "../../clients/node/index.js";
import { CoordinatorService, OutputFormat, type RunWorkflowResponse as WatchWorkflowResponse } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { toValueMap } from "../../src/common/json.js";
import type { RunningCoordinator } from "../../src/coordinator/app.js";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import { coordinator, PROTOCOLS, WorkflowState, type CoordinatorClient } from "../helpers/coordinator.js";
import { tcpProxy } from "../helpers/proxy.js";
import { sharedRedisUrl, stopSharedRedis } from "../helpers/redis.js";

const YAML = `workflow:
  name: doubled
  steps:
    - { id: a, runner: js, payload: "inputs.n * 2" }
    - { id: b, runner: js, depends_on: [a], payload: "input.a + 1" }
`;

let running: RunningCoordinator;
let client: CoordinatorClient;
const closers: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  ({ running, client } = await coordinator());
  closers.push(() => running.close());
});
afterAll(async () => {
  for (const c of closers.reverse()) await c();
  await stopSharedRedis();
});

/** Every message of a RunWorkflow call. */
async function runAll(c: CoordinatorClient, submit: Parameters<CoordinatorClient["runWorkflow"]>[0]["submit"], batch = true): Promise<WatchWorkflowResponse[]> {
  const got: WatchWorkflowResponse[] = [];
  for await (const m of c.runWorkflow({ submit, batch, outputs: OutputFormat.JSON }, { timeoutMs: 20_000 })) got.push(m);
  return got;
}

/** The step outputs and the workflow's last state, as the messages after `submitted` tell them. */
function replay(msgs: WatchWorkflowResponse[]): { state: WorkflowState; outputs: Record<string, unknown> } {
  let state = WorkflowState.UNSPECIFIED;
  const outputs: Record<string, unknown> = {};
  for (const m of msgs) {
    if (m.kind.case === "snapshot") state = m.kind.value.state;
    const events = m.kind.case === "events" ? m.kind.value.events : m.kind.case === "event" ? [m.kind.value] : [];
    for (const e of events) {
      if (e.kind.case === "workflow") state = e.kind.value.state;
      if (e.kind.case === "step" && e.kind.value.outputJson) outputs[e.kind.value.stepId] = JSON.parse(e.kind.value.outputJson);
    }
  }
  return { state, outputs };
}

async function errorOf(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected an error");
}

describe("RunWorkflow", () => {
  for (const [name, transport] of Object.entries(PROTOCOLS)) {
    it(`${name}: the submission's answer, then the workflow from its start to its end`, async () => {
      const c = createClient(CoordinatorService, transport(running.url));
      const msgs = await runAll(c, { definition: { case: "yaml", value: YAML }, inputs: toValueMap({ n: 20 }) });
      expect(msgs[0]!.kind.case).toBe("submitted");
      const submitted = msgs[0]!.kind.value as { workflowId: string; existing: boolean; plan?: { levels: Array<{ stepIds: string[] }> } };
      expect(submitted.existing).toBe(false);
      expect(submitted.plan!.levels.map((l) => l.stepIds)).toEqual([["a"], ["b"]]);
      expect(msgs[1]!.kind.case).toBe("snapshot");
      expect((msgs[1]!.kind.value as { id: string }).id).toBe(submitted.workflowId);
      expect(replay(msgs.slice(1))).toEqual({ state: WorkflowState.SUCCEEDED, outputs: { a: 40, b: 41 } });
      // What followed the snapshot is the workflow's event log after it, nothing missed or repeated.
      const cursors = msgs.slice(2).flatMap((m) => (m.kind.case === "events" ? m.kind.value.events.map((e) => e.cursor) : [m.cursor]));
      const log: string[] = [];
      for await (const m of client.watchWorkflow({ workflowId: submitted.workflowId, cursor: msgs[1]!.cursor })) log.push(m.cursor);
      expect(cursors).toEqual(log);
    });
  }

  it("without batching: one event a message, ending with the workflow's end", async () => {
    const msgs = await runAll(client, { definition: { case: "yaml", value: YAML }, inputs: toValueMap({ n: 1 }) }, false);
    expect(msgs.slice(2).every((m) => m.kind.case === "event")).toBe(true);
    expect(replay(msgs.slice(1))).toEqual({ state: WorkflowState.SUCCEEDED, outputs: { a: 2, b: 3 } });
  });

  it("latest_only: the same outputs and end, with a step's superseded progress left out", async () => {
    const msgs: WatchWorkflowResponse[] = [];
    const submit = { definition: { case: "yaml" as const, value: YAML }, inputs: toValueMap({ n: 5 }) };
    for await (const m of client.runWorkflow({ submit, batch: true, outputs: OutputFormat.JSON, latestOnly: true }, { timeoutMs: 20_000 })) msgs.push(m);
    expect(replay(msgs.slice(1))).toEqual({ state: WorkflowState.SUCCEEDED, outputs: { a: 10, b: 11 } });
    const sent = msgs.flatMap((m) => (m.kind.case === "events" ? m.kind.value.events : []));
    const log: string[] = [];
    for await (const m of client.watchWorkflow({ workflowId: (msgs[0]!.kind.value as { workflowId: string }).workflowId, cursor: msgs[1]!.cursor })) log.push(m.cursor);
    // Each step's last change is sent; READY, DISPATCHED or RUNNING of an attempt that ended in the same message are not.
    expect(sent.length).toBeLessThan(log.length);
    expect(sent.filter((e) => e.kind.case === "step" && e.kind.value.state === StepState.SUCCEEDED).map((e) => (e.kind.value as { stepId: string }).stepId)).toEqual(["a", "b"]);
  });

  it("refuses a bad definition or missing input with INVALID_ARGUMENT naming it, and creates nothing", async () => {
    const before = (await client.listWorkflows({ pageSize: 1000 })).workflows.length;
    const bad = await errorOf(runAll(client, { definition: { case: "yaml", value: YAML.replace("depends_on: [a]", "depends_on: [zz]") }, inputs: toValueMap({ n: 1 }) }));
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.rawMessage).toContain('step "b" depends on');
    expect(bad.rawMessage).toContain('"zz"');
    const missing = await errorOf(runAll(client, { definition: { case: "yaml", value: YAML.replace("name: doubled", "name: doubled\n  inputs: { n: { type: number, required: true } }") } }));
    expect(missing.code).toBe(Code.InvalidArgument);
    expect(missing.rawMessage).toContain("n");
    const none = await errorOf(runAll(client, undefined));
    expect(none.code).toBe(Code.InvalidArgument);
    expect(none.rawMessage).toContain("submit");
    expect((await client.listWorkflows({ pageSize: 1000 })).workflows.length).toBe(before);
  });

  it("with an idempotency key that matches: follows the earlier workflow instead of starting another", async () => {
    const key = `run-${Date.now()}`;
    const first = await runAll(client, { definition: { case: "yaml", value: YAML }, inputs: toValueMap({ n: 5 }), idempotencyKey: key });
    const again = await runAll(client, { definition: { case: "yaml", value: YAML }, inputs: toValueMap({ n: 5 }), idempotencyKey: key });
    const id = (m: WatchWorkflowResponse) => (m.kind.value as { workflowId: string }).workflowId;
    expect(id(again[0]!)).toBe(id(first[0]!));
    expect((again[0]!.kind.value as { existing: boolean }).existing).toBe(true);
    // It had ended: the snapshot says so, and the stream ends there.
    expect(again.map((m) => m.kind.case)).toEqual(["submitted", "snapshot"]);
    expect(replay(again.slice(1)).state).toBe(WorkflowState.SUCCEEDED);
  });

  it("on Redis: the same stream", async () => {
    const store = await createRedisStore({ url: await sharedRedisUrl() });
    const { running: onRedis } = await coordinator({ store });
    closers.push(() => onRedis.close());
    const c = createClient(CoordinatorService, PROTOCOLS["grpc over h2c"](onRedis.url));
    const msgs = await runAll(c, { definition: { case: "yaml", value: YAML }, inputs: toValueMap({ n: 7 }) });
    expect(msgs[0]!.kind.case).toBe("submitted");
    expect(replay(msgs.slice(1))).toEqual({ state: WorkflowState.SUCCEEDED, outputs: { a: 14, b: 15 } });
  });
});

describe("runWorkflow in the SDK", () => {
  it("hands outputs parsed, and after a cut resumes with WatchWorkflow: every message once, one workflow", async () => {
    const proxy = await tcpProxy(Number(new URL(running.url).port));
    const viaProxy = createCoordinatorClient(`http://127.0.0.1:${proxy.port}`);
    // The first step waits for a file the test creates after the cut, so the cut falls mid-run.
    const gate = `/tmp/horus-run-gate-${process.pid}-${Date.now()}`;
    const yaml = `workflow:\n  name: gated-run\n  steps:\n    - { id: wait, runner: shell, payload: "while [ ! -e ${gate} ]; do sleep 0.02; done; rm ${gate}; echo 1" }\n    - { id: after, runner: js, depends_on: [wait], payload: "({ got: input.wait + 1 })" }\n`;
    const before = (await client.listWorkflows({ pageSize: 1000 })).workflows.length;
    const got: WatchMessage[] = [];
    const reconnects: Code[] = [];
    for await (const m of runWorkflow(viaProxy, { definition: { case: "yaml", value: yaml } }, { initialDelayMs: 10, onReconnect: (e) => reconnects.push(e.code) })) {
      got.push(m);
      if (m.kind.case === "snapshot") {
        proxy.cut();
        writeFileSync(gate, "");
      }
    }
    await proxy.close();
    expect(reconnects.length).toBeGreaterThanOrEqual(1);
    expect(got[0]!.kind.case).toBe("submitted");
    expect(got[1]!.kind.case).toBe("snapshot");
    const workflowId = (got[0]!.kind.value as { workflowId: string }).workflowId;
    expect((await client.listWorkflows({ pageSize: 1000 })).workflows.length).toBe(before + 1);
    const cursors = got.slice(2).map((m) => m.cursor);
    const log: string[] = [];
    for await (const m of client.watchWorkflow({ workflowId, cursor: got[1]!.cursor })) log.push(m.cursor);
    expect(cursors).toEqual(log);
    const last = got[got.length - 1]!;
    expect(last.kind.case === "event" && last.kind.value.kind.case === "workflow" && last.kind.value.kind.value.state).toBe(PlainState.SUCCEEDED);
    const after = got.find((m) => m.kind.case === "event" && m.kind.value.kind.case === "step" && m.kind.value.kind.value.stepId === "after" && m.kind.value.kind.value.state === StepState.SUCCEEDED);
    expect(after && after.kind.case === "event" && after.kind.value.kind.case === "step" && after.kind.value.kind.value.output).toEqual({ got: 2 });
  });

  it("throws a refused submission at once, without retrying", async () => {
    const c = createCoordinatorClient(running.url);
    const reconnects: unknown[] = [];
    const it = runWorkflow(c, { definition: { case: "yaml", value: "workflow: {}" } }, { onReconnect: (e) => reconnects.push(e) });
    await expect(it.next()).rejects.toMatchObject({ code: Code.InvalidArgument });
    expect(reconnects).toEqual([]);
  });
});
