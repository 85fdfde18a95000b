// horus-runner-sdk: write an external runner in TypeScript, a process that
// serves one runner name for Horus supervisors over Redis
// (docs/runner-protocol.md in the coordinator's repository).
//
//   const runner = createRunner({ name: "hero", redisUrl: "redis://localhost:6379",
//     handler: async (job, ctx) => { ctx.log("working"); return { ok: true }; } });
//   process.on("SIGTERM", () => runner.close());
//
// It takes jobs with BLMOVE into the processing list, holds a lease on each
// while the handler runs (renewed every third of the job's lease_ms), stops
// the handler when the supervisor sets the job's cancel flag, and reports
// the result and removes the job in one MULTI, so a crash at any point
// leaves the job either finished or re-queued by the supervisor's reaper.
import { hostname } from "node:os";
import { Redis } from "ioredis";
import { runnerKeys, type JsonValue, type QueueJob, type RunnerEvent } from "horus-api/runner-protocol";

export type { JsonValue, QueueJob, RunnerEvent } from "horus-api/runner-protocol";

export interface RunnerJobContext {
  /** Aborted when the supervisor cancels the job or its deadline passes. */
  signal: AbortSignal;
  /** Sends one log line of the job (default stream stdout). */
  log(line: string, stream?: "stdout" | "stderr" | "system"): void;
  /** This process's worker id, as reported in the started event. */
  worker: string;
}

/** Return the output (any JSON value); throw to fail the step (an error's `code` property becomes the step's error code). */
export type RunnerHandler = (job: QueueJob, ctx: RunnerJobContext) => Promise<JsonValue> | JsonValue;

export interface CreateRunnerOptions {
  /** Runner name steps ask for (`runner: NAME`); the supervisor serves it with --external-runner NAME. */
  name: string;
  /** The Redis the supervisor pushes jobs to. */
  redisUrl: string;
  handler: RunnerHandler;
  /** Key prefix; must match the supervisor's --redis-prefix (default "horus"). */
  prefix?: string;
  /** Jobs run at once by this process (default 1). */
  concurrency?: number;
  /** Worker id reported to the supervisor (default hostname:pid). */
  worker?: string;
  onError?(error: unknown): void;
}

export interface RunningRunner {
  /** Stops taking jobs, waits for running handlers, disconnects. */
  close(): Promise<void>;
  /** Resolves once connected to Redis and waiting for jobs. */
  ready: Promise<void>;
}

export function createRunner(options: CreateRunnerOptions): RunningRunner {
  const keys = runnerKeys(options.prefix ?? "horus", options.name);
  const worker = options.worker ?? `${hostname()}:${process.pid}`;
  const onError = options.onError ?? ((err) => process.stderr.write(`runner ${options.name}: ${(err as Error).message ?? err}\n`));
  const redisOptions = { maxRetriesPerRequest: null, retryStrategy: (n: number) => Math.min(50 * n, 1_000) };
  const cmd = new Redis(options.redisUrl, redisOptions);
  cmd.on("error", onError);
  let closed = false;
  const running = new Set<Promise<void>>();

  const push = (to: string, ev: RunnerEvent) => cmd.rpush(to, JSON.stringify(ev));

  async function runOne(raw: string): Promise<void> {
    let job: QueueJob;
    try {
      job = JSON.parse(raw) as QueueJob;
    } catch {
      // Not a job: drop it so it does not come back forever.
      await cmd.lrem(keys.processing, 1, raw);
      return;
    }
    const lease = keys.lease(job.attempt_id);
    await cmd.set(lease, worker, "PX", job.lease_ms);
    const controller = new AbortController();
    const checkCancel = async () => {
      if (controller.signal.aborted) return;
      if (Date.now() > job.deadline_ms) controller.abort("deadline passed");
      else if ((await cmd.exists(keys.cancel(job.attempt_id))) === 1) controller.abort("cancelled");
    };
    const renew = setInterval(() => {
      cmd.set(lease, worker, "PX", job.lease_ms).catch(onError);
      checkCancel().catch(onError);
    }, Math.max(50, Math.floor(job.lease_ms / 3)));
    let result: RunnerEvent;
    try {
      await checkCancel();
      if (controller.signal.aborted) throw Object.assign(new Error(String(controller.signal.reason)), { code: controller.signal.reason === "deadline passed" ? "TIMEOUT" : "CANCELLED" });
      await push(job.reply_to, { type: "started", attempt_id: job.attempt_id, worker });
      const ctx: RunnerJobContext = {
        signal: controller.signal,
        worker,
        log: (line, stream = "stdout") => void push(job.reply_to, { type: "log", attempt_id: job.attempt_id, stream, line: String(line) }).catch(onError),
      };
      const output = await options.handler(job, ctx);
      result = controller.signal.aborted
        ? { type: "result", attempt_id: job.attempt_id, ok: false, error: { code: "CANCELLED", message: String(controller.signal.reason) } }
        : { type: "result", attempt_id: job.attempt_id, ok: true, output: output ?? null };
    } catch (err) {
      const code = typeof (err as { code?: unknown }).code === "string" ? (err as { code: string }).code : controller.signal.aborted ? "CANCELLED" : "RUNNER_ERROR";
      result = { type: "result", attempt_id: job.attempt_id, ok: false, error: { code, message: err instanceof Error ? err.message : String(err) } };
    } finally {
      clearInterval(renew);
    }
    // One transaction: the result is reported exactly when the job leaves processing.
    await cmd.multi().rpush(job.reply_to, JSON.stringify(result)).lrem(keys.processing, 1, raw).del(lease).exec();
  }

  async function loop(): Promise<void> {
    const blocking = new Redis(options.redisUrl, redisOptions);
    blocking.on("error", onError);
    try {
      while (!closed) {
        let raw: string | null;
        try {
          raw = await blocking.blmove(keys.queue, keys.processing, "RIGHT", "LEFT", 1);
        } catch (err) {
          if (closed) break;
          onError(err);
          await new Promise((r) => setTimeout(r, 500));
          continue;
        }
        if (raw === null) continue;
        const p = runOne(raw).catch(onError);
        running.add(p);
        await p;
        running.delete(p);
      }
    } finally {
      blocking.disconnect();
    }
  }

  const ready = cmd.ping().then(() => undefined);
  const loops = Array.from({ length: Math.max(1, options.concurrency ?? 1) }, () => loop());

  return {
    ready,
    async close() {
      closed = true;
      await Promise.all(loops);
      await Promise.all(running);
      await cmd.quit().catch(() => cmd.disconnect());
    },
  };
}
