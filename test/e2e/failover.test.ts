// Coordinators as real processes on one Redis, with a supervisor process:
// kill -9 one coordinator mid-run, restart another while jobs run. Nothing
// is lost, and no step's success is applied twice (checked in the event log).
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { StepState as S } from "../../src/engine/states.js";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import { horusServer, kill9 } from "../helpers/cli.js";
import { coordinatorProcess, waitForEnd, WorkflowState, type CoordinatorClient, type CoordinatorProcess } from "../helpers/coordinator.js";
import { tcpProxy } from "../helpers/proxy.js";
import { processGone, until } from "../helpers/wait.js";
import { startRedis, type RedisServer } from "../helpers/redis.js";

const SLOW = `
workflow:
  name: slow
  steps:
    - { id: a, runner: js, payload: "new Promise((r) => setTimeout(() => r(1), 200))" }
    - { id: b, runner: js, depends_on: [a], payload: "new Promise((r) => setTimeout(() => r(input.a + 1), 200))" }
    - { id: c, runner: shell, depends_on: [a], payload: "sleep 0.3; echo 5" }
    - { id: d, runner: js, depends_on: [b, c], payload: "input.b + input.c" }
`;

const SHAPES = [readFileSync("examples/data-pipeline.yaml", "utf8"), readFileSync("examples/parallel.yaml", "utf8"), readFileSync("examples/multi-stage.yaml", "utf8"), SLOW];

type Proc = CoordinatorProcess;
const start = coordinatorProcess;

/** Starts a `horus supervisor` process named `name`; it is killed with the test's other processes. */
async function supervisorProcess(procs: Proc[], name: string, extra: string[] = []): Promise<Awaited<ReturnType<typeof horusServer>>> {
  const s = await horusServer(["supervisor", "--port", "0", "--name", name, "--log-level", "warn", ...extra]);
  procs.push({ ...s, client: undefined as unknown as CoordinatorClient });
  return s;
}

function coordinatorArgs(redis: RedisServer, supervisor: string): string[] {
  return ["coordinator", "--port", "0", "--redis-url", redis.url, "--supervisor", supervisor, "--lease", "1s", "--log-level", "info"];
}

/** Per workflow: how many SUCCEEDED and DISPATCHED events each step has in the stored event log. */
async function eventCounts(redisUrl: string, ids: string[]): Promise<Map<string, Map<string, { succeeded: number; dispatched: number }>>> {
  const store = await createRedisStore({ url: redisUrl });
  const out = new Map<string, Map<string, { succeeded: number; dispatched: number }>>();
  for (const id of ids) {
    const perStep = new Map<string, { succeeded: number; dispatched: number }>();
    for (const e of await store.readEvents(id, "", 10_000)) {
      if (e.kind !== "step") continue;
      const c = perStep.get(e.stepId) ?? { succeeded: 0, dispatched: 0 };
      if (e.state === S.SUCCEEDED) c.succeeded++;
      if (e.state === S.DISPATCHED) c.dispatched++;
      perStep.set(e.stepId, c);
    }
    out.set(id, perStep);
  }
  await store.close();
  return out;
}

describe("coordinator failover on Redis", () => {
  it("two coordinators, one supervisor, 200 workflows: kill -9 one coordinator mid-run; every workflow completes and every step succeeds exactly once", async () => {
    const redis = await startRedis();
    const procs: Proc[] = [];
    try {
      const supervisor = await supervisorProcess(procs, "s", ["--capacity", "16"]);
      const a = await start(coordinatorArgs(redis, supervisor.url));
      const b = await start(coordinatorArgs(redis, supervisor.url));
      procs.push(a, b);

      const ids: string[] = [];
      for (let i = 0; i < 200; i += 20) {
        const batch = await Promise.all(
          Array.from({ length: 20 }, (_, j) => (j < 10 ? a : b)).map((c, j) =>
            c.client.submitWorkflow({ definition: { case: "yaml", value: SHAPES[(i + j) % SHAPES.length]! } }),
          ),
        );
        ids.push(...batch.map((r) => r.workflowId));
      }
      const running = await b.client.listWorkflows({ states: [WorkflowState.RUNNING, WorkflowState.PENDING], pageSize: 1000 });
      expect(running.workflows.length).toBeGreaterThan(0);
      await kill9(a);

      const finals = await Promise.all(ids.map((id) => waitForEnd(b.client, id, 60_000)));
      expect(finals.filter((w) => w.state !== WorkflowState.SUCCEEDED).map((w) => `${w.id} ${WorkflowState[w.state]}`)).toEqual([]);
      expect(b.output()).toContain("took over a workflow");

      const counts = await eventCounts(redis.url, ids);
      for (const wf of finals) {
        const perStep = counts.get(wf.id)!;
        for (const step of wf.steps) expect(perStep.get(step.id)?.succeeded, `${wf.id} ${step.id}`).toBe(1);
      }
    } finally {
      for (const p of procs) await kill9(p);
      await redis.remove();
    }
  }, 120_000);

  it("a coordinator restarted while jobs run re-attaches to them: nothing finished or running is dispatched again", async () => {
    const redis = await startRedis();
    const tmp = mkdtempSync(join(tmpdir(), "horus-reattach-"));
    const runs = join(tmp, "runs");
    const release = join(tmp, "release");
    const procs: Array<{ child: ChildProcess }> = [];
    try {
      // Room for all ten blocked jobs at once.
      const supervisor = await horusServer(["supervisor", "--port", "0", "--capacity", "16", "--log-level", "warn"]);
      procs.push(supervisor);
      const first = await start(coordinatorArgs(redis, supervisor.url));
      procs.push(first);
      const yaml = `
workflow:
  name: reattach
  steps:
    - { id: quick, runner: noop }
    - { id: slow, runner: shell, depends_on: [quick], payload: "echo run >> ${runs}; while [ ! -f ${release} ]; do sleep 0.05; done; echo '{\\"ok\\":true}'" }
    - { id: after, runner: js, depends_on: [slow], payload: "input.slow.ok" }
`;
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) ids.push((await first.client.submitWorkflow({ definition: { case: "yaml", value: yaml } })).workflowId);
      // Wait until every slow step runs, then kill the coordinator under them.
      for (const id of ids) {
        for await (const msg of first.client.watchWorkflow({ workflowId: id })) {
          if (msg.kind.case === "event" && msg.kind.value.kind.case === "step" && msg.kind.value.kind.value.stepId === "slow" && msg.kind.value.kind.value.state === S.RUNNING) break;
          if (msg.kind.case === "snapshot" && msg.kind.value.steps[1]?.state === S.RUNNING) break;
        }
      }
      await kill9(first);
      // The slow jobs finish while no coordinator runs: the next one must learn their results from the supervisor.
      writeFileSync(release, "");
      const second = await start(coordinatorArgs(redis, supervisor.url));
      procs.push(second);

      const finals = await Promise.all(ids.map((id) => waitForEnd(second.client, id, 30_000)));
      for (const wf of finals) {
        expect(wf.state).toBe(WorkflowState.SUCCEEDED);
        expect(wf.steps.map((s) => s.attempts)).toEqual([1, 1, 1]);
      }
      // Each slow job ran once, on the supervisor that had it all along.
      expect(readFileSync(runs, "utf8").trim().split("\n")).toHaveLength(10);
      const counts = await eventCounts(redis.url, ids);
      for (const id of ids) {
        for (const [step, c] of counts.get(id)!) {
          expect(c.succeeded, `${id} ${step}`).toBe(1);
          // 0 when the job finished before its acceptance was applied (the engine then records DISPATCHED silently).
          expect(c.dispatched, `${id} ${step}`).toBeLessThanOrEqual(1);
        }
      }
      expect(second.output()).toContain("took over a workflow");
    } finally {
      for (const p of procs) await kill9(p);
      await redis.remove();
    }
  }, 60_000);

  it("a job sent before the commit that made it ready (pipelined), then kill -9 of its coordinator: the successor derives the same attempt, finds it running and does not run it again", async () => {
    const redis = await startRedis();
    const dir = mkdtempSync(join(tmpdir(), "horus-pipelined-"));
    const marker = join(dir, "runs");
    const procs: Proc[] = [];
    const pauser = new Redis(redis.url);
    try {
      const s1 = await supervisorProcess(procs, "p1");
      const s2 = await supervisorProcess(procs, "p2");
      const proxy2 = await tcpProxy(Number(new URL(s2.url).port));
      // p2 first in both coordinators' lists: with equal load each picks it first when it is up.
      const args = ["coordinator", "--port", "0", "--redis-url", redis.url, "--supervisor", `http://127.0.0.1:${proxy2.port}`, "--supervisor", s1.url, "--lease", "1s", "--log-level", "warn"];
      proxy2.block();
      const a = await start(args);
      procs.push(a);
      const yaml = `workflow:\n  name: pipelined\n  steps:\n    - { id: a, runner: shell, payload: 'touch ${dir}/a; sleep 1' }\n    - { id: b, runner: shell, depends_on: [a], payload: 'echo run >> ${marker}; sleep 3; echo done' }\n`;
      const { workflowId } = await a.client.submitWorkflow({ definition: { case: "yaml", value: yaml } });
      await until(() => existsSync(join(dir, "a")) || undefined, 20_000);
      // Every write stalls: a's success and b's READY are not stored, yet b's job goes out (to p1, the only one up).
      await pauser.call("CLIENT", "PAUSE", "4000", "WRITE");
      await until(() => existsSync(marker) || undefined, 10_000);
      await kill9(a);
      await pauser.call("CLIENT", "UNPAUSE");
      proxy2.unblock();
      // The successor sees a running on p1; p2 is up, so a fresh dispatch of b would go there.
      const b = await start(args);
      procs.push(b);
      const wf = await waitForEnd(b.client, workflowId, 30_000);
      expect(wf.state).toBe(WorkflowState.SUCCEEDED);
      expect(readFileSync(marker, "utf8").trim().split("\n")).toEqual(["run"]);
      expect(wf.steps[1]!.attemptHistory.map((x) => [x.number, x.supervisor])).toEqual([[1, "p1"]]);
      await proxy2.close();
    } finally {
      pauser.disconnect();
      for (const p of procs) await kill9(p);
      await redis.stop();
    }
  }, 60_000);
  it("a job sent ahead of a commit the store refuses (the workflow was taken over meanwhile) is stopped: the new owner never knew of it", async () => {
    const redis = await startRedis();
    const dir = mkdtempSync(join(tmpdir(), "horus-fenced-"));
    const pidFile = join(dir, "b.pid");
    const procs: Proc[] = [];
    const thief = await createRedisStore({ url: redis.url });
    try {
      const s1 = await supervisorProcess(procs, "f1");
      const a = await start(["coordinator", "--port", "0", "--redis-url", redis.url, "--supervisor", s1.url, "--lease", "30s", "--log-level", "warn"]);
      procs.push(a);
      const yaml = `workflow:\n  name: fenced\n  steps:\n    - { id: a, runner: shell, payload: 'sleep 1' }\n    - { id: b, runner: shell, depends_on: [a], payload: 'echo $$ > ${pidFile}; sleep 30' }\n`;
      const { workflowId } = await a.client.submitWorkflow({ definition: { case: "yaml", value: yaml } });
      for (let i = 0; (await a.client.getWorkflow({ workflowId })).workflow?.steps[0]?.state !== S.RUNNING; i++) {
        expect(i).toBeLessThan(1000);
        await new Promise((r) => setTimeout(r, 20));
      }
      // Another node takes the workflow over without telling anyone (as after a lease lost in a partition): a's next commit, the one that makes b ready, is refused.
      expect(await thief.ownership!.claim(workflowId)).toBeDefined();
      await until(() => a.output().includes("taken over by another coordinator") || undefined, 20_000);
      // b's job went out with that commit. Stopped, it either never starts or dies; left alone it would sleep on.
      await new Promise((r) => setTimeout(r, 3_000));
      const started = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").trim()) : undefined;
      if (started) await until(() => processGone(started) || undefined, 10_000);
    } finally {
      await thief.close();
      for (const p of procs) await kill9(p);
      await redis.stop();
    }
  }, 60_000);
  /**
   * A step's first attempt runs on g1, which is then cut off (requests
   * arrive, answers do not) until declared down, so the step runs again on
   * g2 and attempt 1 is recorded lost: both jobs sleep on, their pids known.
   */
  async function lostCopyScene(redis: RedisServer, procs: Proc[], lease: string, coordinators: number) {
    const dir = mkdtempSync(join(tmpdir(), "horus-lost-copy-"));
    const g1 = await supervisorProcess(procs, "g1");
    const g2 = await supervisorProcess(procs, "g2");
    const proxy1 = await tcpProxy(Number(new URL(g1.url).port));
    const proxy2 = await tcpProxy(Number(new URL(g2.url).port));
    const args = ["coordinator", "--port", "0", "--redis-url", redis.url, "--supervisor", `http://127.0.0.1:${proxy1.port}`, "--supervisor", `http://127.0.0.1:${proxy2.port}`, "--lease", lease, "--supervisor-timeout", "600ms", "--log-level", "warn"];
    // g2 unreachable at first, so the step's first attempt runs on g1.
    proxy2.block();
    const coords: Proc[] = [];
    for (let k = 0; k < coordinators; k++) coords.push(await start(args));
    procs.push(...coords);
    const yaml = `workflow:\n  name: lost-copy\n  steps:\n    - { id: s, runner: shell, payload: 'echo $$ > ${dir}/$HORUS_ATTEMPT; exec sleep 60' }\n`;
    const { workflowId } = await coords[0]!.client.submitWorkflow({ definition: { case: "yaml", value: yaml } });
    const pidOf = (attempt: number, timeoutMs: number) => until(() => (existsSync(join(dir, `${attempt}`)) ? Number(readFileSync(join(dir, `${attempt}`), "utf8").trim()) || undefined : undefined), timeoutMs);
    const first = await pidOf(1, 20_000);
    proxy1.freeze();
    proxy2.unblock();
    const second = await pidOf(2, 40_000);
    return { args, coords, proxy1, proxy2, workflowId, first, second };
  }

  it("an attempt given up as lost while its supervisor was cut off is stopped there by the next owner when the node that gave it up is gone", async () => {
    const redis = await startRedis();
    const procs: Proc[] = [];
    try {
      const { args, coords, proxy1, proxy2, workflowId, first } = await lostCopyScene(redis, procs, "1s", 1);
      // The coordinator that gave attempt 1 up dies before g1 answers again.
      await kill9(coords[0]!);
      const b = await start(args);
      procs.push(b);
      proxy1.thaw();
      await until(() => processGone(first) || undefined, 40_000);
      const wf = (await b.client.getWorkflow({ workflowId })).workflow!;
      // (Under load a supervisor may flap once more: only the first attempt's fate is the point.)
      expect(wf.steps[0]!.attemptHistory[0]?.error?.code).toBe("ATTEMPT_LOST");
      await b.client.cancelWorkflow({ workflowId });
      await proxy1.close();
      await proxy2.close();
    } finally {
      for (const p of procs) await kill9(p);
      await redis.stop();
    }
  }, 90_000);

  it("a cancel through another coordinator, which takes the workflow over to cancel it, stops the attempts its record gives up as lost", async () => {
    const redis = await startRedis();
    const procs: Proc[] = [];
    try {
      // A long lease: the other coordinator takes the workflow only to cancel it, never by expiry.
      const { coords, proxy1, proxy2, workflowId, first, second } = await lostCopyScene(redis, procs, "60s", 2);
      await kill9(coords[0]!);
      const res = await coords[1]!.client.cancelWorkflow({ workflowId, reason: "stop" });
      expect(res.state).toBe(WorkflowState.CANCELLED);
      proxy1.thaw();
      await until(() => (processGone(first) && processGone(second)) || undefined, 40_000);
      await proxy1.close();
      await proxy2.close();
    } finally {
      for (const p of procs) await kill9(p);
      await redis.stop();
    }
  }, 90_000);
});
