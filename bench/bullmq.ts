// The same shapes on BullMQ's FlowProducer, against the same Redis. Flows
// are trees (a parent runs once all its children completed), so:
//   wide  = one parent with `width` children;
//   chain = `length` jobs nested one inside the other (the innermost runs first);
//   many  = `count` flows of one parent with three children, added with addBulk;
//   for_each of n items = wide with n children.
// Dispatch latency (as Horus's: from "the last dependency succeeded" to "a
// worker took the job"): in a chain run as a probe, a job's processedOn
// minus its child's finishedOn, BullMQ's own timestamps (ms).
// Workers do no work and run in a process of their own (bench/bullmq-worker.ts).
import { FlowProducer, type FlowJob } from "bullmq";
import { forkScript } from "./processes.js";
import { latency, type Latency } from "./stats.js";

export interface BullTarget {
  wide(width: number): Promise<number>;
  chain(length: number): Promise<number>;
  many(count: number): Promise<number>;
  /** Dispatch latency of a `probe`-job chain while wide flows of `width` run back to back (two at a time). */
  loadedLatency(width: number, probe: number): Promise<Latency>;
  close(): Promise<void>;
}

let flows = 0;

export async function startBullmq(port: number, concurrency: number): Promise<BullTarget> {
  const queueName = `bench-${process.pid}-${Date.now()}`;
  const worker = forkScript("dist/bench/bullmq-worker.js", [String(port), queueName, String(concurrency)]);
  const waiters = new Map<string, () => void>();
  /** Probe jobs by name: BullMQ's timestamps. */
  const probes = new Map<string, { processedOn?: number; finishedOn?: number }>();
  await new Promise<void>((resolve, reject) => {
    worker.on("message", (m: { ready?: boolean; done?: string; probe?: string; processedOn?: number; finishedOn?: number }) => {
      if (m.ready) resolve();
      if (m.probe) {
        const p = probes.get(m.probe) ?? {};
        if (m.processedOn !== undefined) p.processedOn = m.processedOn;
        if (m.finishedOn !== undefined) p.finishedOn = m.finishedOn;
        probes.set(m.probe, p);
      }
      if (m.done) waiters.get(m.done)?.();
    });
    worker.once("exit", (code) => reject(new Error(`bullmq worker exited with ${code}`)));
  });
  const producer = new FlowProducer({ connection: { host: "127.0.0.1", port, maxRetriesPerRequest: null } });
  await producer.waitUntilReady();
  const done = (root: string) => new Promise<void>((resolve) => waiters.set(root, () => { waiters.delete(root); resolve(); }));

  function wideFlow(width: number): { flow: FlowJob; root: string } {
    const root = `f${++flows}`;
    const children: FlowJob[] = Array.from({ length: width }, (_, i) => ({ name: `s${i}`, queueName, data: {} }));
    return { root, flow: { name: "agg", queueName, data: { root }, children } };
  }

  async function wide(width: number): Promise<number> {
    const { flow, root } = wideFlow(width);
    const start = performance.now();
    const ended = done(root);
    await producer.add(flow);
    await ended;
    return performance.now() - start;
  }

  /** `length` nested jobs; with `probe`, named `${probe}-c${i}` and timestamped by the worker. */
  async function chain(length: number, probe?: string): Promise<number> {
    const root = `f${++flows}`;
    const name = (i: number) => (probe ? `${probe}-c${i}` : `c${i}`);
    const data = (i: number) => ({ ...(i === length - 1 ? { root } : {}), ...(probe ? { probe } : {}) });
    let node: FlowJob = { name: name(0), queueName, data: data(0) };
    for (let i = 1; i < length; i++) node = { name: name(i), queueName, data: data(i), children: [node] };
    const start = performance.now();
    const ended = done(root);
    await producer.add(node);
    await ended;
    return performance.now() - start;
  }

  return {
    wide,
    chain: (length) => chain(length),
    async loadedLatency(width, length) {
      let stop = false;
      const loop = async () => { while (!stop) await wide(width); };
      const loops = [loop(), loop()];
      await new Promise((r) => setTimeout(r, 20));
      const probe = `probe${++flows}`;
      try {
        await chain(length, probe);
      } finally {
        stop = true;
        await Promise.all(loops);
      }
      const out: number[] = [];
      for (let i = 1; i < length; i++) {
        const child = probes.get(`${probe}-c${i - 1}`)?.finishedOn;
        const job = probes.get(`${probe}-c${i}`)?.processedOn;
        if (child !== undefined && job !== undefined) out.push(job - child);
      }
      return latency(out);
    },
    async many(count) {
      const all = Array.from({ length: count }, () => wideFlow(3));
      const start = performance.now();
      const ended = Promise.all(all.map((f) => done(f.root)));
      await producer.addBulk(all.map((f) => f.flow));
      await ended;
      return performance.now() - start;
    },
    async close() {
      await producer.close();
      worker.send({ close: true });
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => void worker.stopNow().then(resolve), 5_000);
        worker.once("exit", () => { clearTimeout(t); resolve(); });
      });
    },
  };
}
