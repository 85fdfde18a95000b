// The scheduler's timer shell over a real (memory) schedule store, with
// its clock and its run starter given by the test: which runs it starts
// under which keys, what it records, and that stop() ends it.
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../src/common/logger.js";
import { CannotStartError, startScheduler, tickKey, type Scheduler } from "../../src/schedule/scheduler.js";
import { createMemoryScheduleStore, type ScheduleRecord } from "../../src/store/schedules.js";

const T0 = Date.parse("2026-03-01T00:00:00Z");
const s = (n: number) => T0 + n * 1000;

function record(over: Partial<ScheduleRecord> = {}): ScheduleRecord {
  return { name: "every", cron: "* * * * * *", timeZone: "UTC", overlap: "allow", catchUpMs: 60_000, target: { yaml: "y" }, inputs: {}, createdAt: T0, paused: false, lastTick: T0, ...over };
}

/** A scheduler on a fresh store holding `rec`, with a clock the test moves. */
async function harness(rec: ScheduleRecord, opts: { running?: Set<string>; fail?: () => Error | undefined } = {}) {
  const schedules = createMemoryScheduleStore();
  await schedules.create(rec);
  let clock = T0;
  const started: string[] = [];
  const cancelled: string[] = [];
  const scheduler: Scheduler = startScheduler({
    schedules,
    now: () => clock,
    // Far off: only a poke (or a due tick at the fake clock) makes it look.
    refreshMs: 3_600_000,
    start: async (_s, key) => {
      const err = opts.fail?.();
      if (err) throw err;
      started.push(key);
      return `wf_${started.length}`;
    },
    running: async (id) => opts.running?.has(id) ?? false,
    cancel: async (id) => void cancelled.push(id),
    logger: silentLogger(),
  });
  /** Moves the clock to `at` and waits until the store shows the tick at or before it handled. */
  const advanceTo = async (at: number, handled = Math.floor(at / 1000) * 1000) => {
    clock = at;
    scheduler.poke();
    for (let i = 0; i < 200 && (await schedules.get(rec.name))!.lastTick < handled; i++) await new Promise((r) => setTimeout(r, 5));
    return (await schedules.get(rec.name))!;
  };
  return { schedules, scheduler, started, cancelled, advanceTo };
}

describe("startScheduler", () => {
  it("starts each due tick's run under the tick's key, and records the newest", async () => {
    const h = await harness(record());
    const after = await h.advanceTo(s(3.5));
    expect(h.started).toEqual([1, 2, 3].map((n) => tickKey(record(), s(n))));
    expect(after).toMatchObject({ lastTick: s(3), lastWorkflowId: "wf_3" });
    await h.scheduler.stop();
  });

  it("cancel_previous: cancels the run still going before starting the next", async () => {
    const h = await harness(record({ overlap: "cancel_previous", lastWorkflowId: "wf_old" }), { running: new Set(["wf_old"]) });
    await h.advanceTo(s(1.2));
    expect(h.cancelled).toEqual(["wf_old"]);
    expect(h.started).toEqual([tickKey(record(), s(1))]);
    await h.scheduler.stop();
  });

  it("skip: a tick while the previous run goes on is recorded without a run", async () => {
    const h = await harness(record({ overlap: "skip", lastWorkflowId: "wf_old" }), { running: new Set(["wf_old"]) });
    const after = await h.advanceTo(s(2.2));
    expect(h.started).toEqual([]);
    expect(after).toMatchObject({ lastTick: s(2), lastWorkflowId: "wf_old" });
    await h.scheduler.stop();
  });

  it("a target that cannot run: the tick is recorded without a run, not tried forever", async () => {
    const h = await harness(record(), { fail: () => new CannotStartError("template gone") });
    const after = await h.advanceTo(s(1.5));
    expect(after.lastTick).toBe(s(1));
    expect(after.lastWorkflowId).toBeUndefined();
    await h.scheduler.stop();
  });

  it("a passing failure (a busy worker pool, a lost lease): the tick stays due and is tried again", async () => {
    let failures = 2;
    const h = await harness(record(), { fail: () => (failures-- > 0 ? new Error("too many large definitions are being read") : undefined) });
    // Each poke is one more try; the third one starts the run.
    let after = await h.advanceTo(s(1.5), 0);
    for (let i = 0; i < 50 && after.lastTick < s(1); i++) after = await h.advanceTo(s(1.5), 0);
    expect(after.lastTick).toBe(s(1));
    expect(failures).toBeLessThan(0);
    expect(h.started).toEqual([tickKey(record(), s(1))]);
    await h.scheduler.stop();
  });

  it("stop() ends the timer: later ticks start nothing", async () => {
    const h = await harness(record());
    await h.advanceTo(s(1.1));
    await h.scheduler.stop();
    const before = h.started.length;
    await h.advanceTo(s(30), 0);
    await new Promise((r) => setTimeout(r, 50));
    expect(h.started.length).toBe(before);
    expect((await h.schedules.get("every"))!.lastTick).toBe(s(1));
  });
});
