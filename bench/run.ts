// `npm run bench`: Horus side by side with BullMQ flows on the same Redis,
// as a user sees it: this process is the client of a `horus coordinator`
// process (embedded: memory store and in-process supervisor; Redis: on a
// spawned redis-server, with a `horus supervisor` process), through the
// public API, noticing ends on watch streams. Then the issue-17 targets
// with whether each is met, dispatch latency, planning cost and memory.
// Prints tables and writes bench/results/latest.json. `--quick` runs
// everything small (CI proves it works; no figure is asserted). `--only=a,b`
// runs some sections: plan, cel, bigdoc, embedded, redis, watching, bullmq,
// inprocess, memory. `--submit=yaml` sends definitions as YAML instead of specs.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { builtinRunners } from "../src/runners/index.js";
import { bigDocuments } from "./bigdoc.js";
import type { Runner, RunResult } from "../src/runners/types.js";
import { startBullmq } from "./bullmq.js";
import { timePlan } from "./plan.js";
import { timeCel, type CelFigures } from "./cel.js";
import { startCoordinatorProcess, startRedis, startSupervisorProcess } from "./processes.js";
import { clientTarget, type SubmitForm } from "./client.js";
import { startInProcess } from "./inprocess.js";
import { terminalDelivery } from "./delivery.js";
import { figures, horusShapes, loadedLatency, type Figures, type HorusFigures, type Sizes } from "./measure.js";
import { median, type Latency } from "./stats.js";
import { targetRows, type Mode } from "./targets.js";
import { watchingCost, type WatchingFigures } from "./watching.js";

const quick = process.argv.includes("--quick");
const onlyArg = process.argv.find((a) => a.startsWith("--only="));
const only = onlyArg ? new Set(onlyArg.slice(7).split(",")) : undefined;
const want = (s: string) => !only || only.has(s);
const submitArg = process.argv.find((a) => a.startsWith("--submit="))?.slice(9) ?? "spec";
if (submitArg !== "spec" && submitArg !== "yaml") throw new Error(`--submit must be spec or yaml, not ${submitArg}`);
const form: SubmitForm = submitArg;

const SIZE: Sizes & { plan: number[]; memWorkflows: number; memSteps: number; deliveries: number; watchRounds: Record<Mode, number>; bigdoc: { big: number; within: number; maxSteps?: number } } = quick
  ? { wide: 200, chain: 20, many: 50, forEach: 200, runs: 1, warmUp: false, probe: 20, deliveries: 20, watchRounds: { embedded: 3, redis: 2 }, plan: [1_000, 10_000], memWorkflows: 2, memSteps: 500, bigdoc: { big: 1_200, within: 200, maxSteps: 1_000 } }
  : { wide: 2_000, chain: 100, many: 500, forEach: 10_000, runs: 3, warmUp: true, probe: 100, deliveries: 200, watchRounds: { embedded: 60, redis: 25 }, plan: [1_000, 10_000, 100_000], memWorkflows: 100, memSteps: 1_000, bigdoc: { big: 100_000, within: 10_000 } };
/** Jobs a BullMQ worker runs at once: the reference supervisor's default for noop. */
const BULL_CONCURRENCY = 1_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const gc = () => (globalThis as { gc?: () => void }).gc?.();

function log(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

async function memory(): Promise<{ workflows: number; stepsPerWorkflow: number; runningSteps: number; baseRssMb: number; rssMb: number; bytesPerStep: number; heapBytesPerStep: number }> {
  // A runner that holds every job until released, so all steps stay running.
  const releases: Array<() => void> = [];
  const hold: Runner = {
    name: "hold",
    run: () => new Promise<RunResult>((resolve) => releases.push(() => resolve({ ok: true, output: null }))),
  };
  const runners = builtinRunners();
  runners.set("hold", hold);
  const total = SIZE.memWorkflows * SIZE.memSteps;
  const t = await startInProcess("embedded", { coordinator: { embeddedSupervisor: { runners, capacity: { hold: total, noop: 1_000 } } } });
  const lines = ["workflow:", "  name: held", "  steps:"];
  for (let i = 0; i < SIZE.memSteps; i++) lines.push(`    - { id: h${i}, runner: hold }`);
  const yaml = lines.join("\n") + "\n";
  gc();
  await sleep(100);
  gc();
  const base = process.memoryUsage();
  // Ten submissions at a time: the figure is the state held, and 100
  // submissions of 1,000 steps at once on a loaded machine can outlast the
  // server's request timeouts.
  const ids: string[] = [];
  for (let i = 0; i < SIZE.memWorkflows; i += 10) {
    ids.push(...(await Promise.all(Array.from({ length: Math.min(10, SIZE.memWorkflows - i) }, () => t.submit(yaml)))));
  }
  while (releases.length < total) await sleep(50);
  // Let the acceptances and starts be committed.
  await sleep(500);
  gc();
  await sleep(100);
  gc();
  const held = process.memoryUsage();
  for (const r of releases.splice(0)) r();
  await Promise.all(ids.map((id) => t.ended(id)));
  await t.close();
  return {
    workflows: SIZE.memWorkflows,
    stepsPerWorkflow: SIZE.memSteps,
    runningSteps: total,
    baseRssMb: base.rss / 2 ** 20,
    rssMb: held.rss / 2 ** 20,
    bytesPerStep: (held.rss - base.rss) / total,
    heapBytesPerStep: (held.heapUsed - base.heapUsed) / total,
  };
}

function machine(redisVersion: string): Record<string, string | number> {
  let cpu = "unknown";
  try {
    cpu = /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? cpu;
  } catch { /* not Linux */ }
  let bullmq = "";
  try {
    bullmq = (JSON.parse(readFileSync("node_modules/bullmq/package.json", "utf8")) as { version: string }).version;
  } catch { /* not installed */ }
  if (!redisVersion) {
    try {
      redisVersion = /v=(\S+)/.exec(execFileSync("redis-server", ["--version"], { encoding: "utf8" }))?.[1] ?? "";
    } catch { /* not installed */ }
  }
  return { nproc: availableParallelism(), cpu, node: process.version, redis: redisVersion, bullmq };
}

const f0 = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? "-" : x.toFixed(0));
const f1 = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? "-" : x.toFixed(1));
const f2 = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? "-" : x.toFixed(2));

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ")).join("\n");
}

/**
 * Horus through a coordinator process (`pid` is its): with `shapes`, the
 * shapes, the dispatch latency under wide load and WatchWorkflows' end
 * delivery; with the watching section asked for, what following a
 * workflow costs (bench/watching.ts).
 */
async function publicShapes(url: string, pid: number, label: Mode, shapes: boolean): Promise<{ figures?: HorusFigures; watching?: WatchingFigures }> {
  const t = clientTarget(url, form);
  try {
    let figures: HorusFigures | undefined;
    if (shapes) {
      figures = await horusShapes(t, SIZE, log, label);
      figures.load = await loadedLatency(t, SIZE);
      log(`${label}: dispatch under wide load p50 ${figures.load.p50} ms, p99 ${figures.load.p99} ms`);
      figures.delivery = await terminalDelivery(url, t, SIZE.deliveries);
      log(`${label}: WatchWorkflows end delivery p50 ${figures.delivery.p50.toFixed(1)} ms, p99 ${figures.delivery.p99.toFixed(1)} ms`);
    }
    if (!want("watching")) return { figures };
    const rounds = SIZE.watchRounds[label];
    const watching = await watchingCost(t, pid, SIZE.chain, rounds);
    const m = watching.modes;
    const r = (k: "every" | "latest") => `${m[k].ranMs.toFixed(1)} ms (${watching.ratio[k].toFixed(2)}x; end noticed ${watching.noticedRatio[k].toFixed(2)}x)`;
    log(`${label}: watching, ${rounds} interleaved rounds, the workflow ran: unwatched ${m.unwatched.ranMs.toFixed(1)} ms, every event ${r("every")}, latest_only ${r("latest")}`);
    return { figures, watching };
  } finally {
    await t.close();
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const result: Record<string, unknown> = { quick, submit: form, sizes: SIZE, bullmqConcurrency: BULL_CONCURRENCY, date: new Date().toISOString(), loadavgAtStart: loadavg() };
  let redisVersion = "";

  if (want("plan")) {
    const plan: Record<string, { ms: number; edges: number }> = {};
    for (const n of SIZE.plan) {
      plan[n] = timePlan(n, n >= 100_000 ? 2 : 5);
      log(`plan ${n} steps: ${plan[n]!.ms.toFixed(1)} ms`);
    }
    result.plan = plan;
  }
  if (want("cel")) {
    result.cel = timeCel(quick);
    log(`cel: ${JSON.stringify(result.cel)}`);
  }

  if (want("bigdoc")) result.bigdoc = await bigDocuments(SIZE.bigdoc, log);

  const watching: Partial<Record<Mode, WatchingFigures>> = {};
  let embedded: HorusFigures | undefined;
  if (want("embedded") || want("watching")) {
    // `horus coordinator` as a user starts it: memory store, in-process supervisor.
    const coord = await startCoordinatorProcess();
    try {
      ({ figures: embedded, watching: watching.embedded } = await publicShapes(coord.url, coord.pid, "embedded", want("embedded")));
    } finally {
      await coord.stop();
    }
    if (embedded) result.embedded = embedded;
  }

  const inprocess: { embedded?: HorusFigures; redis?: HorusFigures } = {};
  if (want("inprocess")) {
    const t = await startInProcess("embedded");
    inprocess.embedded = await horusShapes(t, SIZE, log, "in-process embedded");
    inprocess.embedded.load = await loadedLatency(t, SIZE);
    await t.close();
  }

  if (want("memory")) {
    result.memory = await memory();
    log(`memory: ${JSON.stringify(result.memory)}`);
  }

  let redis: HorusFigures | undefined;
  let bull: Figures & { load: Latency } | undefined;
  if (want("redis") || want("watching") || want("bullmq") || want("inprocess")) {
    const server = await startRedis();
    redisVersion = server.version;
    try {
      if (want("redis") || want("watching") || want("inprocess")) {
        const sup = await startSupervisorProcess();
        try {
          if (want("redis") || want("watching")) {
            const coord = await startCoordinatorProcess(["--redis-url", server.url, "--redis-prefix", "bench", "--supervisor", sup.url]);
            try {
              ({ figures: redis, watching: watching.redis } = await publicShapes(coord.url, coord.pid, "redis", want("redis")));
            } finally {
              await coord.stop();
            }
            if (redis) result.redis = redis;
          }
          // --quick proves the in-process path with the embedded run alone, unless asked for.
          if (want("inprocess") && (!quick || only?.has("inprocess"))) {
            const t = await startInProcess("redis", { redisUrl: server.url, supervisorUrl: sup.url });
            inprocess.redis = await horusShapes(t, SIZE, log, "in-process redis");
            inprocess.redis.load = await loadedLatency(t, SIZE);
            await t.close();
          }
        } finally {
          await sup.stop();
        }
      }
      if (want("bullmq")) {
        const b = await startBullmq(server.port, BULL_CONCURRENCY);
        if (SIZE.warmUp) {
          await b.wide(Math.min(SIZE.wide, 200));
          await b.chain(SIZE.chain);
          await b.many(Math.min(SIZE.many, 50));
          await b.wide(Math.min(SIZE.forEach, 1_000));
        }
        const samples = { wide: [] as number[], chain: [] as number[], many: [] as number[], forEach: [] as number[] };
        for (let r = 0; r < SIZE.runs; r++) {
          samples.wide.push(await b.wide(SIZE.wide));
          samples.chain.push(await b.chain(SIZE.chain));
          samples.many.push(await b.many(SIZE.many));
          samples.forEach.push(await b.wide(SIZE.forEach));
        }
        const load = await b.loadedLatency(SIZE.wide, SIZE.probe);
        await b.close();
        bull = { ...figures(SIZE, samples), load };
        log(`bullmq: wide ${bull.wide.toFixed(0)} steps/s, chain ${bull.chain.toFixed(0)} steps/s, many ${bull.many.toFixed(0)} steps/s, ${SIZE.forEach} children ${bull.forEachMs.toFixed(0)} ms, dispatch under wide load p99 ${load.p99} ms`);
        result.bullmq = bull;
      }
    } finally {
      await server.stop();
    }
  }
  if (inprocess.embedded || inprocess.redis) result.inprocess = inprocess;

  result.machine = machine(redisVersion);
  const ratio = (ours: Figures | undefined, k: "wide" | "chain" | "many") => (ours && bull ? ours[k] / bull[k] : undefined);
  if (bull) {
    result.ratios = {
      embedded: embedded ? { wide: ratio(embedded, "wide"), chain: ratio(embedded, "chain"), many: ratio(embedded, "many") } : undefined,
      redis: redis ? { wide: ratio(redis, "wide"), chain: ratio(redis, "chain"), many: ratio(redis, "many") } : undefined,
    };
  }
  if (watching.embedded || watching.redis) result.watching = watching;
  const horusTargets = (f: HorusFigures | undefined, w: WatchingFigures | undefined) => (f || w ? { ...f, ...(w ? { watching: w.ratio } : {}) } : undefined);
  const embeddedTargets = horusTargets(embedded, watching.embedded);
  const redisTargets = horusTargets(redis, watching.redis);
  const targets = targetRows({ horus: { ...(embeddedTargets ? { embedded: embeddedTargets } : {}), ...(redisTargets ? { redis: redisTargets } : {}) }, ...(bull ? { bullmq: bull } : {}) }, SIZE);
  result.targets = targets;
  result.loadavgAtEnd = loadavg();
  result.seconds = (Date.now() - started) / 1000;

  // ---- report ----
  const m = result.machine as Record<string, string | number>;
  const la = (xs: unknown) => (xs as number[]).map((x) => x.toFixed(1)).join(" ");
  const out: string[] = [];
  out.push(`Horus bench${quick ? " (--quick: small sizes, figures not comparable, targets not judged)" : ""}: ${m.nproc} cores, ${m.cpu}, Node ${m.node}, Redis ${m.redis}, BullMQ ${m.bullmq}; load average ${la(result.loadavgAtStart)} at the start, ${la(result.loadavgAtEnd)} at the end`);
  out.push(`Horus: a client process (this one) -> a horus coordinator process over Connect/HTTP/2 (binary, ${form}); one workflow submitted and followed with RunWorkflow; many submitted with one SubmitWorkflows call (BullMQ: addBulk) and their ends noticed on WatchWorkflows. Redis: plus a horus supervisor process.`);
  out.push("");
  out.push(table([
    ["throughput (steps/s)", "embedded", "redis+sup proc", "bullmq flows", "embedded/bullmq", "redis/bullmq"],
    [`wide (${SIZE.wide} parallel + 1)`, f0(embedded?.wide), f0(redis?.wide), f0(bull?.wide), f2(ratio(embedded, "wide")), f2(ratio(redis, "wide"))],
    [`chain (${SIZE.chain} steps)`, f0(embedded?.chain), f0(redis?.chain), f0(bull?.chain), f2(ratio(embedded, "chain")), f2(ratio(redis, "chain"))],
    [`many (${SIZE.many} x 4 steps)`, f0(embedded?.many), f0(redis?.many), f0(bull?.many), f2(ratio(embedded, "many")), f2(ratio(redis, "many"))],
    ["chain per-hop latency (ms)", f2(embedded?.chainHopMs), f2(redis?.chainHopMs), f2(bull?.chainHopMs), "", ""],
    [`for_each of ${SIZE.forEach} noop items (ms)`, f0(embedded?.forEachMs), f0(redis?.forEachMs), f0(bull?.forEachMs), "", ""],
  ]));
  out.push("");
  out.push(table([
    ["dispatch latency (ms): READY -> accepted", "p50", "p99", "max", "samples"],
    ["embedded, idle", f1(embedded?.idle.p50), f1(embedded?.idle.p99), f1(embedded?.idle.max), f0(embedded?.idle.n)],
    ["embedded, under wide load", f1(embedded?.load?.p50), f1(embedded?.load?.p99), f1(embedded?.load?.max), f0(embedded?.load?.n)],
    ["redis, idle", f1(redis?.idle.p50), f1(redis?.idle.p99), f1(redis?.idle.max), f0(redis?.idle.n)],
    ["redis, under wide load", f1(redis?.load?.p50), f1(redis?.load?.p99), f1(redis?.load?.max), f0(redis?.load?.n)],
    ["bullmq, under wide load (child finishedOn -> processedOn)", f1(bull?.load.p50), f1(bull?.load.p99), f1(bull?.load.max), f0(bull?.load.n)],
  ]));
  if (embedded || redis) {
    out.push("");
    const watchRow = (label: string, k: "wide" | "chain" | "forEach") => {
      const cells = (f: HorusFigures | undefined) => {
        const watched = f?.samples[k] && median(f.samples[k]!);
        return [f0(watched), f0(f?.listWatched[k]), f2(watched !== undefined && f ? watched / f.listWatched[k] : undefined)];
      };
      return [label, ...cells(embedded), ...cells(redis)];
    };
    out.push(table([
      ["end noticed on (median ms)", "embedded WatchWorkflow", "WatchWorkflows", "ratio", "redis WatchWorkflow", "WatchWorkflows", "ratio"],
      watchRow(`wide (${SIZE.wide} + 1)`, "wide"),
      watchRow(`chain (${SIZE.chain})`, "chain"),
      (() => {
        const cells = (f: HorusFigures | undefined) => [f0(f?.latestWatched?.chain), f0(f?.listWatched.chain), f2(f?.latestWatched ? f.latestWatched.chain / f.listWatched.chain : undefined)];
        return [`chain (${SIZE.chain}), latest_only`, ...cells(embedded), ...cells(redis)];
      })(),
      watchRow(`for_each (${SIZE.forEach})`, "forEach"),
    ]));
    out.push("(WatchWorkflow follows the workflow: a snapshot, then every event; latest_only: each step's latest change, as the dashboard follows. WatchWorkflows: one stream for every workflow, summaries only, progress in 100 ms windows, ends at once: the unwatched figure. ratio: watched / unwatched. The throughput table above uses WatchWorkflow)");
    out.push("");
    out.push(table([
      ["WatchWorkflows end delivery (ms): finished_at -> a separate client's receipt", "p50", "p99", "max", "samples"],
      ["embedded", f1(embedded?.delivery?.p50), f1(embedded?.delivery?.p99), f1(embedded?.delivery?.max), f0(embedded?.delivery?.n)],
      ["redis", f1(redis?.delivery?.p50), f1(redis?.delivery?.p99), f1(redis?.delivery?.max), f0(redis?.delivery?.n)],
    ]));
  }
  if (watching.embedded || watching.redis) {
    out.push("");
    const rows = [[`following a ${SIZE.chain}-step chain, interleaved (${SIZE.watchRounds.embedded} / ${SIZE.watchRounds.redis} rounds)`, "ran ms", "ratio", "noticed ms", "ratio", "main CPU ms", "CPU ms"]];
    const labels = { unwatched: "unwatched (end on WatchWorkflows)", every: "followed, every event (RunWorkflow)", latest: "followed, latest_only" } as const;
    for (const mode of ["embedded", "redis"] as const) {
      const wf = watching[mode];
      if (!wf) continue;
      for (const k of ["unwatched", "every", "latest"] as const) {
        const m = wf.modes[k];
        rows.push([`${mode}: ${labels[k]}`, f1(m.ranMs), k === "unwatched" ? "" : f2(wf.ratio[k]), f1(m.ms), k === "unwatched" ? "" : f2(wf.noticedRatio[k]), f1(m.mainCpuMs), f1(m.cpuMs)]);
      }
    }
    out.push(table(rows));
    out.push("(ran: the workflow's created_at -> finished_at, what watching slows, mean of the middle 80% of runs (whole-ms times), and ratio: followed / unwatched, the cheap-watching targets' figure; noticed: median of submit -> the end seen by the client, and ratio: median over rounds of followed / unwatched in the same round; CPU: the coordinator process's mean per run, its main thread and all its threads, from /proc)");
  }
  if (embedded || redis || watching.embedded || watching.redis) {
    out.push("");
    const fig = (r: (typeof targets)[number], x: number | undefined) => (r.unit !== "steps/s" && (x ?? 0) < 100 ? f2(x) : f0(x));
    const versus = (r: (typeof targets)[number]) => (!r.horus || !r.bullmq ? undefined : r.unit === "ms" ? r.bullmq / r.horus : r.horus / r.bullmq);
    out.push(table([
      ["issue 17 targets", "mode", "horus", "bullmq", "unit", "vs bullmq", "target", "met"],
      ...targets.map((r) => [r.shape, r.mode, fig(r, r.horus), fig(r, r.bullmq), r.unit, f2(versus(r)), r.target, quick ? "(quick)" : r.met === undefined ? "-" : r.met ? "yes" : "NO"]),
    ]));
    out.push("(vs bullmq: how many times better Horus is, above 1 when Horus is faster; \"-\" when a figure is missing or 0)");
  }
  if (inprocess.embedded || inprocess.redis) {
    const ie = inprocess.embedded;
    const ir = inprocess.redis;
    out.push("");
    out.push("In-process, for profiling only: the coordinator in the bench process, ends noticed on its store's commits (no user can), Redis with a supervisor process:");
    out.push(table([
      ["in-process", "embedded", "redis+sup proc"],
      [`wide (steps/s)`, f0(ie?.wide), f0(ir?.wide)],
      [`chain (steps/s)`, f0(ie?.chain), f0(ir?.chain)],
      [`many (steps/s)`, f0(ie?.many), f0(ir?.many)],
      ["chain per-hop latency (ms)", f2(ie?.chainHopMs), f2(ir?.chainHopMs)],
      [`for_each of ${SIZE.forEach} (ms)`, f0(ie?.forEachMs), f0(ir?.forEachMs)],
      ["dispatch p50 / p99 idle (ms)", `${f1(ie?.idle.p50)} / ${f1(ie?.idle.p99)}`, `${f1(ir?.idle.p50)} / ${f1(ir?.idle.p99)}`],
      ["dispatch p50 / p99 under wide load (ms)", `${f1(ie?.load?.p50)} / ${f1(ie?.load?.p99)}`, `${f1(ir?.load?.p50)} / ${f1(ir?.load?.p99)}`],
    ]));
  }
  const plan = result.plan as Record<string, { ms: number; edges: number }> | undefined;
  if (plan) {
    out.push("");
    out.push(table([
      ["plan (validate + plan, random DAG)", "edges", "ms", "us/step"],
      ...Object.entries(plan).map(([n, p]) => [`${n} steps`, String(p.edges), f1(p.ms), f2((p.ms * 1000) / Number(n))]),
    ]));
  }
  const cel = result.cel as CelFigures | undefined;
  if (cel) {
    out.push("");
    out.push(table([
      ["CEL under its cost budget", "unmetered", "metered"],
      ["normal when (us per evaluation)", f2(cel.when.plainUs), f2(cel.when.meteredUs)],
      ["map over 10,000 items (ms)", f1(cel.map10k.plainMs), f1(cel.map10k.meteredMs)],
    ]));
    out.push(`stopped by the budget after: three nested maps over 300 items ${f1(cel.poisonMs)} ms, four nested comprehensions over 60 items ${f1(cel.fourDeepMs)} ms`);
  }
  const bigdoc = result.bigdoc as Awaited<ReturnType<typeof bigDocuments>> | undefined;
  if (bigdoc) {
    out.push("");
    out.push(table([
      ["big definition (default limits) vs another client's ListWorkflows", "bytes", "request ms", "other p50", "p99", "max", "loop held", "answer"],
      ["(idle)", "", "", f1(bigdoc.idle.p50), f1(bigdoc.idle.p99), f1(bigdoc.idle.max), "", ""],
      ...bigdoc.cases.map((c) => [c.label, String(c.bytes), f0(c.requestMs), f1(c.probe.p50), f1(c.probe.p99), f1(c.probe.max), f0(c.loopMaxMs), c.outcome.slice(0, 50)]),
    ]));
    out.push(`a worker's answer for a valid ${bigdoc.reply.steps}-step definition: ${bigdoc.reply.bytes} bytes, received (deserialized) in ${f1(bigdoc.reply.receiveMs)} ms`);
  }
  const mem = result.memory as Awaited<ReturnType<typeof memory>> | undefined;
  if (mem) {
    out.push("");
    out.push(`memory (embedded coordinator + in-process supervisor): ${mem.workflows} running workflows x ${mem.stepsPerWorkflow} running steps: RSS ${f0(mem.baseRssMb)} -> ${f0(mem.rssMb)} MiB, ${f0(mem.bytesPerStep)} bytes RSS (${f0(mem.heapBytesPerStep)} bytes heap) per running step`);
  }
  out.push("");
  out.push(`(${result.seconds} s)`);
  process.stdout.write(out.join("\n") + "\n");
  mkdirSync("bench/results", { recursive: true });
  writeFileSync(quick ? "bench/results/quick.json" : "bench/results/latest.json", JSON.stringify(result, null, 2) + "\n");
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
