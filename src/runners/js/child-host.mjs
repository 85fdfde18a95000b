// Child-process host of the js runner's worker. The supervisor forks this
// file (as another user with `--run-as`), with the minimal job environment
// (env.ts) as its only environment, and it runs worker.mjs in a worker
// thread with the heap limits given in argv[2], relaying messages over the
// IPC channel. The worker protocol is unchanged (worker.mjs), plus:
//   out: { type: "__ready" }                    the worker is up
//        { type: "__error", code, message }     the worker failed (e.g. out of heap)
//        { type: "__memory", rss }              the process passed its memory limit
// Why a process and not a thread of the supervisor: the V8 heap limit does
// not cover ArrayBuffers and other memory outside the heap, so this host's
// main thread (never blocked by the job, which runs in the worker) watches
// the whole process's resident memory and ends it past the limit; and a
// job's escape from node:vm reaches only this process, whose environment
// and memory hold no credential of the supervisor.
import { Worker } from "node:worker_threads";

if (!process.send) throw new Error("child-host.mjs must be forked with an IPC channel");
const send = process.send.bind(process);
/** @type {{ resourceLimits?: Record<string, number>, maxRssBytes?: number, pollMs?: number }} */
const config = JSON.parse(process.argv[2] ?? "{}");
const worker = new Worker(new URL("./worker.mjs", import.meta.url), { resourceLimits: config.resourceLimits ?? {} });
let failed = false;

/** Ends this process once `msg` is on its way (or at once if the channel is gone). */
function sendAndExit(/** @type {object} */ msg) {
  failed = true;
  try {
    send(msg, () => process.exit(1));
  } catch {
    process.exit(1);
  }
  // The job may be allocating fast: never wait long for the send.
  setTimeout(() => process.exit(1), 200).unref();
}

worker.on("online", () => send({ type: "__ready" }));
worker.on("message", (msg) => send(msg));
worker.on("error", (err) => {
  const e = /** @type {{ code?: unknown, message?: unknown }} */ (err ?? {});
  sendAndExit({ type: "__error", code: typeof e.code === "string" ? e.code : undefined, message: String(e.message ?? err) });
});
worker.on("exit", (code) => {
  if (!failed) process.exit(code ?? 1);
});
process.on("message", (msg) => worker.postMessage(msg));
// The supervisor went away (even by kill -9: the channel closes): so does the
// job, with whatever it started (this process leads its own process group).
process.on("disconnect", () => {
  try {
    process.kill(-process.pid, "SIGKILL");
  } catch {
    process.exit(0);
  }
});

const maxRss = config.maxRssBytes ?? 0;
if (maxRss > 0) {
  // process.memoryUsage.rss() is one cheap read; everything the job holds
  // (heap, ArrayBuffers, native) is in it.
  setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss > maxRss && !failed) {
      worker.terminate().catch(() => {});
      sendAndExit({ type: "__memory", rss });
    }
  }, config.pollMs ?? 20).unref();
}
