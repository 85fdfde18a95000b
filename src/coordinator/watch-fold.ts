// Which events of a batched watch message a `latest_only` watcher gets.
//
// Why: a `noop` step writes four events (READY, DISPATCHED, RUNNING,
// SUCCEEDED) within a fraction of a millisecond, and a view of each step's
// current state (the dashboard) draws only the last. Encoding, sending and
// decoding the other three cost both ends about as much as the workflow's
// own work, on the same threads. Leaving them out of a message that also
// holds the change that supersedes them loses only their times: the later
// event carries the same attempt and supervisor, and GetWorkflow has every
// time. Anything a watcher could not learn from a later event (an error, a
// wait reason, a retry time, a terminal state, the workflow's own changes)
// is always kept.
import type { StoredEvent } from "../engine/model.js";
import { StepState } from "../engine/states.js";

/** States a later event of the same attempt supersedes. */
const PROGRESS = new Set<number>([StepState.READY, StepState.DISPATCHED, StepState.RUNNING]);

/** Whether nothing in `e` is lost when a later event of the same step instance and attempt replaces it. */
function supersedable(e: StoredEvent): boolean {
  return e.kind === "step" && PROGRESS.has(e.state) && !e.error && !e.waitingReason && e.nextRetryAt === undefined;
}

/**
 * The events of one batched message a `latest_only` watcher is sent, in
 * their order: each supersedable event is left out when a later one in
 * `events` concerns the same step, instance and attempt. O(events). The
 * last event is always kept, so the message's cursor stays the last event's.
 */
export function latestOnly(events: readonly StoredEvent[]): StoredEvent[] {
  const seen = new Set<string>();
  const keep: boolean[] = new Array(events.length);
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.kind !== "step") {
      keep[i] = true;
      continue;
    }
    const key = `${e.stepId}\u0000${e.instance ?? ""}\u0000${e.attempt}`;
    keep[i] = !(supersedable(e) && seen.has(key));
    seen.add(key);
  }
  return events.filter((_, i) => keep[i]);
}
