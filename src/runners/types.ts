// The contract between a supervisor and the runners that execute job
// payloads. A runner gets a fully resolved job (inputs decoded, timeout
// applied) and reports exactly one result; it never throws, so the
// supervisor can treat every outcome, including its own bugs, as a step
// failure with a machine-readable code.
import type { FailureCode } from "../common/failure-codes.js";
import type { JsonValue } from "../common/json.js";

export type LogStreamName = "stdout" | "stderr" | "system";

/** One attempt of a step, as a runner sees it. */
export interface JobInput {
  /** Unique per attempt; the supervisor deduplicates on it. */
  attemptId: string;
  workflowId: string;
  stepId: string;
  /** 1-based attempt number. */
  attempt: number;
  /** Name of the runner the job was dispatched to. */
  runner: string;
  /** Runner-specific payload: JavaScript for js, a script for shell. */
  payload: string;
  /**
   * Outputs of the direct dependencies, by step id. Read-only: with the
   * embedded supervisor these are the coordinator's own objects, not a copy.
   */
  input: Record<string, JsonValue>;
  /** The workflow-level submitted inputs; read-only, shared by the workflow's jobs. */
  inputs: Record<string, JsonValue>;
  /**
   * Time limit of this attempt in milliseconds, already resolved by the
   * supervisor (never 0). Runners enforce it themselves and answer TIMEOUT.
   */
  timeoutMs: number;
  /**
   * Values of the secrets the step declared, by name (absent: none). Given
   * to the step (shell: environment variables; js: `secrets`; an external
   * runner: the job message), never logged; the supervisor masks them in
   * what the job reports.
   */
  secrets?: Record<string, string>;
}

export interface RunContext {
  job: JobInput;
  /** Aborted when the attempt is cancelled; the runner must stop and answer CANCELLED. */
  signal: AbortSignal;
  /** Emits one log line of the job (without its trailing newline). */
  log(stream: LogStreamName, line: string): void;
}

/**
 * Why an attempt failed. The built-in runners use the codes of
 * StepFailureCode (SCRIPT_ERROR, TIMEOUT, EXIT_CODE, CANCELLED, ...); a
 * runner of your own may pass its own.
 */
export interface StepFailure {
  code: FailureCode;
  message: string;
}

export type RunResult = { ok: true; output: JsonValue } | { ok: false; error: StepFailure };

export interface Runner {
  readonly name: string;
  /**
   * Runs one job to completion. Must never reject: every failure is a
   * RunResult with a code. Must honour ctx.signal (answer CANCELLED) and
   * job.timeoutMs (answer TIMEOUT); the supervisor keeps the slot busy until
   * run() settles.
   */
  run(ctx: RunContext): Promise<RunResult>;
  /** Releases pooled resources (workers, processes). Jobs still running end as CANCELLED. */
  close?(): Promise<void>;
}

/** Shorthand for a failed RunResult. */
export function failure(code: FailureCode, message: string): RunResult {
  return { ok: false, error: { code, message } };
}

/**
 * The abort reason of a job stopped by the dispatcher rather than by its
 * workflow: the same attempt runs on another supervisor, or this one shuts
 * down. A runner whose jobs are shared by attempt id with other supervisors
 * (the Redis queue: one cancel flag per attempt id) must then stop only its
 * own copy, never signal the attempt as a whole.
 */
export class SupersededStop extends Error {
  override name = "SupersededStop";
}

/** The text of an abort reason, for CANCELLED messages. */
export function cancelMessage(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (typeof reason === "string" && reason !== "") return `cancelled: ${reason}`;
  if (reason instanceof Error && reason.name !== "AbortError" && reason.message) return `cancelled: ${reason.message}`;
  return "cancelled";
}

/**
 * A delay safe for setTimeout, which fires at once (with a warning) for
 * anything above 2^31-1 ms.
 */
export function timerDelay(ms: number): number {
  return Math.max(1, Math.min(Math.floor(ms), 2_147_483_647));
}
