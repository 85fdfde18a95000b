// Waiting on outside effects (a file written by a job, a process gone)
// without fixed sleeps.
import { readFileSync } from "node:fs";

/** Polls until `fn` returns a value (a throw counts as "not yet"); fails after timeoutMs. */
export async function until<T>(fn: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = fn();
      if (v !== undefined) return v;
    } catch {
      /* not yet */
    }
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Whether a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a process is gone. A zombie counts as gone: it is dead and only
 * waits to be reaped, which an orphan's new parent (PID 1 in some
 * containers) may never do.
 */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}
