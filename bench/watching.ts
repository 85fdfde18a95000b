// What following a workflow costs, measured so that the machine's drift
// cancels out: the same chain run unwatched (its end noticed on
// WatchWorkflows), followed with every event (RunWorkflow) and followed
// with `latest_only`, one after another in a rotating order, `rounds`
// times. Three medians of three runs each, taken minutes apart, moved by
// a factor of two on this shared machine; interleaved runs put each mode
// under the same load.
//
// Two figures per mode: how long the workflow ran (created_at to
// finished_at, the coordinator's clock: what watching slows), and when
// the client noticed its end (submit to the last message: that, plus
// the delivery of the watch's last batch). On Linux, the coordinator's
// CPU per run is read from /proc as well: its main thread, and all its
// threads.
import { readFileSync } from "node:fs";
import { runOne, runOneListed } from "./measure.js";
import { chainYaml } from "./shapes.js";
import { median, trimmedMean } from "./stats.js";
import type { Target } from "./target.js";

export type WatchMode = "unwatched" | "every" | "latest";
const MODES: readonly WatchMode[] = ["unwatched", "every", "latest"];

export interface ModeFigures {
  /** Median wall time of a run, ms (submit to the end noticed). */
  ms: number;
  /** Time the workflow ran, ms (created_at to finished_at): the mean of the middle 80% of runs, as the times are whole milliseconds. */
  ranMs: number;
  /** Median CPU of the coordinator's main thread per run, ms (Linux only). */
  mainCpuMs?: number;
  /** Median CPU of all the coordinator's threads per run, ms (Linux only). */
  cpuMs?: number;
}

export interface WatchingFigures {
  rounds: number;
  chain: number;
  modes: Record<WatchMode, ModeFigures>;
  /**
   * How much longer the workflow ran followed than unwatched: the ratio of
   * the ranMs figures (its times are whole milliseconds, so one round's
   * ratio moves by 5% either way). The cheap-watching figures.
   */
  ratio: { every: number; latest: number };
  /** Median over rounds of followed / unwatched in the same round, of the time until the client noticed the end. */
  noticedRatio: { every: number; latest: number };
}

/** CPU ms of a process's main thread and of all its threads, from /proc; undefined elsewhere. */
function cpuOf(pid: number): { main: number; all: number } | undefined {
  const ticks = (path: string) => {
    // Fields after the command name, which is in parentheses and may hold spaces.
    const rest = readFileSync(path, "utf8").split(") ")[1]!.split(" ");
    return Number(rest[11]) + Number(rest[12]);
  };
  try {
    // USER_HZ is 100 on every Linux this runs on.
    return { main: ticks(`/proc/${pid}/task/${pid}/stat`) * 10, all: ticks(`/proc/${pid}/stat`) * 10 };
  } catch {
    return undefined;
  }
}

/**
 * The chain of `chain` steps in each mode, `rounds` times, interleaved.
 * `pid` is the coordinator process's, for its CPU.
 */
export async function watchingCost(t: Target, pid: number, chain: number, rounds: number): Promise<WatchingFigures> {
  if (!t.run) throw new Error("the watching section needs a target that runs workflows in one call");
  const yaml = chainYaml(chain);
  const once = (mode: WatchMode): Promise<{ ms: number; id: string }> =>
    mode === "unwatched" ? runOneListed(t, yaml) : runOne(t, yaml, undefined, { latestOnly: mode === "latest" });
  // Warm up each mode.
  for (const mode of MODES) await once(mode);
  const wall: Record<WatchMode, number[]> = { unwatched: [], every: [], latest: [] };
  const ran: Record<WatchMode, number[]> = { unwatched: [], every: [], latest: [] };
  const main: Record<WatchMode, number[]> = { unwatched: [], every: [], latest: [] };
  const all: Record<WatchMode, number[]> = { unwatched: [], every: [], latest: [] };
  const noticed = { every: [] as number[], latest: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    const ms = {} as Record<WatchMode, number>;
    const ids = {} as Record<WatchMode, string>;
    for (let k = 0; k < MODES.length; k++) {
      const mode = MODES[(r + k) % MODES.length]!;
      const before = cpuOf(pid);
      ({ ms: ms[mode], id: ids[mode] } = await once(mode));
      const after = cpuOf(pid);
      wall[mode].push(ms[mode]);
      if (before && after) {
        main[mode].push(after.main - before.main);
        all[mode].push(after.all - before.all);
      }
    }
    // Read after the round, outside the CPU figures.
    for (const mode of MODES) ran[mode].push(await t.ranMs(ids[mode]));
    for (const k of ["every", "latest"] as const) noticed[k].push(ms[k] / ms.unwatched);
  }
  const figures = (mode: WatchMode): ModeFigures => ({
    ms: median(wall[mode]),
    ranMs: trimmedMean(ran[mode]),
    // CPU is read in 10 ms ticks: a mean over many runs says more than a median of whole ticks.
    ...(main[mode].length > 0 ? { mainCpuMs: trimmedMean(main[mode], 0), cpuMs: trimmedMean(all[mode], 0) } : {}),
  });
  const modes = { unwatched: figures("unwatched"), every: figures("every"), latest: figures("latest") };
  return {
    rounds,
    chain,
    modes,
    ratio: { every: modes.every.ranMs / modes.unwatched.ranMs, latest: modes.latest.ranMs / modes.unwatched.ranMs },
    noticedRatio: { every: median(noticed.every), latest: median(noticed.latest) },
  };
}
