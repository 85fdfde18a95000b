// Scheduling as a transition function: (state, input) -> (events, commands).
// No I/O, no clocks (the caller passes `now`), no timers: the executor in
// src/coordinator carries out the commands and feeds results back as inputs.
// Every operation is O(1) per step touched, so a whole run is
// O(steps + edges).
import type { JsonValue } from "../common/json.js";
import type { WorkflowPlan } from "../workflow/plan.js";
import type { AttemptRecord, DomainEvent, StepFailure, StepRecord, WorkflowRecord } from "./model.js";
import { StepState as S, WorkflowState as W, canTransitionStep, canTransitionWorkflow, isTerminalStep, isTerminalWorkflow } from "./states.js";

export type EngineInput =
  /** Make the roots ready. */
  | { type: "start" }
  /** A supervisor accepted the attempt. */
  | { type: "accepted"; attemptId: string; supervisor: string }
  /** No supervisor can run the attempt; the step fails with this error. */
  | { type: "rejected"; attemptId: string; error: StepFailure }
  | { type: "started"; attemptId: string }
  | { type: "finished"; attemptId: string; ok: true; output: JsonValue }
  | { type: "finished"; attemptId: string; ok: false; error: StepFailure }
  /** The attempt is gone (its supervisor lost it); run the step again. */
  | { type: "lost"; attemptId: string; reason: string }
  | { type: "cancel"; reason: string }
  /** The attempt waits in the coordinator for a supervisor; "" when it no longer waits for a reason. */
  | { type: "waiting"; attemptId: string; reason: string };

export type Command =
  /** Send a job for this step's current attempt to a supervisor. */
  | { type: "dispatch"; step: number; attemptId: string; attempt: number }
  /** Stop a job that may be running. */
  | { type: "cancelJob"; attemptId: string; supervisor?: string };

export interface Effects {
  /** Changes to append to the event log, in order. */
  events: DomainEvent[];
  commands: Command[];
  /** Indexes of steps whose record changed (the delta to persist). */
  changed: Set<number>;
  /** True when the workflow header (state, times, error) changed. */
  workflowChanged: boolean;
}

/** The engine's view of one workflow: its record plus derived counters. */
export interface EngineState {
  record: WorkflowRecord;
  plan: WorkflowPlan;
  /** Unmet dependencies per step. */
  remaining: Int32Array;
  /** Steps not yet in a terminal state. */
  unfinished: number;
  /** Current attempt id -> step index. */
  byAttempt: Map<string, number>;
  /** The first step failure, which the workflow reports. */
  failure?: string;
}

export function attemptIdFor(workflowId: string, stepId: string, attempt: number): string {
  return `${workflowId}.${stepId}.${attempt}`;
}

/** Builds the engine state for a record (new or loaded from a store). */
export function createEngineState(record: WorkflowRecord, plan: WorkflowPlan): EngineState {
  const n = record.steps.length;
  const remaining = new Int32Array(n);
  let unfinished = 0;
  const byAttempt = new Map<string, number>();
  let failure: string | undefined;
  for (let i = 0; i < n; i++) {
    const step = record.steps[i]!;
    let unmet = 0;
    for (const p of plan.parents[i]!) if (record.steps[p]!.state !== S.SUCCEEDED) unmet++;
    remaining[i] = unmet;
    if (!isTerminalStep(step.state)) unfinished++;
    const last = step.attempts[step.attempts.length - 1];
    if (last && !isTerminalStep(step.state)) byAttempt.set(last.attemptId, i);
    if (step.state === S.FAILED && failure === undefined) failure = failureText(step);
  }
  return { record, plan, remaining, unfinished, byAttempt, ...(failure !== undefined ? { failure } : {}) };
}

/** Applies one input; mutates `state` and returns what happened and what to do. */
export function transition(state: EngineState, input: EngineInput, now: number): Effects {
  const fx: Effects = { events: [], commands: [], changed: new Set(), workflowChanged: false };
  const wf = state.record;
  switch (input.type) {
    case "start": {
      if (wf.state !== W.PENDING) break;
      setWorkflow(state, fx, W.RUNNING, now);
      for (let i = 0; i < wf.steps.length; i++) {
        if (state.remaining[i] === 0 && wf.steps[i]!.state === S.PENDING) makeReady(state, fx, i, now);
      }
      finishIfDone(state, fx, now);
      break;
    }
    case "accepted": {
      const i = currentStep(state, input.attemptId);
      if (i === undefined) {
        // Accepted after the workflow was cancelled: stop the job.
        if (wf.state === W.CANCELLED) {
          fx.commands.push({ type: "cancelJob", attemptId: input.attemptId, supervisor: input.supervisor });
        }
        break;
      }
      const step = wf.steps[i]!;
      if (step.state !== S.READY) break;
      const attempt = lastAttempt(step);
      attempt.supervisor = input.supervisor;
      attempt.dispatchedAt = now;
      attempt.state = S.DISPATCHED;
      step.supervisor = input.supervisor;
      delete step.waitingReason;
      setStep(state, fx, i, S.DISPATCHED, now);
      break;
    }
    case "started": {
      const i = currentStep(state, input.attemptId);
      if (i === undefined) break;
      const step = wf.steps[i]!;
      if (step.state !== S.DISPATCHED) break;
      const attempt = lastAttempt(step);
      attempt.startedAt = now;
      attempt.state = S.RUNNING;
      step.startedAt ??= now;
      setStep(state, fx, i, S.RUNNING, now);
      break;
    }
    case "finished": {
      const i = currentStep(state, input.attemptId);
      if (i === undefined) break;
      const step = wf.steps[i]!;
      // A job may finish before its acceptance is recorded (fast runners).
      if (step.state !== S.DISPATCHED && step.state !== S.RUNNING && step.state !== S.READY) break;
      if (step.state === S.READY) setStep(state, fx, i, S.DISPATCHED, now, true);
      if (input.ok) {
        endAttempt(state, step, S.SUCCEEDED, now);
        step.output = input.output;
        setStep(state, fx, i, S.SUCCEEDED, now);
        for (const c of state.plan.children[i]!) {
          if (--state.remaining[c]! === 0 && wf.steps[c]!.state === S.PENDING && wf.state === W.RUNNING) {
            makeReady(state, fx, c, now);
          }
        }
      } else {
        endAttempt(state, step, S.FAILED, now, input.error);
        failStep(state, fx, i, input.error, now);
      }
      finishIfDone(state, fx, now);
      break;
    }
    case "rejected": {
      const i = currentStep(state, input.attemptId);
      if (i === undefined) break;
      endAttempt(state, wf.steps[i]!, S.FAILED, now, input.error);
      failStep(state, fx, i, input.error, now);
      finishIfDone(state, fx, now);
      break;
    }
    case "lost": {
      const i = currentStep(state, input.attemptId);
      if (i === undefined) break;
      const step = wf.steps[i]!;
      if (step.state !== S.DISPATCHED && step.state !== S.RUNNING) break;
      endAttempt(state, step, S.FAILED, now, { code: "ATTEMPT_LOST", message: input.reason });
      makeReady(state, fx, i, now);
      break;
    }
    case "cancel": {
      if (isTerminalWorkflow(wf.state)) break;
      const error: StepFailure = { code: "CANCELLED", message: input.reason || "workflow cancelled" };
      for (let i = 0; i < wf.steps.length; i++) {
        const step = wf.steps[i]!;
        if (isTerminalStep(step.state)) continue;
        const attempt = step.attempts[step.attempts.length - 1];
        if (attempt && !isTerminalStep(attempt.state)) {
          if (step.state !== S.PENDING) {
            fx.commands.push({ type: "cancelJob", attemptId: attempt.attemptId, ...(attempt.supervisor ? { supervisor: attempt.supervisor } : {}) });
          }
          endAttempt(state, step, S.CANCELLED, now);
        }
        step.error = error;
        setStep(state, fx, i, S.CANCELLED, now);
      }
      setWorkflow(state, fx, W.CANCELLED, now, input.reason || "cancelled");
      break;
    }
    case "waiting": {
      // Not a state change: the step stays READY, and the reason is recorded
      // and announced so a waiting step is never silent.
      const i = currentStep(state, input.attemptId);
      if (i === undefined) break;
      const step = wf.steps[i]!;
      if (step.state !== S.READY || (step.waitingReason ?? "") === input.reason) break;
      if (input.reason) step.waitingReason = input.reason;
      else delete step.waitingReason;
      fx.changed.add(i);
      fx.events.push({ kind: "step", time: now, stepId: step.id, state: S.READY, attempt: lastAttempt(step).number, waitingReason: input.reason });
      break;
    }
  }
  return fx;
}

function currentStep(state: EngineState, attemptId: string): number | undefined {
  return state.byAttempt.get(attemptId);
}

function lastAttempt(step: StepRecord): AttemptRecord {
  return step.attempts[step.attempts.length - 1]!;
}

/** Closes the step's current attempt: it no longer receives job events. */
function endAttempt(state: EngineState, step: StepRecord, to: (typeof S)[keyof typeof S], now: number, error?: StepFailure): void {
  const attempt = lastAttempt(step);
  attempt.state = to;
  attempt.finishedAt = now;
  if (error) attempt.error = error;
  state.byAttempt.delete(attempt.attemptId);
}

function makeReady(state: EngineState, fx: Effects, i: number, now: number): void {
  const wf = state.record;
  const step = wf.steps[i]!;
  const number = step.attempts.length + 1;
  const attemptId = attemptIdFor(wf.id, step.id, number);
  step.attempts.push({ number, attemptId, state: S.READY });
  step.readyAt = now;
  state.byAttempt.set(attemptId, i);
  setStep(state, fx, i, S.READY, now);
  fx.commands.push({ type: "dispatch", step: i, attemptId, attempt: number });
}

function failStep(state: EngineState, fx: Effects, i: number, error: StepFailure, now: number): void {
  const wf = state.record;
  const step = wf.steps[i]!;
  step.error = error;
  setStep(state, fx, i, S.FAILED, now);
  state.failure ??= failureText(step);
  // Everything downstream can no longer run. Each step is visited once
  // over the whole run, because a skipped step is never pending again.
  const queue = [...state.plan.children[i]!];
  for (let head = 0; head < queue.length; head++) {
    const c = queue[head]!;
    const child = wf.steps[c]!;
    if (child.state !== S.PENDING) continue;
    child.error = { code: "DEPENDENCY_FAILED", message: `skipped because step "${step.id}" failed` };
    setStep(state, fx, c, S.SKIPPED, now);
    for (const g of state.plan.children[c]!) queue.push(g);
  }
}

function failureText(step: StepRecord): string {
  return `step "${step.id}" failed: ${step.error?.code ?? "ERROR"}: ${step.error?.message ?? ""}`;
}

function finishIfDone(state: EngineState, fx: Effects, now: number): void {
  if (state.unfinished > 0 || state.record.state !== W.RUNNING) return;
  if (state.failure !== undefined) setWorkflow(state, fx, W.FAILED, now, state.failure);
  else setWorkflow(state, fx, W.SUCCEEDED, now);
}

function setStep(state: EngineState, fx: Effects, i: number, to: (typeof S)[keyof typeof S], now: number, silent = false): void {
  const step = state.record.steps[i]!;
  if (!canTransitionStep(step.state, to)) {
    throw new Error(`illegal step transition ${S[step.state]} -> ${S[to]} for step "${step.id}"`);
  }
  const wasTerminal = isTerminalStep(step.state);
  step.state = to;
  if (!wasTerminal && isTerminalStep(to)) {
    step.finishedAt = now;
    state.unfinished--;
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
    ...(step.supervisor ? { supervisor: step.supervisor } : {}),
    ...(to === S.SUCCEEDED ? { output: step.output ?? null } : {}),
    ...((to === S.FAILED || to === S.SKIPPED || to === S.CANCELLED) && step.error ? { error: step.error } : {}),
  });
}

function setWorkflow(state: EngineState, fx: Effects, to: (typeof W)[keyof typeof W], now: number, error?: string): void {
  const wf = state.record;
  if (!canTransitionWorkflow(wf.state, to)) {
    throw new Error(`illegal workflow transition ${W[wf.state]} -> ${W[to]}`);
  }
  wf.state = to;
  if (to === W.RUNNING) wf.startedAt = now;
  if (isTerminalWorkflow(to)) wf.finishedAt = now;
  if (error !== undefined) wf.error = error;
  fx.workflowChanged = true;
  fx.events.push({ kind: "workflow", time: now, state: to, ...(error !== undefined ? { error } : {}) });
}
