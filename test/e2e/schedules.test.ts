// Schedules end to end: the API on an embedded coordinator, and each tick
// firing exactly once between three coordinator processes on one Redis
// while one of them is killed with SIGKILL.
import { ConnectError, Code } from "@connectrpc/connect";
import { afterAll, describe, expect, it } from "vitest";
import { OverlapPolicy } from "../../gen/horus/coordinator/v1/schedule_pb.js";
import { toValueMap } from "../../src/common/json.js";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import { kill9 } from "../helpers/cli.js";
import { coordinator, coordinatorProcess, waitForEnd, WorkflowState, type CoordinatorClient, type CoordinatorProcess } from "../helpers/coordinator.js";
import { startRedis } from "../helpers/redis.js";

const NOOP = (name: string) => `
workflow:
  name: ${name}
  steps:
    - { id: a, runner: js, payload: "'hello ' + inputs.who" }
`;

async function codeOf(p: Promise<unknown>): Promise<[Code, string]> {
  try {
    await p;
  } catch (err) {
    const e = ConnectError.from(err);
    return [e.code, e.rawMessage];
  }
  throw new Error("expected the call to fail");
}

/** Polls `fn` until it answers a value; fails after timeoutMs. */
async function until<T>(fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function runsOf(client: CoordinatorClient, name: string) {
  return (await client.listWorkflows({ name, pageSize: 1000 })).workflows;
}

describe("schedules on an embedded coordinator", () => {
  const started = coordinator();
  afterAll(async () => (await started).running.close());

  it("refuses a bad expression, time zone, definition or template with INVALID_ARGUMENT naming the field", async () => {
    const { client } = await started;
    const spec = { name: "bad", cron: "* * * * *", target: { case: "yaml" as const, value: NOOP("bad") } };
    const cases: Array<[object, RegExp]> = [
      [{ cron: "61 * * * *" }, /schedule\.cron: invalid expression "61 \* \* \* \*"/],
      [{ timeZone: "Mars/Olympus" }, /schedule\.time_zone: unknown time zone "Mars\/Olympus"/],
      [{ target: { case: "yaml", value: "workflow:\n  name: x\n  steps: []\n" } }, /schedule\.yaml: .*no steps/],
      [{ target: { case: "template", value: { name: "nope", version: 0 } } }, /schedule\.template: template "nope" is not registered/],
    ];
    for (const [change, message] of cases) {
      const [code, text] = await codeOf(client.createSchedule({ schedule: { ...spec, ...change } }));
      expect(code).toBe(Code.InvalidArgument);
      expect(text).toMatch(message);
    }
    expect((await client.listSchedules({})).schedules).toEqual([]);
  });

  it("fires every tick with the inputs, pauses, resumes, triggers and deletes", async () => {
    const { client } = await started;
    const name = "every-second";
    const created = await client.createSchedule({
      schedule: { name, cron: "* * * * * *", timeZone: "Europe/Paris", overlap: OverlapPolicy.ALLOW, target: { case: "yaml", value: NOOP("greet") }, inputs: toValueMap({ who: "cron" }) },
    });
    expect(created.schedule?.nextRunAt).toBeDefined();
    expect(created.schedule?.spec?.catchUpWindow?.seconds).toBe(60n);
    expect((await codeOf(client.createSchedule({ schedule: created.schedule!.spec! })))[0]).toBe(Code.AlreadyExists);

    const runs = await until(async () => ((await runsOf(client, "greet")).length >= 2 ? runsOf(client, "greet") : undefined), 10_000);
    const done = await waitForEnd(client, runs[0]!.id);
    expect(done.state).toBe(WorkflowState.SUCCEEDED);
    expect(done.labels).toEqual({ schedule: name });
    expect(done.idempotencyKey).toMatch(/^schedule:every-second:\d+:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    expect(done.steps[0]!.output?.kind).toEqual({ case: "stringValue", value: "hello cron" });

    const paused = await client.pauseSchedule({ name });
    const pausedAt = Date.now();
    expect(paused.schedule?.paused).toBe(true);
    expect(paused.schedule?.nextRunAt).toBeUndefined();
    // Paused: a few ticks go by without a run.
    const before = (await runsOf(client, "greet")).length;
    await new Promise((r) => setTimeout(r, 2_500));
    expect((await runsOf(client, "greet")).length).toBe(before);

    // Triggered while paused: one run now, shown as the last run.
    const { workflowId } = await client.triggerSchedule({ name });
    expect((await waitForEnd(client, workflowId)).state).toBe(WorkflowState.SUCCEEDED);
    const [listed] = (await client.listSchedules({})).schedules;
    expect(listed?.lastWorkflowId).toBe(workflowId);
    expect((await runsOf(client, "greet")).length).toBe(before + 1);

    // Resumed: ticks fire again, from now on (no catch-up of the paused ones).
    const resumedAt = Date.now();
    await client.resumeSchedule({ name });
    await until(async () => ((await runsOf(client, "greet")).length >= before + 2 ? true : undefined), 10_000);
    const ticks: number[] = [];
    for (const r of await runsOf(client, "greet")) {
      const key = (await client.getWorkflow({ workflowId: r.id })).workflow!.idempotencyKey;
      if (key) ticks.push(Date.parse(key.split(":").slice(3).join(":")));
    }
    expect(ticks.filter((t) => t > pausedAt && t < resumedAt)).toEqual([]);
    expect(ticks.filter((t) => t >= resumedAt).length).toBeGreaterThanOrEqual(1);

    await client.deleteSchedule({ name });
    expect((await codeOf(client.pauseSchedule({ name })))[0]).toBe(Code.NotFound);
    expect((await codeOf(client.triggerSchedule({ name })))[0]).toBe(Code.NotFound);
    expect((await client.listSchedules({})).schedules).toEqual([]);
  });

  it("starts a registered template, the version asked for", async () => {
    const { client } = await started;
    await client.registerWorkflowTemplate({ name: "greeter", definition: { case: "yaml", value: NOOP("greeter-v1") } });
    await client.registerWorkflowTemplate({ name: "greeter", definition: { case: "yaml", value: NOOP("greeter-v2") } });
    await client.createSchedule({ schedule: { name: "tpl", cron: "0 0 1 1 *", target: { case: "template", value: { name: "greeter", version: 1 } }, inputs: toValueMap({ who: "t" }) } });
    const { workflowId } = await client.triggerSchedule({ name: "tpl" });
    const wf = await waitForEnd(client, workflowId);
    expect(wf.name).toBe("greeter-v1");
    expect(wf.template).toMatchObject({ name: "greeter", version: 1 });
    await client.deleteSchedule({ name: "tpl" });
  });
});

describe("schedules across coordinators", () => {
  it("three coordinators on one Redis fire each tick exactly once, and lose none when one is killed", async () => {
    const redis = await startRedis();
    const procs: CoordinatorProcess[] = [];
    try {
      const args = ["coordinator", "--port", "0", "--redis-url", redis.url, "--lease", "1s", "--log-level", "warn"];
      for (let i = 0; i < 3; i++) procs.push(await coordinatorProcess(args));
      const [a, b] = procs;
      const name = "multi";
      await a!.client.createSchedule({
        schedule: { name, cron: "* * * * * *", overlap: OverlapPolicy.ALLOW, catchUpWindow: { seconds: 60n }, target: { case: "yaml", value: NOOP("tick") }, inputs: toValueMap({ who: "all" }) },
      });
      await until(async () => ((await runsOf(b!.client, "tick")).length >= 3 ? true : undefined), 20_000);
      await kill9(procs[0]!);
      const afterKill = (await runsOf(b!.client, "tick")).length;
      await until(async () => ((await runsOf(b!.client, "tick")).length >= afterKill + 4 ? true : undefined), 20_000);
      await b!.client.pauseSchedule({ name });
      for (const p of procs.slice(1)) await kill9(p);

      // Every tick from the first after creation to the last one handled has exactly one run.
      const store = await createRedisStore({ url: redis.url });
      try {
        const schedule = (await store.schedules.get(name))!;
        const runs = (await store.listWorkflows({ states: [], name: "tick", pageSize: 1000, pageToken: "" })).items;
        const ticks: number[] = [];
        for (const r of runs) {
          const key = (await store.getWorkflow(r.id))!.record.idempotencyKey!;
          ticks.push(Date.parse(key.split(":").slice(3).join(":")));
        }
        ticks.sort((x, y) => x - y);
        const expected: number[] = [];
        for (let t = Math.floor(schedule.createdAt / 1000) * 1000 + 1000; t <= schedule.lastTick; t += 1000) expected.push(t);
        expect(expected.length).toBeGreaterThanOrEqual(7);
        expect(ticks).toEqual(expected);
        expect(runs.length).toBe(expected.length);
      } finally {
        await store.close();
      }
    } finally {
      for (const p of procs) await kill9(p);
      await redis.remove();
    }
  }, 90_000);

  it("after downtime, a restarted coordinator fires the missed ticks within the catch-up window; with a window of 0, only the newest", async () => {
    const redis = await startRedis();
    const procs: CoordinatorProcess[] = [];
    try {
      const args = ["coordinator", "--port", "0", "--redis-url", redis.url, "--lease", "1s", "--log-level", "warn"];
      const first = await coordinatorProcess(args);
      procs.push(first);
      const spec = { cron: "* * * * * *", overlap: OverlapPolicy.ALLOW, inputs: toValueMap({ who: "x" }) };
      await first.client.createSchedule({ schedule: { ...spec, name: "all", catchUpWindow: { seconds: 60n }, target: { case: "yaml", value: NOOP("catch-all") } } });
      await first.client.createSchedule({ schedule: { ...spec, name: "newest", catchUpWindow: { seconds: 0n }, target: { case: "yaml", value: NOOP("catch-newest") } } });
      await until(async () => ((await runsOf(first.client, "catch-newest")).length >= 2 ? true : undefined), 20_000);
      await kill9(first);
      // Down for a few ticks (no coordinator lives), then one comes back.
      await new Promise((r) => setTimeout(r, 3_500));
      const second = await coordinatorProcess(args);
      procs.push(second);
      const store = await createRedisStore({ url: redis.url });
      try {
        // Until both schedules got past the downtime, then stop them.
        const restartedAt = Date.now();
        await until(async () => ((await store.schedules.list()).every((r) => r.lastTick > restartedAt) ? true : undefined), 20_000);
        await second.client.pauseSchedule({ name: "all" });
        await second.client.pauseSchedule({ name: "newest" });
        await kill9(second);
        /** The ticks (s) from the schedule's first to its last handled one that have no run. */
        const missing = async (name: string, workflow: string) => {
          const schedule = (await store.schedules.get(name))!;
          const runs = (await store.listWorkflows({ states: [], name: workflow, pageSize: 1000, pageToken: "" })).items;
          const ticks = new Set<number>();
          for (const r of runs) {
            const key = (await store.getWorkflow(r.id))!.record.idempotencyKey!;
            ticks.add(Date.parse(key.split(":").slice(3).join(":")));
          }
          expect(ticks.size).toBe(runs.length);
          const out: number[] = [];
          for (let t = Math.floor(schedule.createdAt / 1000) * 1000 + 1000; t <= schedule.lastTick; t += 1000) if (!ticks.has(t)) out.push(t);
          return out;
        };
        expect(await missing("all", "catch-all")).toEqual([]);
        // At least three ticks fell while no coordinator ran; all but the newest were skipped.
        expect((await missing("newest", "catch-newest")).length).toBeGreaterThanOrEqual(2);
      } finally {
        await store.close();
      }
    } finally {
      for (const p of procs) await kill9(p);
      await redis.remove();
    }
  }, 90_000);
});
