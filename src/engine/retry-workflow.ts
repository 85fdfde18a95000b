// Partial recovery: RetryWorkflow (docs/semantics.md X1-X5). The same
// workflow runs again: what failed, was skipped or cancelled, and all that
// lies downstream of it, goes back to PENDING with a fresh retry budget;
// what succeeded upstream keeps its output. The derived counters are then
// rebuilt from the record, as for a workflow loaded from a store.
import type { Effects } from "./contract.js";
import { rebuild, type EngineState } from "./engine-state.js";
import type { InputOf, WorkflowHandler } from "./handler.js";
import { activate, decide, skipRecord } from "./readiness.js";
import { setStep, setWorkflow } from "./records.js";
import { StepState as S, WorkflowState as W } from "./states.js";
import { armWorkflowTimeout } from "./timers.js";

/** `retryWorkflow`: only a FAILED or CANCELLED workflow can be retried; anything else is an error of the caller (X4). */
export const retryWorkflow: WorkflowHandler<InputOf<"retryWorkflow">> = {
  workflow: [W.FAILED, W.CANCELLED],
  refused(state) {
    throw new Error(`illegal workflow transition ${W[state.record.state]} -> RUNNING: only a FAILED or CANCELLED workflow can be retried`);
  },
  apply(state, fx, _input, now) {
    const wf = state.record;
    const { plan } = state;
    const reset = new Uint8Array(plan.steps.length);
    const queue: number[] = [];
    for (let i = 0; i < plan.mainCount; i++) {
      const st = wf.steps[i]!.state;
      if (st === S.FAILED || st === S.SKIPPED || st === S.CANCELLED) {
        reset[i] = 1;
        queue.push(i);
      }
    }
    for (let head = 0; head < queue.length; head++) {
      for (const c of plan.children[queue[head]!]!) {
        if (!reset[c]) {
          reset[c] = 1;
          queue.push(c);
        }
      }
    }
    // X5: every on_failure step is reset too.
    for (let h = plan.mainCount; h < plan.steps.length; h++) reset[h] = 1;
    setWorkflow(state, fx, W.RUNNING, now);
    delete wf.finishedAt;
    delete wf.error;
    for (let i = 0; i < plan.steps.length; i++) {
      if (!reset[i]) continue;
      const step = wf.steps[i]!;
      if (step.instances) {
        // X2: an expansion is kept when the step's inputs are (all its
        // dependencies kept); otherwise for_each is evaluated again.
        const keep = plan.parents[i]!.every((p) => !reset[p]);
        for (let k = 0; k < step.instances.count; k++) {
          const r = step.instances.first + k;
          const inst = wf.steps[r]!;
          if (!keep) {
            inst.superseded = true;
            fx.changed.add(r);
          } else if (inst.state !== S.SUCCEEDED) {
            resetRecord(state, fx, r, now);
          }
        }
        if (!keep) delete step.instances;
      }
      if (step.state !== S.PENDING) resetRecord(state, fx, i, now);
    }
    rebuild(state);
    armWorkflowTimeout(state, fx);
    for (let i = 0; i < plan.mainCount; i++) {
      const step = wf.steps[i]!;
      // A step decided by an earlier one in this loop (skipped, say) is no longer PENDING.
      if (!reset[i] || step.state !== S.PENDING || step.nextRetryAt !== undefined) continue;
      const d = plan.parents[i]!.length === 0 ? "run" : decide(state, i);
      if (d === "run") activate(state, fx, i, now);
      else if (d !== "wait") skipRecord(state, fx, i, d, now);
    }
  },
};

function resetRecord(state: EngineState, fx: Effects, i: number, now: number): void {
  const step = state.record.steps[i]!;
  delete step.output;
  delete step.error;
  delete step.nextRetryAt;
  delete step.finishedAt;
  // X3: a fresh retry budget; the attempt history stays.
  step.tries = 0;
  setStep(state, fx, i, S.PENDING, now);
}
