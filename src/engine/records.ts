// Changing a record's state. setStep and setWorkflow are the only writers of
// `state`: each checks the move against the tables of states.ts (an illegal
// one throws, which quarantines the workflow rather than storing a record
// no rule describes), keeps the unfinished counters, marks the record
// changed and appends the event watchers see.
import type { Command, Effects } from "./contract.js";
import { staticOf, type EngineState } from "./engine-state.js";
import type { AttemptRecord, StepFailure, StepRecord } from "./model.js";
import { StepState as S, WorkflowState as W, canTransitionStep, canTransitionWorkflow, isTerminalStep, isTerminalWorkflow, type StepState, type WorkflowState } from "./states.js";

export function lastAttempt(step: StepRecord): AttemptRecord {
  return step.attempts[step.attempts.length - 1]!;
}

/** The command that stops an attempt: its child workflow, or its job. */
export function stopCommand(attempt: AttemptRecord): Command {
  if (attempt.childWorkflowId !== undefined) return { type: "cancelChild", attemptId: attempt.attemptId, workflowId: attempt.childWorkflowId };
  return { type: "cancelJob", attemptId: attempt.attemptId, ...(attempt.supervisor ? { supervisor: attempt.supervisor } : {}) };
}

/** Closes the step's current attempt: it no longer receives job events. */
export function endAttempt(state: EngineState, step: StepRecord, to: StepState, now: number, error?: StepFailure): void {
  const attempt = lastAttempt(step);
  attempt.state = to;
  attempt.finishedAt = now;
  if (error) attempt.error = error;
  state.byAttempt.delete(attempt.attemptId);
}

/** Moves record `i` to `to` (the table must allow it); `silent` records the change without an event. */
export function setStep(state: EngineState, fx: Effects, i: number, to: StepState, now: number, silent = false): void {
  const step = state.record.steps[i]!;
  if (!canTransitionStep(step.state, to)) {
    const which = step.instance !== undefined ? `instance ${step.instance} of step "${step.id}"` : `step "${step.id}"`;
    throw new Error(`illegal step transition ${S[step.state]} -> ${S[to]} for ${which}`);
  }
  const wasTerminal = isTerminalStep(step.state);
  step.state = to;
  const isMain = staticOf(state, i) < state.plan.mainCount;
  if (!wasTerminal && isTerminalStep(to)) {
    step.finishedAt = now;
    state.unfinished--;
    if (isMain) state.mainUnfinished--;
  } else if (wasTerminal && !isTerminalStep(to)) {
    // Only RetryWorkflow does this, and it rebuilds the counters afterwards.
    state.unfinished++;
    if (isMain) state.mainUnfinished++;
  }
  fx.changed.add(i);
  if (silent) return;
  const attempt = step.attempts[step.attempts.length - 1];
  fx.events.push({
    kind: "step",
    time: now,
    stepId: step.id,
    state: to,
    attempt: attempt?.number ?? 0,
    ...(step.instance !== undefined ? { instance: step.instance } : {}),
    ...(step.supervisor ? { supervisor: step.supervisor } : {}),
    ...(to === S.SUCCEEDED ? { output: step.output ?? null } : {}),
    ...((to === S.FAILED || to === S.SKIPPED || to === S.CANCELLED) && step.error ? { error: step.error } : {}),
    ...(to === S.PENDING && step.nextRetryAt !== undefined ? { nextRetryAt: step.nextRetryAt, ...(attempt?.error ? { error: attempt.error } : {}) } : {}),
  });
}

/** Moves the workflow to `to` (the table must allow it), with its error when it fails or is cancelled. */
export function setWorkflow(state: EngineState, fx: Effects, to: WorkflowState, now: number, error?: string): void {
  const wf = state.record;
  if (!canTransitionWorkflow(wf.state, to)) {
    throw new Error(`illegal workflow transition ${W[wf.state]} -> ${W[to]}`);
  }
  wf.state = to;
  // After RetryWorkflow startedAt is the start of the current run (D2's clock).
  if (to === W.RUNNING) wf.startedAt = now;
  if (isTerminalWorkflow(to)) wf.finishedAt = now;
  if (error !== undefined) wf.error = error;
  fx.workflowChanged = true;
  fx.events.push({ kind: "workflow", time: now, state: to, ...(error !== undefined ? { error } : {}) });
}
