// The timer shell around core.ts: every coordinator runs one. It reads the
// schedules from the store, asks the core what their due ticks do, starts
// the runs, and records each tick handled. Coordinators sharing a store
// all do this for the same ticks; a tick's run is created under an
// idempotency key of the schedule and the tick (tickKey), so whichever
// gets there first creates it and the others find it: one run per tick,
// and no tick lost while any coordinator lives.
import type { Logger } from "../common/logger.js";
import type { ScheduleRecord, ScheduleStore } from "../store/schedules.js";
import { StoreUnavailableError } from "../store/store.js";
import { planTicks } from "./core.js";
import { isCronProblem, parseCron } from "./cron.js";

export interface SchedulerOptions {
  schedules: ScheduleStore;
  /**
   * Starts a run of the schedule under `idempotencyKey` and returns its id
   * (the existing run's id when the key was used). Throws CannotStartError
   * when the target cannot run (template gone, definition no longer
   * valid): the tick is then recorded without a run. Any other error leaves
   * the tick due, to be tried again.
   */
  start(schedule: ScheduleRecord, idempotencyKey: string): Promise<string>;
  /** Whether the workflow still runs (false when it ended or is unknown). */
  running(workflowId: string): Promise<boolean>;
  cancel(workflowId: string, reason: string): Promise<void>;
  logger: Logger;
  /**
   * How often the store is read again when no tick is due sooner (ms,
   * default 1,000): schedules created, paused or deleted through another
   * coordinator are seen within it.
   */
  refreshMs?: number;
  now?: () => number;
}

/** The schedule's target cannot run (not a passing failure): its tick is recorded without a run. */
export class CannotStartError extends Error {
  override name = "CannotStartError";
}

export interface Scheduler {
  /** Reads the schedules again now (one was created, paused or resumed here). */
  poke(): void;
  /** Stops the timer; resolves once the tick being handled, if any, is recorded. */
  stop(): Promise<void>;
}

/** The idempotency key of a tick's run. The creation time tells a schedule from an earlier one of the same name. */
export function tickKey(schedule: Pick<ScheduleRecord, "name" | "createdAt">, tick: number): string {
  return `schedule:${schedule.name}:${schedule.createdAt}:${new Date(tick).toISOString()}`;
}

export function startScheduler(options: SchedulerOptions): Scheduler {
  const { schedules, logger } = options;
  const refreshMs = options.refreshMs ?? 1_000;
  const now = options.now ?? Date.now;
  let stopped = false;
  let wake: (() => void) | undefined;
  let poked = false;
  let lastWarning = 0;

  /** Handles the schedule's due ticks; returns when its next tick falls. */
  async function handle(s: ScheduleRecord): Promise<number | undefined> {
    const cron = parseCron(s.cron, s.timeZone);
    // Checked at creation; a zone this Node no longer knows is the only way here.
    if (isCronProblem(cron)) return undefined;
    const input = { cron, lastTick: s.lastTick, catchUpMs: s.catchUpMs, overlap: s.overlap, paused: s.paused, previousRunning: false };
    let plan = planTicks({ ...input, now: now() });
    if (plan.ticks.length === 0) return plan.nextAt;
    // Something is due: only now is the previous run looked up.
    if (s.overlap !== "allow" && s.lastWorkflowId && (await options.running(s.lastWorkflowId))) {
      plan = planTicks({ ...input, previousRunning: true, now: now() });
    }
    if (plan.missed) logger.warn({ schedule: s.name }, "schedule: ticks older than the catch-up window were skipped");
    for (const tick of plan.ticks) {
      let run: { workflowId: string; at: number } | undefined;
      if (tick.fire) {
        if (tick.cancelPrevious && s.lastWorkflowId) {
          await options.cancel(s.lastWorkflowId, `cancelled by schedule "${s.name}": the tick of ${new Date(tick.at).toISOString()} started a new run`);
        }
        try {
          run = { workflowId: await options.start(s, tickKey(s, tick.at)), at: now() };
        } catch (err) {
          if (!(err instanceof CannotStartError)) throw err;
          logger.warn({ schedule: s.name, tick: new Date(tick.at).toISOString(), err: err.message }, "schedule: the tick started no run");
        }
      }
      await schedules.advance(s.name, { createdAt: s.createdAt, tick: tick.at, ...(run ? { run } : {}) });
      if (run) s.lastWorkflowId = run.workflowId;
    }
    return plan.nextAt;
  }

  async function pass(): Promise<number> {
    let wakeAt = now() + refreshMs;
    for (const s of await schedules.list()) {
      if (stopped) break;
      try {
        const next = await handle(s);
        if (next !== undefined) wakeAt = Math.min(wakeAt, next);
      } catch (err) {
        if (err instanceof StoreUnavailableError) throw err;
        logger.warn({ schedule: s.name, err }, "schedule: a tick failed; it is tried again");
      }
    }
    return wakeAt;
  }

  const loop = (async () => {
    while (!stopped) {
      poked = false;
      let wakeAt = now() + refreshMs;
      try {
        wakeAt = await pass();
      } catch (err) {
        // The store is down: the ticks are still due when it is back.
        if (now() - lastWarning > 5_000) {
          lastWarning = now();
          logger.warn({ err: err instanceof Error ? err.message : String(err) }, "schedule: cannot read the schedules; trying again");
        }
      }
      if (stopped || poked) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, wakeAt - now()));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  })();

  return {
    poke() {
      poked = true;
      wake?.();
    },
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}
