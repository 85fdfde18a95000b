// The supervisor <-> external runner protocol over Redis, shared by the
// supervisor side (src/runners/redis-queue/runner.ts) and the runner SDK
// (horus-runner-sdk): a contract below both of its users.
// docs/runner-protocol.md is the normative description; keep them in step.
import type { JsonValue } from "@bufbuild/protobuf";

export type { JsonValue };

/** Key prefix of one runner name: `<prefix>:runner:<name>`. */
export function runnerKeys(prefix: string, name: string) {
  const base = `${prefix}:runner:${name}`;
  return {
    /** list: jobs waiting for a runner process (LPUSH in, BLMOVE ... RIGHT LEFT out). */
    queue: `${base}:queue`,
    /** list: jobs a runner process has taken and not finished. */
    processing: `${base}:processing`,
    /** string, with an expiry: the taker's lease on one job. */
    lease: (attemptId: string) => `${base}:lease:${attemptId}`,
    /** string, with an expiry: present when the job must stop. */
    cancel: (attemptId: string) => `${base}:cancel:${attemptId}`,
  };
}

/** A job as pushed on the queue (one JSON object per list element). */
export interface QueueJob {
  v: 1;
  attempt_id: string;
  workflow_id: string;
  step_id: string;
  attempt: number;
  runner: string;
  payload: string;
  input: Record<string, JsonValue>;
  inputs: Record<string, JsonValue>;
  /**
   * Values of the secrets the step declared, by name; absent when it
   * declared none. The supervisor masks them in the log lines, output and
   * error this job reports back.
   */
  secrets?: Record<string, string>;
  timeout_ms: number;
  /** ms since the epoch after which the result is no longer awaited. */
  deadline_ms: number;
  /** The list events of this job go to (RPUSH). */
  reply_to: string;
  /** Renew the lease at least every lease_ms / 3; it is reaped lease_ms after it runs out. */
  lease_ms: number;
  enqueued_at_ms: number;
}

/** What a runner process pushes to `reply_to`, one JSON object per element. */
export type RunnerEvent =
  | { type: "started"; attempt_id: string; worker: string }
  | { type: "log"; attempt_id: string; stream: "stdout" | "stderr" | "system"; line: string }
  | { type: "result"; attempt_id: string; ok: true; output: JsonValue }
  | { type: "result"; attempt_id: string; ok: false; error: { code: string; message: string } };

/**
 * Moves a job from processing back to the queue's taking end, only if it is
 * still in processing (so two reapers never re-queue one job twice).
 * KEYS: processing, queue. ARGV: the job's exact JSON.
 */
export const REQUEUE_SCRIPT = `
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
  redis.call('RPUSH', KEYS[2], ARGV[1])
  return 1
end
return 0
`;
