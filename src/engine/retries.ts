// Retries (docs/semantics.md R1-R10). A failed attempt is not the step's
// end while its retry budget lasts: the step waits PENDING for a `retryDue`
// timer. Lost attempts are not the step's fault and run again at once,
// without using the budget (R5); an attempt no supervisor knows is sent
// again, or lost, by whether it was ever acknowledged (R10).
import { StepFailureCode } from "../common/failure-codes.js";
import { attemptCommand, makeReady } from "./attempts.js";
import type { Effects } from "./contract.js";
import { staticOf, type EngineState } from "./engine-state.js";
import { WITH_ATTEMPT, attemptRecord, type InputOf, type StepHandler } from "./handler.js";
import type { StepFailure } from "./model.js";
import { failRecord } from "./readiness.js";
import { endAttempt, lastAttempt, setStep, stopCommand } from "./records.js";
import { StepState as S, WorkflowState as W } from "./states.js";

/**
 * Codes no retry policy retries: NON_RETRYABLE says so; WORKFLOW_TOO_DEEP
 * would fail the same way again, and retrying it at every level of a chain
 * would start attempts^levels children (W4).
 */
const NEVER_RETRIED: ReadonlySet<string> = new Set([StepFailureCode.NON_RETRYABLE, StepFailureCode.WORKFLOW_TOO_DEEP]);

/** 32-bit FNV-1a: a stable, well-spread hash for deterministic jitter. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < text.length; k++) {
    h ^= text.charCodeAt(k);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * R2: the delay before the retry that follows the `tries`-th counted failure.
 * base = min(max_backoff, initial_backoff * multiplier^(tries-1));
 * delay = round(base * (1 - jitter * u)), u in [0, 1) from the failed attempt's id.
 */
export function backoffMs(policy: { initialBackoffMs: number; maxBackoffMs: number; multiplier: number; jitter: number }, tries: number, attemptId: string): number {
  const base = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * Math.pow(policy.multiplier, tries - 1));
  const u = fnv1a(attemptId) / 2 ** 32;
  return Math.round(base * (1 - policy.jitter * u));
}

/** R1-R4: a failed attempt becomes a retry while the budget lasts, else the step fails. */
export function attemptFailed(state: EngineState, fx: Effects, i: number, error: StepFailure, now: number): void {
  const step = state.record.steps[i]!;
  const attempt = lastAttempt(step);
  endAttempt(state, step, S.FAILED, now, error);
  step.tries = (step.tries ?? 0) + 1;
  const policy = state.plan.retry[staticOf(state, i)]!;
  const retryable = !NEVER_RETRIED.has(error.code) && !policy.nonRetryable.includes(error.code);
  if (retryable && step.tries < policy.maxAttempts && state.record.state === W.RUNNING) {
    step.nextRetryAt = now + backoffMs(policy, step.tries, attempt.attemptId);
    setStep(state, fx, i, S.PENDING, now);
    fx.commands.push({ type: "wake", at: step.nextRetryAt, input: { type: "retryDue", step: i, attempt: attempt.number } });
    return;
  }
  failRecord(state, fx, i, error, now);
}

/** `rejected`: no supervisor can run the attempt; a counted failure (R6). */
export const rejected: StepHandler<InputOf<"rejected">> = {
  target: attemptRecord,
  step: WITH_ATTEMPT,
  apply(state, fx, input, i, now) {
    attemptFailed(state, fx, i, input.error, now);
  },
};

/** `retryDue`: a retry's backoff has passed and the step gets a new attempt (R1, R9). */
export const retryDue: StepHandler<InputOf<"retryDue">> = {
  workflow: [W.RUNNING],
  target: (state, input) => (state.record.steps[input.step] ? input.step : undefined),
  step: [S.PENDING],
  apply(state, fx, input, i, now) {
    const step = state.record.steps[i]!;
    // Stale timers (the step was cancelled, reset or already retried) find no match.
    if (step.nextRetryAt === undefined || step.attempts.length !== input.attempt) return;
    makeReady(state, fx, i, now);
  },
};

/** `lost`: the attempt is gone; the step runs again at once, `tries` left alone (R5). */
export const lost: StepHandler<InputOf<"lost">> = {
  target: attemptRecord,
  // READY too: a copy of a dispatch whose acceptance was never recorded can be the one stopped.
  step: WITH_ATTEMPT,
  apply(state, fx, input, i, now) {
    const step = state.record.steps[i]!;
    // The dispatcher may still hold the old attempt to send: it is not wanted any more.
    if (step.state === S.READY) fx.commands.push(stopCommand(lastAttempt(step)));
    endAttempt(state, step, S.FAILED, now, { code: StepFailureCode.ATTEMPT_LOST, message: input.reason });
    makeReady(state, fx, i, now);
  },
};

/** `unknownAttempt`: no supervisor knows the attempt (R10). */
export const unknownAttempt: StepHandler<InputOf<"unknownAttempt">> = {
  target: attemptRecord,
  step: WITH_ATTEMPT,
  apply(state, fx, input, i, now) {
    const step = state.record.steps[i]!;
    // Never acknowledged, so nothing ran as far as the workflow knows: the
    // same attempt goes out again, under the same id.
    if (step.state === S.READY) {
      fx.commands.push(attemptCommand(state, i));
      return;
    }
    endAttempt(state, step, S.FAILED, now, { code: StepFailureCode.ATTEMPT_LOST, message: input.reason });
    makeReady(state, fx, i, now);
  },
};
