// Coordinators on a real Redis, in this process: watching across instances,
// resuming from a cursor, surviving a Redis restart, and Redis Cluster.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import type { WatchWorkflowResponse } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { fromValue } from "../../src/common/json.js";
import { StepState as S } from "../../src/engine/states.js";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import { coordinator, runYaml, stepStates, waitForEnd, WorkflowState } from "../helpers/coordinator.js";
import { sharedRedisUrl, startRedis, startRedisCluster, stopSharedRedis } from "../helpers/redis.js";
import { alive, until } from "../helpers/wait.js";

afterAll(stopSharedRedis);

const prefix = () => `e${randomBytes(4).toString("hex")}`;

/** Three steps that each take a while, so a workflow is still running when the test acts. */
const SLOW = `
workflow:
  name: slow
  steps:
    - { id: a, runner: js, payload: "new Promise((r) => setTimeout(() => r(1), 150))" }
    - { id: b, runner: js, depends_on: [a], payload: "new Promise((r) => setTimeout(() => r(input.a + 1), 150))" }
    - { id: c, runner: js, depends_on: [b], payload: "new Promise((r) => setTimeout(() => r(input.b + 1), 150))" }
`;

/** What a client does while the coordinator's store reconnects: retry UNAVAILABLE. */
async function untilAvailable<T>(fn: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof ConnectError) || err.code !== Code.Unavailable || Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}



/** Whether a watch message shows the step in that state: its event, or a snapshot taken after it. */
function shows(msg: WatchWorkflowResponse, stepId: string, state: S): boolean {
  if (msg.kind.case === "snapshot") return msg.kind.value.steps.some((s) => s.id === stepId && s.state === state);
  return eventKey(msg) === `${stepId}:${S[state]}`;
}

function eventKey(msg: WatchWorkflowResponse): string {
  if (msg.kind.case !== "event") return msg.kind.case ?? "";
  const ev = msg.kind.value.kind;
  return ev.case === "step" ? `${ev.value.stepId}:${S[ev.value.state]}` : `workflow:${ev.value?.state}`;
}

describe("coordinators on Redis", () => {
  it("a watch through coordinator A sees every event of a workflow advanced by B, in order; a resumed watch misses nothing and repeats nothing", async () => {
    const url = await sharedRedisUrl();
    const p = prefix();
    const a = await coordinator({ redis: { url, prefix: p } });
    const b = await coordinator({ redis: { url, prefix: p } });
    try {
      const { workflowId } = await b.client.submitWorkflow({ definition: { case: "yaml", value: SLOW } });
      expect(b.running.store.ownership).toBeDefined();

      // Watch through A until the first step succeeds, then drop the connection.
      const abort = new AbortController();
      const first: WatchWorkflowResponse[] = [];
      for await (const msg of a.client.watchWorkflow({ workflowId }, { signal: abort.signal })) {
        first.push(msg);
        if (eventKey(msg) === `a:SUCCEEDED`) break;
      }
      abort.abort();
      expect(first[0]!.kind.case).toBe("snapshot");
      // Resume through A from the last cursor seen.
      const rest: WatchWorkflowResponse[] = [];
      for await (const msg of a.client.watchWorkflow({ workflowId, cursor: first[first.length - 1]!.cursor })) rest.push(msg);

      const store = await createRedisStore({ url, prefix: p });
      const log = await store.readEvents(workflowId, "", 1000);
      await store.close();
      const seen = [...first.slice(1), ...rest];
      // The snapshot stands for everything up to its cursor; after it, exactly the log in order.
      const fromSnapshot = log.findIndex((e) => e.cursor === first[0]!.cursor) + 1;
      expect(seen.map((m) => m.cursor)).toEqual(log.slice(fromSnapshot).map((e) => e.cursor));
      expect(new Set(seen.map((m) => m.cursor)).size).toBe(seen.length);
      expect(rest.length).toBeGreaterThan(0);
      expect(seen.map(eventKey)).toContain("c:SUCCEEDED");
      expect(eventKey(seen[seen.length - 1]!)).toBe(`workflow:${WorkflowState.SUCCEEDED}`);
      // Both coordinators answer reads and lists for it.
      const viaA = await a.client.getWorkflow({ workflowId });
      expect(viaA.workflow?.state).toBe(WorkflowState.SUCCEEDED);
      const listed = await a.client.listWorkflows({ name: "slow" });
      expect(listed.workflows.map((w) => w.id)).toEqual([workflowId]);
    } finally {
      await Promise.all([a.running.close(), b.running.close()]);
    }
  });

  it("cancel through a coordinator that does not own the workflow takes it over, cancels it, and the owner stops its job", async () => {
    const url = await sharedRedisUrl();
    const p = prefix();
    // Each coordinator has its own in-process supervisor: only B can reach the job.
    const a = await coordinator({ redis: { url, prefix: p } });
    const b = await coordinator({ redis: { url, prefix: p } });
    const pidFile = join(mkdtempSync(join(tmpdir(), "horus-cancel-")), "pid");
    try {
      const yaml = `workflow:\n  name: long\n  steps:\n    - { id: s, runner: shell, payload: 'echo $$ > ${pidFile}; exec sleep 30' }\n`;
      const { workflowId } = await b.client.submitWorkflow({ definition: { case: "yaml", value: yaml } });
      for await (const msg of a.client.watchWorkflow({ workflowId })) if (shows(msg, "s", S.RUNNING)) break;
      const pid = await until(() => Number(readFileSync(pidFile, "utf8").trim()) || undefined);
      const res = await a.client.cancelWorkflow({ workflowId, reason: "stop" });
      expect(res.state).toBe(WorkflowState.CANCELLED);
      const wf = await waitForEnd(b.client, workflowId);
      expect(wf.state).toBe(WorkflowState.CANCELLED);
      expect(stepStates(wf)).toEqual({ s: "CANCELLED" });
      await until(() => (alive(pid) ? undefined : true));
    } finally {
      await Promise.all([a.running.close(), b.running.close()]);
    }
  });

  it("a cancel that reaches an owner whose copy went stale (taken over meanwhile) is not lost: it goes through the store and the job stops", async () => {
    const url = await sharedRedisUrl();
    const p = prefix();
    const b = await coordinator({ redis: { url, prefix: p } });
    const thief = await createRedisStore({ url, prefix: p });
    const pidFile = join(mkdtempSync(join(tmpdir(), "horus-stale-")), "pid");
    try {
      const yaml = `workflow:\n  name: long\n  steps:\n    - { id: s, runner: shell, payload: 'echo $$ > ${pidFile}; exec sleep 30' }\n`;
      const { workflowId } = await b.client.submitWorkflow({ definition: { case: "yaml", value: yaml } });
      for await (const msg of b.client.watchWorkflow({ workflowId })) if (shows(msg, "s", S.RUNNING)) break;
      const pid = await until(() => Number(readFileSync(pidFile, "utf8").trim()) || undefined);
      // Another node takes the workflow over behind B's back, as after B's lease lapsed.
      expect(await thief.ownership!.claim(workflowId)).toBeDefined();
      const res = await b.client.cancelWorkflow({ workflowId, reason: "stop" });
      expect(res.state).toBe(WorkflowState.CANCELLED);
      const wf = await waitForEnd(b.client, workflowId);
      expect(stepStates(wf)).toEqual({ s: "CANCELLED" });
      await until(() => (alive(pid) ? undefined : true));
    } finally {
      await thief.close();
      await b.running.close();
    }
  });

  it("when Redis loses acknowledged writes (the workflow rolls back), the owner reloads it and re-attaches: it completes and no finished job runs again", async () => {
    const url = await sharedRedisUrl();
    const p = prefix();
    const c = await coordinator({ redis: { url, prefix: p } });
    const redis = new Redis(url);
    try {
      const yaml = SLOW.replace("r(input.b + 1), 150", "r(input.b + 1), 1000");
      const { workflowId } = await c.client.submitWorkflow({ definition: { case: "yaml", value: yaml } });
      const keys = [`${p}:{${workflowId}}`, `${p}:{${workflowId}}:ev`];
      let dumps: Buffer[] = [];
      for await (const msg of c.client.watchWorkflow({ workflowId })) {
        if (eventKey(msg) === "a:SUCCEEDED") dumps = await Promise.all(keys.map((key) => redis.dumpBuffer(key)));
        if (eventKey(msg) === "b:SUCCEEDED") break;
      }
      // What a Redis crash under appendfsync everysec can do: the last writes vanish.
      for (const [i, key] of keys.entries()) await redis.restore(key, 0, dumps[i]!, "REPLACE");
      const wf = await waitForEnd(c.client, workflowId);
      expect(wf.state).toBe(WorkflowState.SUCCEEDED);
      expect(wf.steps.map((s) => s.attempts)).toEqual([1, 1, 1]);
      expect(fromValue(wf.steps[2]!.output)).toBe(3);
    } finally {
      redis.disconnect();
      await c.running.close();
    }
  });

  it("survives a Redis kill -9 and restart with AOF: requests meanwhile fail UNAVAILABLE, no workflow is lost, in-flight ones complete", async () => {
    const redis = await startRedis({ appendonly: true, appendfsync: "always" });
    const c = await coordinator({ redis: { url: redis.url, commandTimeoutMs: 1_000 }, leaseMs: 2_000 });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) ids.push((await c.client.submitWorkflow({ definition: { case: "yaml", value: SLOW } })).workflowId);
      await redis.kill();
      const err = await c.client.getWorkflow({ workflowId: ids[0]! }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectError);
      expect((err as ConnectError).code).toBe(Code.Unavailable);
      const submitErr = await c.client.submitWorkflow({ definition: { case: "yaml", value: SLOW } }).catch((e: unknown) => e);
      expect((submitErr as ConnectError).code).toBe(Code.Unavailable);
      // Jobs finish while Redis is down; their results wait in the coordinator.
      await new Promise((r) => setTimeout(r, 600));
      await redis.restart();
      for (const id of ids) {
        const wf = await untilAvailable(() => waitForEnd(c.client, id, 30_000));
        expect(wf.state).toBe(WorkflowState.SUCCEEDED);
        expect(wf.steps.map((s) => s.attempts)).toEqual([1, 1, 1]);
      }
      const listed = await untilAvailable(() => c.client.listWorkflows({ name: "slow", pageSize: 100 }));
      expect(listed.workflows.map((w) => w.id).sort()).toEqual([...ids].sort());
    } finally {
      await c.running.close();
      await redis.remove();
    }
  }, 60_000);
});

describe("issue 4's features on Redis", () => {
  it("RetryWorkflow reopens a finished workflow; a sub-workflow's parent learns the child's end through the store; templates are shared by coordinators", async () => {
    const url = await sharedRedisUrl();
    const p = prefix();
    const a = await coordinator({ redis: { url, prefix: p } });
    const b = await coordinator({ redis: { url, prefix: p } });
    const counter = join(mkdtempSync(join(tmpdir(), "horus-redis-retry-")), "n");
    try {
      const { workflowId } = await a.client.submitWorkflow({ definition: { case: "yaml", value: `
workflow:
  name: recover
  steps:
    - { id: a, runner: noop }
    - { id: b, runner: shell, depends_on: [a], payload: 'c=$(cat ${counter} 2>/dev/null || echo 0); c=$((c+1)); echo $c > ${counter}; [ $c -ge 2 ] || exit 1; echo $c' }
` } });
      expect((await waitForEnd(a.client, workflowId)).state).toBe(WorkflowState.FAILED);
      // Retried through the other coordinator: it reopens the workflow and owns it from then on.
      await b.client.retryWorkflow({ workflowId });
      const done = await waitForEnd(a.client, workflowId);
      expect(done.state).toBe(WorkflowState.SUCCEEDED);
      expect(done.steps.map((s) => s.attempts)).toEqual([1, 2]);
      expect((await a.client.listWorkflows({ states: [WorkflowState.SUCCEEDED], name: "recover" })).workflows.map((w) => w.id)).toEqual([workflowId]);

      await a.client.registerWorkflowTemplate({ name: "inc", definition: { case: "yaml", value: "workflow:\n  name: inc\n  steps:\n    - { id: inc, runner: js, payload: 'inputs.seed + 1' }\n" } });
      const nested = await runYaml(b.client, "workflow:\n  name: nested\n  steps:\n    - { id: seed, runner: js, payload: '41' }\n    - { id: sub, depends_on: [seed], workflow: { template: inc } }\n");
      expect(nested.state).toBe(WorkflowState.SUCCEEDED);
      expect(fromValue(nested.steps[1]!.output)).toEqual({ inc: 42 });
    } finally {
      await Promise.all([a.running.close(), b.running.close()]);
    }
  });
});

describe("Redis Cluster", () => {
  it("runs the example workflows on a three-node cluster", async () => {
    const cluster = await startRedisCluster(3);
    const c = await coordinator({ redis: { url: cluster.urls.join(","), cluster: true, prefix: prefix() } });
    try {
      for (const name of ["data-pipeline", "parallel", "multi-stage", "ci-cd"]) {
        const wf = await runYaml(c.client, readFileSync(`examples/${name}.yaml`, "utf8"));
        expect(wf.state, name).toBe(WorkflowState.SUCCEEDED);
      }
      const listed = await c.client.listWorkflows({});
      expect(listed.workflows).toHaveLength(4);
    } finally {
      await c.running.close();
      await cluster.stop();
    }
  }, 60_000);
});
