// BullMQ Workers that do no work, in a process of their own (as the Horus
// supervisor is in Redis mode). Reports each flow's root job completing to
// the parent process over IPC, and for the jobs of a probe chain (data
// `probe`) BullMQ's own timestamps: when a worker took the job
// (processedOn) and when it completed (finishedOn).
import { Worker } from "bullmq";

const [port, queueName, concurrency] = process.argv.slice(2);
const worker = new Worker(
  queueName!,
  async (job) => {
    if ((job.data as { probe?: string }).probe) process.send!({ probe: job.name, processedOn: job.processedOn });
    return null;
  },
  { connection: { host: "127.0.0.1", port: Number(port), maxRetriesPerRequest: null }, concurrency: Number(concurrency) },
);
worker.on("completed", (job) => {
  const data = job.data as { root?: string; probe?: string };
  if (data.probe) process.send!({ probe: job.name, finishedOn: job.finishedOn });
  if (data.root) process.send!({ done: data.root });
});
worker.on("error", (err) => process.stderr.write(`bullmq worker: ${err.message}\n`));
process.on("message", (m: { close?: boolean }) => {
  if (m.close) void worker.close().then(() => process.exit(0));
});
void worker.waitUntilReady().then(() => process.send!({ ready: true }));
