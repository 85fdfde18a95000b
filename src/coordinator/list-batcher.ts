// When WatchWorkflows sends the changes it gathered: the decision, apart
// from timers and the store, so it can be table-tested.
//
// Progress (a step started or finished, a workflow created) is gathered
// for a window and sent together: a dashboard needs no more than a few
// updates a second, and a busy coordinator changes many workflows a
// millisecond. An end (a workflow reaching a terminal state) is what
// clients wait on, so it goes out at the next turn of the event loop,
// taking whatever else has gathered with it: changes of the same turn
// still share one message.

export interface ListBatch {
  /** Workflows changed since the last send, in the order first seen. */
  readonly dirty: ReadonlySet<string>;
  /** One of them ended (terminal state) since the last send. */
  readonly urgent: boolean;
  /** When the oldest unsent change came (ms, the batcher's clock). */
  readonly since?: number;
}

export type ListDecision =
  /** Nothing to send: wait for a change. */
  | { kind: "idle" }
  /** Send at the next turn of the event loop. */
  | { kind: "soon" }
  /** Send at `at` (ms), unless an end comes first. */
  | { kind: "at"; at: number };

/** What to do with the changes gathered in `batch` at time `now`, with progress windows of `windowMs`. */
export function decideListSend(batch: ListBatch, now: number, windowMs: number): ListDecision {
  if (batch.dirty.size === 0) return { kind: "idle" };
  if (batch.urgent) return { kind: "soon" };
  const at = (batch.since ?? now) + windowMs;
  return at <= now ? { kind: "soon" } : { kind: "at", at };
}

/** Gathers changes for one WatchWorkflows stream. */
export function createListBatch(now: () => number) {
  let dirty = new Set<string>();
  let urgent = false;
  let since: number | undefined;
  return {
    /** A workflow changed; `terminal` when the change ended it. */
    add(id: string, terminal: boolean): void {
      if (dirty.size === 0) since = now();
      dirty.add(id);
      if (terminal) urgent = true;
    },
    get state(): ListBatch {
      return { dirty, urgent, ...(since !== undefined ? { since } : {}) };
    },
    /** Takes up to `max` changed ids for sending; the rest stay (and keep the batch urgent if it was). */
    take(max: number): string[] {
      const ids = [...dirty].slice(0, max);
      if (ids.length === dirty.size) {
        dirty = new Set();
        urgent = false;
        since = undefined;
      } else {
        for (const id of ids) dirty.delete(id);
      }
      return ids;
    },
  };
}
