// The engine's contract with the executor that drives it: the inputs it is
// fed, the commands it asks for, and the effects of one transition
// (docs/semantics.md, "Executor contract"). Types only.
import type { FailureCode } from "../common/failure-codes.js";
import type { JsonValue } from "../common/json.js";
import type { DomainEvent, StepFailure } from "./model.js";

/** Inputs a `wake` command feeds back when its time comes. */
export type TimerInput =
  /** A retry's backoff has passed: the step gets a new attempt (R1). */
  | { type: "retryDue"; step: number; attempt: number }
  /** The attempt ran past its step's timeout (D1). */
  | { type: "attemptTimedOut"; attemptId: string }
  /** The workflow ran past its timeout; `startedAt` tells runs apart after RetryWorkflow (D2). */
  | { type: "workflowTimedOut"; startedAt: number };

export type EngineInput =
  /** Make the roots ready. */
  | { type: "start" }
  /** A supervisor accepted the attempt. */
  | { type: "accepted"; attemptId: string; supervisor: string }
  /** No supervisor can run the attempt; it failed with this error (the retry policy applies). */
  | { type: "rejected"; attemptId: string; error: StepFailure }
  | { type: "started"; attemptId: string }
  | { type: "finished"; attemptId: string; ok: true; output: JsonValue }
  | { type: "finished"; attemptId: string; ok: false; error: StepFailure }
  /** The attempt is gone (its supervisor lost it); run the step again without using up a retry (R5). */
  | { type: "lost"; attemptId: string; reason: string }
  /**
   * No supervisor knows the attempt (the pool says so after a takeover, or
   * when its supervisor no longer has it): sent again under the same id
   * while its acceptance was never recorded, else lost (R10).
   */
  | { type: "unknownAttempt"; attemptId: string; reason: string }
  /** A sub-workflow step's child workflow was created (W2). */
  | { type: "childStarted"; attemptId: string; workflowId: string }
  /** A sub-workflow step's child workflow ended (W2). */
  | { type: "childFinished"; attemptId: string; ok: true; output: JsonValue }
  | { type: "childFinished"; attemptId: string; ok: false; error: StepFailure }
  | { type: "cancel"; reason: string }
  /** The attempt waits in the coordinator for a supervisor; "" when it no longer waits for a reason. */
  | { type: "waiting"; attemptId: string; reason: string }
  /** RetryWorkflow: run the failed, skipped and cancelled steps again (X1-X3). */
  | { type: "retryWorkflow" }
  | TimerInput;

/** Extra keys of a job's `input` next to the dependency outputs. */
export interface ExtraInput {
  /** for_each instances (F3). */
  item?: JsonValue;
  index?: number;
  /** on_failure steps (H2). */
  failure?: FailureInfo;
}

/** What on_failure steps receive as input.failure (H2). */
export interface FailureInfo {
  /** The first step that failed; "" when the workflow timed out with no step failed. */
  step: string;
  code: FailureCode;
  message: string;
}

export type Command =
  /**
   * Send a job for a step record's current attempt to a supervisor. `step` is
   * the record index; `planIndex` the static step whose definition and
   * dependencies to use (they differ for for_each instances). `jobInput()`
   * builds the job's `input`.
   */
  | { type: "dispatch"; step: number; planIndex: number; attemptId: string; attempt: number; timeoutMs?: number; extraInput?: ExtraInput }
  /** Stop a job that may be running. */
  | { type: "cancelJob"; attemptId: string; supervisor?: string }
  /**
   * Start the child workflow of a sub-workflow step (`plan.steps[planIndex].workflow`),
   * with `jobInput()` as its inputs; report back with childStarted/childFinished.
   */
  | { type: "startChild"; step: number; planIndex: number; attemptId: string; attempt: number; extraInput?: ExtraInput }
  /** Cancel the child workflow started for this attempt. */
  | { type: "cancelChild"; attemptId: string; workflowId?: string }
  /** Feed `input` to the engine at time `at` (ms since the epoch), unless the workflow has ended. */
  | { type: "wake"; at: number; input: TimerInput };

export interface Effects {
  /** Changes to append to the event log, in order. */
  events: DomainEvent[];
  commands: Command[];
  /** Indexes of steps whose record changed (the delta to persist); may include new, appended indexes. */
  changed: Set<number>;
  /** True when the workflow header (state, times, error) changed. */
  workflowChanged: boolean;
}
