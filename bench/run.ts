// `npm run bench`: Horus (embedded, and Redis with a separate supervisor
// process) side by side with BullMQ flows on the same Redis, plus dispatch
// latency, planning cost and memory. Prints a table and writes
// bench/results/latest.json. `--quick` runs everything small (CI proves it
// works; no figure is asserted). `--only=a,b` runs some sections:
// plan, cel, bigdoc, embedded, memory, redis, bullmq.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { builtinRunners } from "../src/runners/index.js";
import { bigDocuments } from "./bigdoc.js";
import type { Runner, RunResult } from "../src/runners/types.js";
import { startBullmq } from "./bullmq.js";
import { timePlan } from "./plan.js";
import { timeCel, type CelFigures } from "./cel.js";
import { startRedis, startSupervisorProcess } from "./processes.js";
import { chainYaml, SMALL_YAML, wideYaml } from "./shapes.js";
import { latency, type Latency } from "./stats.js";
import { dispatchLatencies, runMany, runOne, startTarget, type Target } from "./ours.js";

const quick = process.argv.includes("--quick");
const onlyArg = process.argv.find((a) => a.startsWith("--only="));
const only = onlyArg ? new Set(onlyArg.slice(7).split(",")) : undefined;
const want = (s: string) => !only || only.has(s) || (s === "redis" && only.has("bullmq"));

const SIZE = quick
  ? { wide: 200, chain: 20, many: 50, runs: 1, plan: [1_000, 10_000], memWorkflows: 5, memSteps: 1_000, probe: 20, bigdoc: { big: 12_000, within: 2_000 } }
  : { wide: 2_000, chain: 100, many: 500, runs: 3, plan: [1_000, 10_000, 100_000], memWorkflows: 100, memSteps: 1_000, probe: 100, bigdoc: { big: 100_000, within: 10_000 } };
/** Jobs a BullMQ worker runs at once: the reference supervisor's default for noop. */
const BULL_CONCURRENCY = 1_000;

interface Shapes { wide: number; chain: number; chainHopMs: number; many: number }

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const gc = () => (globalThis as { gc?: () => void }).gc?.();

function log(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}


/** Runs each shape `runs` times after one warm-up; steps/s of the median run. */
async function ourShapes(t: Target, label: string): Promise<Shapes & { idle: Latency; samples: Record<string, number[]> }> {
  await runOne(t, wideYaml(Math.min(SIZE.wide, 200)));
  await runOne(t, chainYaml(SIZE.chain));
  const samples: Record<string, number[]> = { wide: [], chain: [], many: [] };
  const idle: number[] = [];
  for (let r = 0; r < SIZE.runs; r++) {
    samples.wide!.push((await runOne(t, wideYaml(SIZE.wide))).ms);
    const chain = await runOne(t, chainYaml(SIZE.chain));
    samples.chain!.push(chain.ms);
    idle.push(...dispatchLatencies(await t.record(chain.id)));
    samples.many!.push((await runMany(t, SMALL_YAML, SIZE.many)).ms);
    log(`${label} run ${r + 1}: wide ${samples.wide!.at(-1)!.toFixed(0)} ms, chain ${samples.chain!.at(-1)!.toFixed(0)} ms, many ${samples.many!.at(-1)!.toFixed(0)} ms`);
  }
  const chainMs = median(samples.chain!);
  const out = {
    wide: ((SIZE.wide + 1) * 1000) / median(samples.wide!),
    chain: (SIZE.chain * 1000) / chainMs,
    chainHopMs: chainMs / SIZE.chain,
    many: (SIZE.many * 4 * 1000) / median(samples.many!),
    idle: latency(idle),
    samples,
  };
  log(`${label}: wide ${out.wide.toFixed(0)} steps/s, chain ${out.chain.toFixed(0)} steps/s, many ${out.many.toFixed(0)} steps/s`);
  return out;
}

/** Dispatch latency of a probe chain while wide workflows run back to back (two at a time). */
async function loadedLatency(t: Target): Promise<Latency> {
  let stop = false;
  const loop = async () => { while (!stop) await runOne(t, wideYaml(SIZE.wide)); };
  const loops = [loop(), loop()];
  await sleep(20);
  const probe = await runOne(t, chainYaml(SIZE.probe, "probe"));
  stop = true;
  await Promise.all(loops);
  return latency(dispatchLatencies(await t.record(probe.id)));
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
  const t = await startTarget("embedded", { coordinator: { embeddedSupervisor: { runners, capacity: { hold: total, noop: 1_000 } } } });
  const lines = ["workflow:", "  name: held", "  steps:"];
  for (let i = 0; i < SIZE.memSteps; i++) lines.push(`    - { id: h${i}, runner: hold }`);
  const yaml = lines.join("\n") + "\n";
  gc();
  await sleep(100);
  gc();
  const base = process.memoryUsage();
  const ids = await Promise.all(Array.from({ length: SIZE.memWorkflows }, () => t.submit(yaml)));
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

async function main(): Promise<void> {
  const started = Date.now();
  const result: Record<string, unknown> = { quick, sizes: SIZE, bullmqConcurrency: BULL_CONCURRENCY, date: new Date().toISOString() };
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

  let embedded: Awaited<ReturnType<typeof ourShapes>> & { load?: Latency } | undefined;
  if (want("embedded")) {
    const t = await startTarget("embedded");
    embedded = await ourShapes(t, "embedded");
    embedded.load = await loadedLatency(t);
    await t.close();
    result.embedded = embedded;
  }

  if (want("memory")) {
    result.memory = await memory();
    log(`memory: ${JSON.stringify(result.memory)}`);
  }

  let redis: Awaited<ReturnType<typeof ourShapes>> & { load?: Latency } | undefined;
  let bull: Shapes & { samples: Record<string, number[]> } | undefined;
  if (want("redis") || want("bullmq")) {
    const server = await startRedis();
    redisVersion = server.version;
    try {
      if (want("redis")) {
        const sup = await startSupervisorProcess();
        const t = await startTarget("redis", { redisUrl: server.url, supervisorUrl: sup.url });
        redis = await ourShapes(t, "redis");
        redis.load = await loadedLatency(t);
        await t.close();
        await sup.stop();
        result.redis = redis;
      }
      if (want("bullmq")) {
        const b = await startBullmq(server.port, BULL_CONCURRENCY);
        await b.wide(Math.min(SIZE.wide, 200));
        await b.chain(SIZE.chain);
        const samples: Record<string, number[]> = { wide: [], chain: [], many: [] };
        for (let r = 0; r < SIZE.runs; r++) {
          samples.wide!.push(await b.wide(SIZE.wide));
          samples.chain!.push(await b.chain(SIZE.chain));
          samples.many!.push(await b.many(SIZE.many));
        }
        await b.close();
        const chainMs = median(samples.chain!);
        bull = {
          wide: ((SIZE.wide + 1) * 1000) / median(samples.wide!),
          chain: (SIZE.chain * 1000) / chainMs,
          chainHopMs: chainMs / SIZE.chain,
          many: (SIZE.many * 4 * 1000) / median(samples.many!),
          samples,
        };
        log(`bullmq: wide ${bull.wide.toFixed(0)} steps/s, chain ${bull.chain.toFixed(0)} steps/s, many ${bull.many.toFixed(0)} steps/s`);
        result.bullmq = bull;
      }
    } finally {
      await server.stop();
    }
  }

  result.machine = machine(redisVersion);
  const ratio = (ours: Shapes | undefined, k: keyof Shapes) => (ours && bull ? ours[k] / bull[k] : undefined);
  if (bull) {
    result.ratios = {
      embedded: embedded ? { wide: ratio(embedded, "wide"), chain: ratio(embedded, "chain"), many: ratio(embedded, "many") } : undefined,
      redis: redis ? { wide: ratio(redis, "wide"), chain: ratio(redis, "chain"), many: ratio(redis, "many") } : undefined,
    };
  }
  result.seconds = (Date.now() - started) / 1000;

  // ---- report ----
  const m = result.machine as Record<string, string | number>;
  const out: string[] = [];
  out.push(`Horus bench${quick ? " (--quick: small sizes, figures not comparable)" : ""}: ${m.nproc} cores, ${m.cpu}, Node ${m.node}, Redis ${m.redis}, BullMQ ${m.bullmq}`);
  out.push("");
  out.push(table([
    ["throughput (steps/s)", "embedded", "redis+sup proc", "bullmq flows", "embedded/bullmq", "redis/bullmq"],
    [`wide (${SIZE.wide} parallel + 1)`, f0(embedded?.wide), f0(redis?.wide), f0(bull?.wide), f2(ratio(embedded, "wide")), f2(ratio(redis, "wide"))],
    [`chain (${SIZE.chain} steps)`, f0(embedded?.chain), f0(redis?.chain), f0(bull?.chain), f2(ratio(embedded, "chain")), f2(ratio(redis, "chain"))],
    [`many (${SIZE.many} x 4 steps)`, f0(embedded?.many), f0(redis?.many), f0(bull?.many), f2(ratio(embedded, "many")), f2(ratio(redis, "many"))],
    ["chain per-hop latency (ms)", f2(embedded?.chainHopMs), f2(redis?.chainHopMs), f2(bull?.chainHopMs), "", ""],
  ]));
  out.push("");
  out.push(table([
    ["dispatch latency (ms): READY -> accepted", "p50", "p99", "max", "samples"],
    ["embedded, idle", f1(embedded?.idle.p50), f1(embedded?.idle.p99), f1(embedded?.idle.max), f0(embedded?.idle.n)],
    ["embedded, under wide load", f1(embedded?.load?.p50), f1(embedded?.load?.p99), f1(embedded?.load?.max), f0(embedded?.load?.n)],
    ["redis, idle", f1(redis?.idle.p50), f1(redis?.idle.p99), f1(redis?.idle.max), f0(redis?.idle.n)],
    ["redis, under wide load", f1(redis?.load?.p50), f1(redis?.load?.p99), f1(redis?.load?.max), f0(redis?.load?.n)],
  ]));
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
