// What a schedule's due ticks do, decided without I/O: given the schedule's
// settings, the last tick handled, whether its previous run still runs,
// and the time now, the ticks to handle (fire or skip) in order and when
// to look again. The timer shell (scheduler.ts) carries it out.
import type { OverlapPolicy } from "../store/schedules.js";
import type { CronTimes } from "./cron.js";

/** Catch-up fires at most this many missed ticks at once; older ones are skipped. */
export const MAX_CATCH_UP_TICKS = 1000;

export interface TickInput {
  cron: CronTimes;
  /** The newest tick already handled (the schedule's creation or resume time before any). */
  lastTick: number;
  /** Missed ticks this recent fire, each once; older ones are skipped except the newest due tick. */
  catchUpMs: number;
  overlap: OverlapPolicy;
  paused: boolean;
  /** Whether the run the schedule last started is still going. */
  previousRunning: boolean;
  now: number;
}

export type TickDecision =
  /** Start a run for the tick; `cancelPrevious`: cancel the run started before it first. */
  | { at: number; fire: true; cancelPrevious: boolean }
  /** Handled without a run: the previous one still runs (skip), or a newer due tick replaces it (cancel_previous). */
  | { at: number; fire: false; reason: "overlap" | "superseded" };

export interface TickPlan {
  /** Due ticks to handle, oldest first; the last one's time becomes the schedule's lastTick. */
  ticks: TickDecision[];
  /** Due ticks left out because they were older than the catch-up window (or the cap). */
  missed: boolean;
  /** The next tick after now (when to look again); undefined when paused or the expression never fires again. */
  nextAt: number | undefined;
}

export function planTicks(input: TickInput): TickPlan {
  const { cron, lastTick, now } = input;
  if (input.paused) return { ticks: [], missed: false, nextAt: undefined };
  const nextAt = cron.next(Math.max(now, lastTick));
  const latest = cron.latest(now);
  if (latest === undefined || latest <= lastTick) return { ticks: [], missed: false, nextAt };
  // Due: ticks after lastTick up to now. Those within the window fire; the
  // newest always does, so a tick merely late (a busy timer) or the last
  // one of a long outage still runs once.
  const from = Math.max(lastTick, now - input.catchUpMs);
  const due: number[] = [];
  for (let t = cron.next(from); t !== undefined && t <= latest && due.length <= MAX_CATCH_UP_TICKS; t = cron.next(t)) due.push(t);
  // More than the cap in the window (a long outage of a frequent schedule): the newest ones.
  if (due.length > MAX_CATCH_UP_TICKS) due.splice(0, due.length, ...cron.recent(latest, MAX_CATCH_UP_TICKS));
  if (due[due.length - 1] !== latest) due.push(latest);
  const missed = (cron.next(lastTick) ?? latest) < due[0]!;
  return { ticks: decideOverlap(due, input.overlap, input.previousRunning), missed, nextAt };
}

/** Fire or skip each due tick by the overlap policy; a run fired here counts as running for the ticks after it. */
function decideOverlap(due: number[], overlap: OverlapPolicy, previousRunning: boolean): TickDecision[] {
  switch (overlap) {
    case "allow":
      return due.map((at) => ({ at, fire: true, cancelPrevious: false }));
    case "cancel_previous":
      // Each run would cancel the one before it at once: only the newest starts.
      return due.map((at, i) => (i === due.length - 1 ? { at, fire: true, cancelPrevious: previousRunning } : { at, fire: false, reason: "superseded" }));
    case "skip": {
      let running = previousRunning;
      return due.map((at) => {
        if (running) return { at, fire: false, reason: "overlap" };
        running = true;
        return { at, fire: true, cancelPrevious: false };
      });
    }
  }
}
