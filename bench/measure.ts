// The shapes, timed on any Target: each run once to warm up (small), then
// `runs` times, the median reported. A run's time is from the first submit to the
// moment the target noticed the (last) end.
import type { JsonMap } from "../src/common/json.js";
import { chainYaml, forEachYaml, SMALL_YAML, wideYaml } from "./shapes.js";
import { latency, median, type Latency } from "./stats.js";
import type { RunOptions, Target } from "./target.js";

export interface Sizes {
  wide: number;
  chain: number;
  many: number;
  forEach: number;
  probe: number;
  runs: number;
  /** Run each shape once, small, before the timed runs (JIT, connections). */
  warmUp: boolean;
}

/** Figures of one system (Horus in one mode, or BullMQ). */
export interface Figures {
  /** steps/s */
  wide: number;
  chain: number;
  many: number;
  chainHopMs: number;
  /** End to end, ms. */
  forEachMs: number;
  samples: Record<string, number[]>;
}

export interface HorusFigures extends Figures {
  /**
   * Median ms of wide and chain with the end noticed on WatchWorkflows
   * (one stream for every workflow, summaries only) instead of a
   * WatchWorkflow of the workflow: what following one workflow costs.
   */
  listWatched: { wide: number; chain: number; forEach: number };
  /** Median ms of the chain followed with RunWorkflow's `latest_only` (each step's latest change, as the dashboard follows). */
  latestWatched?: { chain: number };
  /** WatchWorkflows' terminal delivery, ms from finished_at to a separate client's receipt (bench/delivery.ts). */
  delivery?: Latency;
  /** Dispatch latency of the chain runs. */
  idle: Latency;
  /** Dispatch latency of a probe chain while wide workflows run. */
  load?: Latency;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Submits one workflow and follows it to its end (in one call where the target can); milliseconds from submit to end. */
export async function runOne(t: Target, yaml: string, inputs?: JsonMap, options?: RunOptions): Promise<{ ms: number; id: string }> {
  const start = performance.now();
  if (t.run) return { id: await t.run(yaml, inputs, options), ms: performance.now() - start };
  const id = await t.submit(yaml, inputs);
  await t.ended(id);
  return { ms: performance.now() - start, id };
}

/** Submits `count` workflows at once and waits for all; milliseconds from the first submit to the last end. */
export async function runMany(t: Target, yaml: string, count: number): Promise<{ ms: number; ids: string[] }> {
  const watch = await t.watchAll();
  try {
    const start = performance.now();
    const ids = await t.submitMany(yaml, count);
    await Promise.all(ids.map((id) => watch.ended(id)));
    return { ms: performance.now() - start, ids };
  } finally {
    await watch.close();
  }
}

/** Like runOne, but the end is noticed on a WatchWorkflows stream opened before the submission. */
export async function runOneListed(t: Target, yaml: string): Promise<{ ms: number; id: string }> {
  const watch = await t.watchAll();
  try {
    const start = performance.now();
    const id = await t.submit(yaml);
    await watch.ended(id);
    return { ms: performance.now() - start, id };
  } finally {
    await watch.close();
  }
}

/** Figures from the samples of `runs` runs of each shape (ms per run). */
export function figures(size: Sizes, samples: Record<"wide" | "chain" | "many" | "forEach", number[]>): Figures {
  const chainMs = median(samples.chain);
  return {
    wide: ((size.wide + 1) * 1000) / median(samples.wide),
    chain: (size.chain * 1000) / chainMs,
    chainHopMs: chainMs / size.chain,
    many: (size.many * 4 * 1000) / median(samples.many),
    forEachMs: median(samples.forEach),
    samples,
  };
}

/** wide, chain, many and for_each on a Horus target, and the dispatch latency of the chains. */
export async function horusShapes(t: Target, size: Sizes, log: (msg: string) => void, label: string): Promise<HorusFigures> {
  if (size.warmUp) {
    await runOne(t, wideYaml(Math.min(size.wide, 200)));
    await runOne(t, chainYaml(size.chain));
    await runMany(t, SMALL_YAML, Math.min(size.many, 50));
    await runOne(t, forEachYaml(Math.min(size.forEach, 1_000)));
  }
  const samples = { wide: [] as number[], chain: [] as number[], many: [] as number[], forEach: [] as number[] };
  const listed = { wide: [] as number[], chain: [] as number[], forEach: [] as number[] };
  const idle: number[] = [];
  const latest: number[] = [];
  for (let r = 0; r < size.runs; r++) {
    samples.wide.push((await runOne(t, wideYaml(size.wide))).ms);
    listed.wide.push((await runOneListed(t, wideYaml(size.wide))).ms);
    listed.chain.push((await runOneListed(t, chainYaml(size.chain))).ms);
    const chain = await runOne(t, chainYaml(size.chain));
    samples.chain.push(chain.ms);
    idle.push(...(await t.dispatchLatencies(chain.id)));
    if (t.run) latest.push((await runOne(t, chainYaml(size.chain), undefined, { latestOnly: true })).ms);
    samples.many.push((await runMany(t, SMALL_YAML, size.many)).ms);
    samples.forEach.push((await runOne(t, forEachYaml(size.forEach))).ms);
    listed.forEach.push((await runOneListed(t, forEachYaml(size.forEach))).ms);
    log(`${label} run ${r + 1}: wide ${samples.wide.at(-1)!.toFixed(0)} ms, chain ${samples.chain.at(-1)!.toFixed(0)} ms (${listed.chain.at(-1)!.toFixed(0)} ms unwatched), many ${samples.many.at(-1)!.toFixed(0)} ms, for_each ${samples.forEach.at(-1)!.toFixed(0)} ms (${listed.forEach.at(-1)!.toFixed(0)} ms unwatched)`);
  }
  const out: HorusFigures = {
    ...figures(size, samples),
    idle: latency(idle),
    listWatched: { wide: median(listed.wide), chain: median(listed.chain), forEach: median(listed.forEach) },
    ...(latest.length > 0 ? { latestWatched: { chain: median(latest) } } : {}),
  };
  log(`${label}: wide ${out.wide.toFixed(0)} steps/s, chain ${out.chain.toFixed(0)} steps/s (${out.chainHopMs.toFixed(2)} ms a hop), many ${out.many.toFixed(0)} steps/s, for_each of ${size.forEach} ${out.forEachMs.toFixed(0)} ms`);
  return out;
}

/** Dispatch latency of a probe chain while wide workflows run back to back (two at a time). */
export async function loadedLatency(t: Target, size: Sizes): Promise<Latency> {
  let stop = false;
  const loop = async () => { while (!stop) await runOne(t, wideYaml(size.wide)); };
  const loops = [loop(), loop()];
  await sleep(20);
  try {
    const probe = await runOne(t, chainYaml(size.probe, "probe"));
    return latency(await t.dispatchLatencies(probe.id));
  } finally {
    stop = true;
    await Promise.all(loops);
  }
}
