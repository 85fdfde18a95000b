// Child-process host of the js runner's worker, for `--run-as USER`: the
// supervisor forks this file as that user (uid/gid), and it runs worker.mjs
// in a worker thread with the same resource limits, relaying messages over
// the IPC channel. The job's code then runs with that user's permissions,
// in a process of its own; the worker protocol is unchanged (worker.mjs).
import { Worker } from "node:worker_threads";

if (!process.send) throw new Error("child-host.mjs must be forked with an IPC channel");
const send = process.send.bind(process);
const limits = JSON.parse(process.env.HORUS_JS_LIMITS ?? "{}");
const worker = new Worker(new URL("./worker.mjs", import.meta.url), { resourceLimits: limits });
let failed = false;
worker.on("message", (msg) => send(msg));
worker.on("error", (err) => {
  failed = true;
  const e = /** @type {{ code?: unknown, message?: unknown }} */ (err ?? {});
  send({ type: "__error", code: typeof e.code === "string" ? e.code : undefined, message: String(e.message ?? err) }, () => process.exit(1));
});
worker.on("exit", (code) => {
  if (!failed) process.exit(code ?? 1);
});
process.on("message", (msg) => worker.postMessage(msg));
// The supervisor went away: so does the job.
process.on("disconnect", () => process.exit(0));
