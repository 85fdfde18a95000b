// A runner served by external processes over Redis queues (the Horus
// model: supervisor -> runner over Redis). run() pushes the job on the
// runner's queue; a runner process in any language takes it with BLMOVE
// into the processing list, holds a lease while it works, and pushes its
// events (started, log lines, the result) to this supervisor's reply list.
// A reaper re-queues jobs whose lease ran out, so a runner process that
// dies loses nothing: another one takes the job. The protocol is in
// docs/runner-protocol.md.
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import type { Runner, RunContext, RunResult } from "../types.js";
import { cancelMessage, failure, SupersededStop, timerDelay } from "../types.js";
import { REQUEUE_SCRIPT, runnerKeys, type QueueJob, type RunnerEvent } from "./protocol.js";
import { StepFailureCode } from "../../common/failure-codes.js";

export interface RedisQueueRunnerOptions {
  /** The runner name steps ask for; also names the Redis keys. */
  name: string;
  /** redis://host:port of the Redis the runner processes use. */
  redisUrl: string;
  /** Key prefix (default "horus"): keys are `<prefix>:runner:<name>:...`. */
  prefix?: string;
  /**
   * A runner process renews its lease on a job every third of this; a job
   * whose lease has been gone this long is re-queued (default 10,000 ms).
   */
  leaseMs?: number;
  /** After a cancel, how long to wait for the runner's CANCELLED answer (default 2 x leaseMs). */
  cancelWaitMs?: number;
  onWarning?(message: string, error?: unknown): void;
}

interface Pending {
  ctx: RunContext;
  raw: string;
  resolve(result: RunResult): void;
}

export function createRedisQueueRunner(options: RedisQueueRunnerOptions): Runner {
  const prefix = options.prefix ?? "horus";
  const leaseMs = options.leaseMs ?? 10_000;
  const cancelWaitMs = options.cancelWaitMs ?? 2 * leaseMs;
  const warn = options.onWarning ?? (() => {});
  const keys = runnerKeys(prefix, options.name);
  // One reply list per supervisor process and runner: results come back to whoever pushed the job.
  const replyTo = `${prefix}:runner:${options.name}:reply:${randomUUID()}`;
  const replyTaken = `${replyTo}:taken`;
  const redisOptions = { maxRetriesPerRequest: null, retryStrategy: (n: number) => Math.min(50 * n, 1_000), lazyConnect: true };
  const cmd = new Redis(options.redisUrl, redisOptions);
  const blocking = new Redis(options.redisUrl, redisOptions);
  for (const c of [cmd, blocking]) c.on("error", (err: Error) => warn(`runner ${options.name}: redis: ${err.message}`, err));
  const pending = new Map<string, Pending>();
  /** Processing entries seen without a lease: attempt raw JSON -> first time seen. */
  const leaseless = new Map<string, number>();
  let closed = false;
  let started = false;

  function settle(attemptId: string, result: RunResult): void {
    const p = pending.get(attemptId);
    if (!p) return;
    pending.delete(attemptId);
    p.resolve(result);
  }

  function onEvent(text: string): void {
    let ev: RunnerEvent;
    try {
      ev = JSON.parse(text) as RunnerEvent;
    } catch {
      warn(`runner ${options.name}: ignoring a reply that is not JSON`);
      return;
    }
    const p = pending.get(ev.attempt_id);
    if (!p) return; // finished or given up already
    if (ev.type === "log") p.ctx.log(ev.stream === "stderr" || ev.stream === "system" ? ev.stream : "stdout", String(ev.line));
    else if (ev.type === "started") p.ctx.log("system", `taken by runner process ${ev.worker}`);
    else if (ev.type === "result") {
      settle(ev.attempt_id, ev.ok ? { ok: true, output: ev.output ?? null } : failure(String(ev.error?.code || StepFailureCode.RUNNER_ERROR), String(ev.error?.message ?? "")));
    }
  }

  async function readReplies(): Promise<void> {
    let lastExpire = 0;
    while (!closed) {
      try {
        // Replies move to a list of their own and leave it only once handled:
        // a pop whose answer is lost with a dropped connection (Redis
        // restarting) would otherwise lose the job's result for good.
        for (const left of await cmd.lrange(replyTaken, 0, -1)) {
          onEvent(left);
          await cmd.lrem(replyTaken, 1, left);
        }
        const got = await blocking.blmove(replyTo, replyTaken, "LEFT", "RIGHT", 1);
        if (got !== null) {
          onEvent(got);
          await cmd.lrem(replyTaken, 1, got);
        }
        if (Date.now() - lastExpire > 60_000) {
          lastExpire = Date.now();
          // A supervisor that dies leaves its reply lists behind: let them expire.
          await cmd.pexpire(replyTo, 24 * 3_600_000);
          await cmd.pexpire(replyTaken, 24 * 3_600_000);
        }
      } catch (err) {
        if (closed) return;
        warn(`runner ${options.name}: reading replies failed: ${(err as Error).message}`, err);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** Re-queues jobs whose runner process stopped renewing its lease. */
  async function reap(): Promise<void> {
    while (!closed) {
      await new Promise((r) => setTimeout(r, Math.max(50, Math.floor(leaseMs / 2))));
      if (closed) return;
      try {
        const entries = await cmd.lrange(keys.processing, 0, -1);
        const still = new Set<string>();
        for (const raw of entries) {
          let job: QueueJob;
          try {
            job = JSON.parse(raw) as QueueJob;
          } catch {
            continue;
          }
          if ((await cmd.exists(keys.lease(job.attempt_id))) === 1) continue;
          still.add(raw);
          const since = leaseless.get(raw);
          if (since === undefined) leaseless.set(raw, Date.now());
          else if (Date.now() - since >= leaseMs) {
            leaseless.delete(raw);
            const moved = await cmd.eval(REQUEUE_SCRIPT, 2, keys.processing, keys.queue, raw);
            if (moved === 1) {
              pending.get(job.attempt_id)?.ctx.log("system", `runner process lost the job (lease expired); re-queued`);
              warn(`runner ${options.name}: re-queued ${job.attempt_id} (its runner process stopped renewing the lease)`);
            }
          }
        }
        for (const raw of leaseless.keys()) if (!still.has(raw)) leaseless.delete(raw);
      } catch (err) {
        warn(`runner ${options.name}: reaper failed: ${(err as Error).message}`, err);
      }
    }
  }

  /**
   * Starts reading replies and reaping on first use. The clients connect
   * on their first command and queue commands while Redis is away, so a
   * Redis that is down when the first job comes delays it rather than
   * failing every job from then on (an awaited connect() that failed once
   * would have).
   */
  function ensureStarted(): void {
    if (started) return;
    started = true;
    void readReplies();
    void reap();
  }

  /**
   * Takes this supervisor's message of the job off the queue; unless only
   * this copy is superseded, also flags the attempt cancelled for a runner
   * that took it. Returns whether the message was still queued.
   */
  async function stop(attemptId: string, raw: string, reason: string, copyOnly = false): Promise<boolean> {
    // Set the flag first: a runner that takes the job after this sees it.
    if (!copyOnly) await cmd.set(keys.cancel(attemptId), reason || "cancelled", "PX", 3_600_000);
    return (await cmd.lrem(keys.queue, 1, raw)) === 1;
  }

  return {
    name: options.name,
    async run(ctx) {
      const { job } = ctx;
      ensureStarted();
      const now = Date.now();
      const message: QueueJob = {
        v: 1,
        attempt_id: job.attemptId,
        workflow_id: job.workflowId,
        step_id: job.stepId,
        attempt: job.attempt,
        runner: job.runner,
        payload: job.payload,
        input: job.input,
        inputs: job.inputs,
        // Only when the step declared some: the external runner is trusted as the supervisor is (docs/runner-protocol.md).
        ...(job.secrets && Object.keys(job.secrets).length > 0 ? { secrets: job.secrets } : {}),
        timeout_ms: job.timeoutMs,
        deadline_ms: now + job.timeoutMs,
        reply_to: replyTo,
        lease_ms: leaseMs,
        enqueued_at_ms: now,
      };
      const raw = JSON.stringify(message);
      return new Promise<RunResult>((resolve) => {
        let timer: NodeJS.Timeout | undefined;
        const done = (result: RunResult) => {
          clearTimeout(timer);
          ctx.signal.removeEventListener("abort", onAbort);
          resolve(result);
        };
        pending.set(job.attemptId, { ctx, raw, resolve: done });
        const giveUp = (result: RunResult, reason: string) => {
          // The flag is per attempt id, and another supervisor may run the same attempt now.
          const copyOnly = ctx.signal.reason instanceof SupersededStop;
          stop(job.attemptId, raw, reason, copyOnly).then(
            (wasQueued) => {
              if (wasQueued || copyOnly) settle(job.attemptId, result);
              // Taken: let the runner answer (it sees the cancel flag), but not forever.
              else setTimeout(() => settle(job.attemptId, result), timerDelay(cancelWaitMs)).unref();
            },
            () => settle(job.attemptId, result),
          );
        };
        const onAbort = () => giveUp(failure(StepFailureCode.CANCELLED, cancelMessage(ctx.signal)), "cancelled");
        ctx.signal.addEventListener("abort", onAbort, { once: true });
        timer = setTimeout(() => giveUp(failure(StepFailureCode.TIMEOUT, `no result from runner ${options.name} within ${job.timeoutMs} ms`), "timeout"), timerDelay(job.timeoutMs));
        cmd.lpush(keys.queue, raw).catch((err: Error) => settle(job.attemptId, failure(StepFailureCode.RUNNER_UNAVAILABLE, `cannot queue the job for runner ${options.name}: ${err.message}`)));
      });
    },
    async close() {
      closed = true;
      for (const id of [...pending.keys()]) settle(id, failure(StepFailureCode.CANCELLED, "cancelled: supervisor shut down"));
      blocking.disconnect();
      await cmd.quit().catch(() => cmd.disconnect());
    },
  };
}
