// WatchWorkflows' terminal-delivery latency as a separate client sees it:
// a watcher process (list-watcher.ts) follows the coordinator while this
// process submits small workflows one at a time; each sample is the
// watcher's receipt of the workflow's terminal summary minus the
// workflow's finished_at (stamped in the transition that ended it, just
// before its commit), both on this machine's wall clock.
import { forkScript } from "./processes.js";
import { SMALL_YAML } from "./shapes.js";
import { latency, type Latency } from "./stats.js";
import type { Target } from "./target.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function terminalDelivery(url: string, t: Target, count: number): Promise<Latency> {
  const watcher = forkScript("dist/bench/list-watcher.js", [url]);
  const received = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  const ready = new Promise<void>((resolve, reject) => {
    watcher.once("exit", (code) => reject(new Error(`the list watcher exited with ${code}`)));
    watcher.on("message", (m: { ready?: boolean; ended?: string; at?: number }) => {
      if (m.ready) resolve();
      if (m.ended !== undefined) {
        received.set(m.ended, m.at!);
        waiters.get(m.ended)?.();
      }
    });
  });
  try {
    await ready;
    const samples: number[] = [];
    for (let i = 0; i < count; i++) {
      const id = await t.submit(SMALL_YAML);
      if (!received.has(id)) await new Promise<void>((resolve) => waiters.set(id, resolve));
      waiters.delete(id);
      samples.push(received.get(id)! - (await t.finishedAt(id)));
      // Apart, so each end is measured on its own rather than queued behind the last.
      await sleep(5);
    }
    return latency(samples);
  } finally {
    watcher.send({ close: true });
    await watcher.stopNow();
  }
}
