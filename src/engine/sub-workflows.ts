// Sub-workflows (docs/semantics.md W1-W5), as the engine sees them: a step
// whose attempt is a child workflow rather than a job. The executor creates
// and follows the child (coordinator/executor/children.ts); the engine only
// hears that it started and how it ended.
import { attemptEnded } from "./job-events.js";
import { WITH_ATTEMPT, attemptRecord, type InputOf, type StepHandler } from "./handler.js";
import { lastAttempt, setStep } from "./records.js";
import { StepState as S, WorkflowState as W } from "./states.js";
import { armAttemptTimeout } from "./timers.js";

/** `childStarted` (W2): the child exists, so the step runs, and the attempt's clock starts (D1). */
export const childStarted: StepHandler<InputOf<"childStarted">> = {
  target: attemptRecord,
  step: [S.READY],
  // Started after the workflow was cancelled: cancel the child.
  orphaned(state, fx, input) {
    if (state.record.state === W.CANCELLED) fx.commands.push({ type: "cancelChild", attemptId: input.attemptId, workflowId: input.workflowId });
  },
  apply(state, fx, input, i, now) {
    const step = state.record.steps[i]!;
    const attempt = lastAttempt(step);
    attempt.childWorkflowId = input.workflowId;
    attempt.dispatchedAt = now;
    attempt.startedAt = now;
    attempt.state = S.RUNNING;
    step.startedAt ??= now;
    setStep(state, fx, i, S.DISPATCHED, now);
    setStep(state, fx, i, S.RUNNING, now);
    armAttemptTimeout(state, fx, i, attempt, now);
  },
};

/** `childFinished` (W2): the child ended; the attempt ends as a job's would. */
export const childFinished: StepHandler<InputOf<"childFinished">> = {
  target: attemptRecord,
  step: WITH_ATTEMPT,
  apply: attemptEnded,
};
