// Cancel (docs/semantics.md K1), and the cancelling of records that the
// workflow timeout shares (D2): every unfinished record selected is
// CANCELLED at once, and work that may be running is asked to stop.
import { StepFailureCode } from "../common/failure-codes.js";
import type { Effects } from "./contract.js";
import type { EngineState } from "./engine-state.js";
import type { InputOf, WorkflowHandler } from "./handler.js";
import type { StepFailure } from "./model.js";
import { endAttempt, setStep, setWorkflow, stopCommand } from "./records.js";
import { StepState as S, WorkflowState as W, isTerminalStep } from "./states.js";

/** Cancels every unfinished record `which` selects; running work is asked to stop. */
export function cancelRecords(state: EngineState, fx: Effects, now: number, error: StepFailure, which: (i: number) => boolean): void {
  const wf = state.record;
  for (let i = 0; i < wf.steps.length; i++) {
    const step = wf.steps[i]!;
    if (step.superseded || isTerminalStep(step.state) || !which(i)) continue;
    const attempt = step.attempts[step.attempts.length - 1];
    if (attempt && !isTerminalStep(attempt.state)) {
      if (step.state !== S.PENDING) fx.commands.push(stopCommand(attempt));
      endAttempt(state, step, S.CANCELLED, now);
    }
    delete step.nextRetryAt;
    step.error = error;
    setStep(state, fx, i, S.CANCELLED, now);
  }
}

/**
 * `cancel` (K1): everything unfinished is CANCELLED, on_failure steps too
 * (H7). Applies to any workflow not finished; UNSPECIFIED is listed so that
 * a record without a state fails loudly in setWorkflow, as it always has.
 */
export const cancel: WorkflowHandler<InputOf<"cancel">> = {
  workflow: [W.UNSPECIFIED, W.PENDING, W.RUNNING],
  apply(state, fx, input, now) {
    const error: StepFailure = { code: StepFailureCode.CANCELLED, message: input.reason || "workflow cancelled" };
    cancelRecords(state, fx, now, error, () => true);
    setWorkflow(state, fx, W.CANCELLED, now, input.reason || "cancelled");
  },
};
