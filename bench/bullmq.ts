// The same shapes on BullMQ's FlowProducer, against the same Redis. Flows
// are trees (a parent runs once all its children completed), so:
//   wide  = one parent with `width` children;
//   chain = `length` jobs nested one inside the other (the innermost runs first);
//   many  = `count` flows of one parent with three children, added with addBulk.
// Workers do no work and run in a process of their own (bench/bullmq-worker.ts).
import { FlowProducer, type FlowJob } from "bullmq";
import { forkScript } from "./processes.js";

export interface BullTarget {
  wide(width: number): Promise<number>;
  chain(length: number): Promise<number>;
  many(count: number): Promise<number>;
  close(): Promise<void>;
}

let flows = 0;

export async function startBullmq(port: number, concurrency: number): Promise<BullTarget> {
  const queueName = `bench-${process.pid}-${Date.now()}`;
  const worker = forkScript("dist/bench/bullmq-worker.js", [String(port), queueName, String(concurrency)]);
  const waiters = new Map<string, () => void>();
  await new Promise<void>((resolve, reject) => {
    worker.on("message", (m: { ready?: boolean; done?: string }) => {
      if (m.ready) resolve();
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

  return {
    async wide(width) {
      const { flow, root } = wideFlow(width);
      const start = performance.now();
      const ended = done(root);
      await producer.add(flow);
      await ended;
      return performance.now() - start;
    },
    async chain(length) {
      const root = `f${++flows}`;
      let node: FlowJob = { name: "c0", queueName, data: {} };
      for (let i = 1; i < length; i++) node = { name: `c${i}`, queueName, data: i === length - 1 ? { root } : {}, children: [node] };
      const start = performance.now();
      const ended = done(root);
      await producer.add(node);
      await ended;
      return performance.now() - start;
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
