// on_failure steps and the end of a run (docs/semantics.md H1-H7, T8).
// Checked after every input: once no main step is unfinished, a workflow
// with no failure succeeds; one with a failure starts its on_failure steps
// and ends when they have, FAILED unless one of them recovered it (H4).
import { StepFailureCode } from "../common/failure-codes.js";
import type { Effects } from "./contract.js";
import type { EngineState } from "./engine-state.js";
import { activate } from "./readiness.js";
import { setStep, setWorkflow } from "./records.js";
import { StepState as S, WorkflowState as W } from "./states.js";

/** H1, H3-H5 and the end of a run. */
export function finishIfDone(state: EngineState, fx: Effects, now: number): void {
  const wf = state.record;
  if (wf.state !== W.RUNNING || state.mainUnfinished > 0) return;
  const { plan } = state;
  const hasHandlers = plan.steps.length > plan.mainCount;
  if (state.failure === undefined) {
    // H5: on_failure steps of a workflow that succeeded never run.
    for (let h = plan.mainCount; h < plan.steps.length; h++) {
      const step = wf.steps[h]!;
      if (step.state === S.PENDING) {
        step.error = { code: StepFailureCode.NOT_NEEDED, message: "skipped because the workflow did not fail" };
        setStep(state, fx, h, S.SKIPPED, now);
      }
    }
    setWorkflow(state, fx, W.SUCCEEDED, now);
    return;
  }
  if (hasHandlers && !state.handlersStarted) {
    state.handlersStarted = true;
    for (let h = plan.mainCount; h < plan.steps.length; h++) {
      if (plan.parents[h]!.length === 0 && wf.steps[h]!.state === S.PENDING) activate(state, fx, h, now);
    }
  }
  if (state.unfinished > 0) return;
  // H4: a handler that says it recovered turns the failure into success.
  let recovered = false;
  let handlerFailed = false;
  for (let h = plan.mainCount; h < plan.steps.length; h++) {
    const step = wf.steps[h]!;
    if (step.state === S.FAILED) handlerFailed = true;
    const out = step.output;
    if (step.state === S.SUCCEEDED && out !== null && typeof out === "object" && !Array.isArray(out) && out.recovered === true) recovered = true;
  }
  if (recovered && !handlerFailed) setWorkflow(state, fx, W.SUCCEEDED, now);
  else setWorkflow(state, fx, W.FAILED, now, state.failure);
}
