// No workflow can take the cluster down (issue 15): coordinators as real
// processes on one Redis, with a supervisor process. A `when:` built to run
// for minutes and exhaust the heap is rejected at submit; the same shape
// over a step output (which validation cannot see) fails its step at run
// time on whichever coordinator evaluates it, including one that took the
// workflow over from a killed coordinator; a workflow whose stored record
// breaks the engine is quarantined; a coordinator started afterwards serves
// at once; and the other workflows finish.
import { Code, ConnectError } from "@connectrpc/connect";
import type { ChildProcess } from "node:child_process";
import { describe, expect, it } from "vitest";
import { newWorkflowRecord } from "../../src/coordinator/records.js";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import { parseWorkflowYaml, validateAndPlan } from "../../src/workflow/index.js";
import { horusServer, kill9 } from "../helpers/cli.js";
import { coordinatorProcess, waitForEnd, WorkflowState, type CoordinatorClient } from "../helpers/coordinator.js";
import { startRedis, type RedisServer } from "../helpers/redis.js";

const start = coordinatorProcess;

const coordinatorArgs = (redis: RedisServer, supervisor: string) => ["coordinator", "--port", "0", "--redis-url", redis.url, "--supervisor", supervisor, "--lease", "1s", "--log-level", "info"];

const L = `[${Array.from({ length: 300 }, (_, i) => i).join(", ")}]`;

/** The reproduction: three nested maps over a 300-item literal (27 million items, minutes and GBs). */
const POISON_LITERAL = `
workflow:
  name: poison-literal
  steps:
    - { id: a, runner: shell, payload: "sleep 2" }
    - { id: b, runner: noop, depends_on: [a], when: '${L}.map(a, ${L}.map(b, ${L}.map(c, a))).size() > 0' }
`;

/** The same shape over step a's output: validation cannot know the list's size. */
const POISON_INPUT = `
workflow:
  name: poison-input
  steps:
    - { id: a, runner: shell, payload: 'sleep 2; echo "[$(seq -s, 0 299)]"' }
    - { id: b, runner: noop, depends_on: [a], when: 'input.a.map(x, input.a.map(y, input.a.map(z, x))).size() > 0' }
`;

/** Four nested comprehensions over 60 items (13 million iterations). */
const FOUR_DEEP = `
workflow:
  name: four-deep
  steps:
    - { id: a, runner: shell, payload: 'echo "[$(seq -s, 0 59)]"' }
    - { id: b, runner: noop, depends_on: [a], when: 'input.a.map(p, input.a.map(q, input.a.map(r, input.a.exists(s, p + q + r + s < 0)))).size() > 0' }
`;

const NORMAL = `
workflow:
  name: normal
  steps:
    - { id: a, runner: shell, payload: "sleep 0.5; echo 3" }
    - { id: b, runner: noop, depends_on: [a], when: "input.a > 2" }
`;

/** Calls `client` every 100 ms until stopped; counts the calls that failed. */
function keepAsking(client: CoordinatorClient): { stop: () => Promise<{ ok: number; failed: string[] }> } {
  let stopped = false;
  const failed: string[] = [];
  let ok = 0;
  const loop = (async () => {
    while (!stopped) {
      try {
        // Generous: the point is that it answers at all (a coordinator stuck in an expression never would), not how fast on a loaded machine.
        await client.listWorkflows({ pageSize: 10 }, { timeoutMs: 30_000 });
        ok++;
      } catch (err) {
        failed.push((err as Error).message);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { ok, failed };
    },
  };
}

describe("poison workflows on two coordinators sharing one Redis", () => {
  it("the poison when is rejected at submit; over a step output it fails its step on the coordinator that took it over; a broken record is quarantined; a third coordinator starts and everything else finishes", async () => {
    const redis = await startRedis();
    const procs: Array<{ child: ChildProcess }> = [];
    try {
      const supervisor = await horusServer(["supervisor", "--port", "0", "--capacity", "16", "--log-level", "warn"]);
      procs.push(supervisor);
      const a = await start(coordinatorArgs(redis, supervisor.url));
      const b = await start(coordinatorArgs(redis, supervisor.url));
      procs.push(a, b);

      // The reproduction is refused by both, naming the step and field.
      for (const c of [a, b]) {
        const err = await c.client.submitWorkflow({ definition: { case: "yaml", value: POISON_LITERAL } }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ConnectError);
        expect((err as ConnectError).code).toBe(Code.InvalidArgument);
        expect((err as ConnectError).rawMessage).toMatch(/step "b": when exceeds its cost budget/);
      }

      const watchB = keepAsking(b.client);
      const poison = await a.client.submitWorkflow({ definition: { case: "yaml", value: POISON_INPUT } });
      const fourDeep = await b.client.submitWorkflow({ definition: { case: "yaml", value: FOUR_DEEP } });
      const normals = await Promise.all([a, b, a, b].map((c) => c.client.submitWorkflow({ definition: { case: "yaml", value: NORMAL } })));
      // A dies while step a sleeps: B takes the poison over and evaluates its when.
      await kill9(a);

      const final = await waitForEnd(b.client, poison.workflowId, 60_000);
      expect(WorkflowState[final.state]).toBe("FAILED");
      expect(final.steps[1]!.error).toMatchObject({ code: "CONDITION_ERROR" });
      expect(final.steps[1]!.error!.message).toMatch(/expression exceeded its cost budget/);
      expect(b.output()).toContain("took over a workflow");
      const deep = await waitForEnd(b.client, fourDeep.workflowId, 60_000);
      expect([WorkflowState[deep.state], deep.steps[1]!.error?.code]).toEqual(["FAILED", "CONDITION_ERROR"]);
      expect(deep.steps[1]!.error!.message).toMatch(/expression exceeded its cost budget/);
      for (const n of normals) expect(WorkflowState[(await waitForEnd(b.client, n.workflowId, 60_000)).state]).toBe("SUCCEEDED");
      const asked = await watchB.stop();
      expect(asked.failed).toEqual([]);
      expect(asked.ok).toBeGreaterThan(0);

      // A workflow whose stored record breaks the engine (a step's attempts
      // are not a list), left by a coordinator that is gone.
      const parsed = parseWorkflowYaml(NORMAL).definition!;
      const record = newWorkflowRecord({ definition: parsed, plan: validateAndPlan(parsed).plan!, inputs: {}, now: Date.now() });
      (record.steps[0] as unknown as { attempts: unknown }).attempts = null;
      const writer = await createRedisStore({ url: redis.url });
      await writer.createWorkflow(record);
      await writer.close();
      await kill9(b);

      // A third coordinator, alone: it listens, takes both dead nodes' work and the orphan over, quarantines the broken one, and serves.
      const c = await start(coordinatorArgs(redis, supervisor.url));
      procs.push(c);
      const broken = await waitForEnd(c.client, record.id, 30_000);
      // It listened before it took anything over.
      const log = c.output();
      expect(log.indexOf("took over a workflow")).toBeGreaterThan(log.indexOf("coordinator listening"));
      expect(log.indexOf("coordinator listening")).toBeGreaterThanOrEqual(0);
      expect(WorkflowState[broken.state]).toBe("FAILED");
      expect(broken.error).toMatch(/^INTERNAL: the coordinator could not advance this workflow and stopped it: (its stored record does not load|its "start" transition threw)/);
      const after = await c.client.submitWorkflow({ definition: { case: "yaml", value: NORMAL } });
      expect(WorkflowState[(await waitForEnd(c.client, after.workflowId, 30_000)).state]).toBe("SUCCEEDED");

      // Quarantined means finished: a fourth coordinator does not take it over again.
      await kill9(c);
      const d = await start(coordinatorArgs(redis, supervisor.url));
      procs.push(d);
      const again = await d.client.getWorkflow({ workflowId: record.id });
      expect([WorkflowState[again.workflow!.state], again.workflow!.error]).toEqual(["FAILED", broken.error]);
      expect(d.output()).not.toContain(record.id);
    } finally {
      for (const p of procs) await kill9(p);
      await redis.remove();
    }
  }, 240_000);
});
