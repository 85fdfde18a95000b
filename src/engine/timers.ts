// The timers the engine asks for. It has no clock: each timer is a `wake`
// command the executor carries out, feeding the input back when its time
// comes (D1-D3). A timer that turns out stale is ignored by its input's
// handler, so arming never needs to be undone.
import type { Command, Effects } from "./contract.js";
import { staticOf, type EngineState } from "./engine-state.js";
import type { AttemptRecord } from "./model.js";
import { StepState as S, WorkflowState as W, isTerminalStep } from "./states.js";

/** D2: the workflow's timeout, counted from the start of the current run. */
export function armWorkflowTimeout(state: EngineState, fx: Effects): void {
  const wf = state.record;
  if (wf.definition.timeoutMs === undefined || wf.startedAt === undefined) return;
  fx.commands.push({ type: "wake", at: wf.startedAt + wf.definition.timeoutMs, input: { type: "workflowTimedOut", startedAt: wf.startedAt } });
}

/** D1: the clock of an attempt starts when a supervisor (or the child workflow) has it. */
export function armAttemptTimeout(state: EngineState, fx: Effects, i: number, attempt: AttemptRecord, now: number): void {
  const timeoutMs = state.plan.steps[staticOf(state, i)]!.timeoutMs;
  if (timeoutMs === undefined) return;
  fx.commands.push({ type: "wake", at: now + timeoutMs, input: { type: "attemptTimedOut", attemptId: attempt.attemptId } });
}

/**
 * D3: wake commands for the timers a loaded workflow needs: retries waiting,
 * attempt timeouts and the workflow timeout. An executor that restarts calls
 * this once per resumed workflow; timers that turn out stale are ignored.
 */
export function pendingTimers(state: EngineState): Command[] {
  const wf = state.record;
  const out: Command[] = [];
  if (wf.state !== W.RUNNING) return out;
  if (wf.definition.timeoutMs !== undefined && wf.startedAt !== undefined) {
    out.push({ type: "wake", at: wf.startedAt + wf.definition.timeoutMs, input: { type: "workflowTimedOut", startedAt: wf.startedAt } });
  }
  for (let i = 0; i < wf.steps.length; i++) {
    const step = wf.steps[i]!;
    if (step.superseded || isTerminalStep(step.state)) continue;
    if (step.state === S.PENDING && step.nextRetryAt !== undefined) {
      out.push({ type: "wake", at: step.nextRetryAt, input: { type: "retryDue", step: i, attempt: step.attempts.length } });
      continue;
    }
    const last = step.attempts[step.attempts.length - 1];
    const timeoutMs = state.plan.steps[staticOf(state, i)]!.timeoutMs;
    if (last && !isTerminalStep(last.state) && last.dispatchedAt !== undefined && timeoutMs !== undefined) {
      out.push({ type: "wake", at: last.dispatchedAt + timeoutMs, input: { type: "attemptTimedOut", attemptId: last.attemptId } });
    }
  }
  return out;
}
