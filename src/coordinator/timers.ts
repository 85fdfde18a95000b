// One-shot timers for the engine's `wake` commands, grouped per workflow so
// they can all be cleared when it ends or moves to another coordinator.

/** setTimeout's longest delay; longer waits are re-armed in steps. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export interface TimerGroup {
  /** Calls `fire` at `at` (ms since the epoch; at once if past). */
  at(at: number, fire: () => void): void;
  clear(): void;
  readonly size: number;
}

export function createTimerGroup(now: () => number): TimerGroup {
  const timers = new Set<NodeJS.Timeout>();
  function arm(at: number, fire: () => void): void {
    const delay = Math.max(0, at - now());
    const t = setTimeout(() => {
      timers.delete(t);
      if (delay > MAX_DELAY_MS) arm(at, fire);
      else fire();
    }, Math.min(delay, MAX_DELAY_MS));
    // Pending retries must not keep a stopping process alive; the store remembers them.
    t.unref();
    timers.add(t);
  }
  return {
    at: arm,
    clear() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
    get size() {
      return timers.size;
    },
  };
}
