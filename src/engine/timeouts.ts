// Timeouts (docs/semantics.md D1-D3): what the engine does when a timer it
// armed (timers.ts) comes due. An attempt that ran too long is stopped and
// failed, and its retry policy applies; a workflow that ran too long has its
// unfinished main steps cancelled and fails, or, if its on_failure steps
// were already running, ends with them cancelled too.
import { StepFailureCode } from "../common/failure-codes.js";
import { formatDuration } from "../workflow/duration.js";
import { cancelRecords } from "./cancel.js";
import { failureText, staticOf } from "./engine-state.js";
import { attemptRecord, type InputOf, type StepHandler, type WorkflowHandler } from "./handler.js";
import type { StepFailure } from "./model.js";
import { lastAttempt, setWorkflow, stopCommand } from "./records.js";
import { attemptFailed } from "./retries.js";
import { StepState as S, WorkflowState as W } from "./states.js";

/** `attemptTimedOut` (D1): only an attempt still out with a supervisor or child can time out. */
export const attemptTimedOut: StepHandler<InputOf<"attemptTimedOut">> = {
  target: attemptRecord,
  step: [S.DISPATCHED, S.RUNNING],
  apply(state, fx, _input, i, now) {
    const attempt = lastAttempt(state.record.steps[i]!);
    fx.commands.push(stopCommand(attempt));
    const limit = state.plan.steps[staticOf(state, i)]!.timeoutMs ?? 0;
    attemptFailed(state, fx, i, { code: StepFailureCode.DEADLINE_EXCEEDED, message: `the attempt ran longer than its timeout of ${formatDuration(limit)}` }, now);
  },
};

/** `workflowTimedOut` (D2): a timer of an earlier run (another startedAt) is ignored. */
export const workflowTimedOut: WorkflowHandler<InputOf<"workflowTimedOut">> = {
  workflow: [W.RUNNING],
  apply(state, fx, input, now) {
    const wf = state.record;
    if (wf.startedAt !== input.startedAt) return;
    const limit = formatDuration(wf.definition.timeoutMs ?? 0);
    const error: StepFailure = { code: StepFailureCode.DEADLINE_EXCEEDED, message: `the workflow ran longer than its timeout of ${limit}` };
    if (state.mainUnfinished === 0) {
      // D2: on_failure steps were running; they are stopped too and the workflow ends.
      cancelRecords(state, fx, now, error, () => true);
      state.failureInfo ??= { step: "", code: error.code, message: error.message };
      state.failure ??= failureText(state.failureInfo);
      setWorkflow(state, fx, W.FAILED, now, state.failure);
      return;
    }
    cancelRecords(state, fx, now, error, (i) => staticOf(state, i) < state.plan.mainCount);
    state.failureInfo ??= { step: "", code: error.code, message: error.message };
    state.failure ??= failureText(state.failureInfo);
  },
};
