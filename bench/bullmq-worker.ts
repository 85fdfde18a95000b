// BullMQ Workers that do no work, in a process of their own (as the Horus
// supervisor is in Redis mode). Reports each flow's root job completing to
// the parent process over IPC.
import { Worker } from "bullmq";

const [port, queueName, concurrency] = process.argv.slice(2);
const worker = new Worker(
  queueName!,
  async () => null,
  { connection: { host: "127.0.0.1", port: Number(port), maxRetriesPerRequest: null }, concurrency: Number(concurrency) },
);
worker.on("completed", (job) => {
  if ((job.data as { root?: string }).root) process.send!({ done: (job.data as { root: string }).root });
});
worker.on("error", (err) => process.stderr.write(`bullmq worker: ${err.message}\n`));
process.on("message", (m: { close?: boolean }) => {
  if (m.close) void worker.close().then(() => process.exit(0));
});
void worker.waitUntilReady().then(() => process.send!({ ready: true }));
