// The events of a job: accepted by a supervisor, started by its runner,
// finished, or waiting in the coordinator for a supervisor. They concern the
// step's current attempt only; an event of an attempt that ended or was
// replaced finds no record and is ignored (K1: results after a cancel).
import type { Effects } from "./contract.js";
import type { EngineState } from "./engine-state.js";
import { WITH_ATTEMPT, attemptRecord, type InputOf, type StepHandler } from "./handler.js";
import { settled } from "./readiness.js";
import { endAttempt, lastAttempt, setStep } from "./records.js";
import { attemptFailed } from "./retries.js";
import { StepState as S, WorkflowState as W } from "./states.js";
import { armAttemptTimeout } from "./timers.js";

/** `accepted`: a supervisor has the job, and the attempt's clock starts (D1). */
export const accepted: StepHandler<InputOf<"accepted">> = {
  target: attemptRecord,
  step: [S.READY],
  // Accepted after the workflow was cancelled: stop the job.
  orphaned(state, fx, input) {
    if (state.record.state === W.CANCELLED) fx.commands.push({ type: "cancelJob", attemptId: input.attemptId, supervisor: input.supervisor });
  },
  apply(state, fx, input, i, now) {
    const step = state.record.steps[i]!;
    const attempt = lastAttempt(step);
    attempt.supervisor = input.supervisor;
    attempt.dispatchedAt = now;
    attempt.state = S.DISPATCHED;
    step.supervisor = input.supervisor;
    delete step.waitingReason;
    setStep(state, fx, i, S.DISPATCHED, now);
    armAttemptTimeout(state, fx, i, attempt, now);
  },
};

/** `started`: the runner began the job. */
export const started: StepHandler<InputOf<"started">> = {
  target: attemptRecord,
  step: [S.DISPATCHED],
  apply(state, fx, _input, i, now) {
    const step = state.record.steps[i]!;
    const attempt = lastAttempt(step);
    attempt.startedAt = now;
    attempt.state = S.RUNNING;
    step.startedAt ??= now;
    setStep(state, fx, i, S.RUNNING, now);
  },
};

/** `finished`: the job ended. From READY too: a job may finish before its acceptance is recorded (fast runners). */
export const finished: StepHandler<InputOf<"finished">> = {
  target: attemptRecord,
  step: WITH_ATTEMPT,
  apply: attemptEnded,
};

/** The current attempt ended (a job, or a child workflow): the step succeeds, or the attempt failed (R1-R4). */
export function attemptEnded(state: EngineState, fx: Effects, input: InputOf<"finished"> | InputOf<"childFinished">, i: number, now: number): void {
  const step = state.record.steps[i]!;
  if (step.state === S.READY) setStep(state, fx, i, S.DISPATCHED, now, true);
  if (input.ok) {
    endAttempt(state, step, S.SUCCEEDED, now);
    step.output = input.output;
    setStep(state, fx, i, S.SUCCEEDED, now);
    settled(state, fx, i, now);
  } else {
    attemptFailed(state, fx, i, input.error, now);
  }
}

/**
 * `waiting`: not a state change. The step stays READY, and the reason it
 * waits is recorded and announced, so a waiting step is never silent.
 */
export const waiting: StepHandler<InputOf<"waiting">> = {
  target: attemptRecord,
  step: [S.READY],
  apply(state, fx, input, i, now) {
    const step = state.record.steps[i]!;
    if ((step.waitingReason ?? "") === input.reason) return;
    if (input.reason) step.waitingReason = input.reason;
    else delete step.waitingReason;
    fx.changed.add(i);
    fx.events.push({ kind: "step", time: now, stepId: step.id, state: S.READY, attempt: lastAttempt(step).number, waitingReason: input.reason });
  },
};

