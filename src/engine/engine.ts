// Scheduling as a transition function: (state, input) -> (events, commands).
// No I/O, no clocks (the caller passes `now`), no timers (the engine asks for
// one with a `wake` command and the executor feeds its input back later), no
// randomness (retry jitter is derived from the attempt id). The executor in
// src/coordinator carries out the commands and feeds results back as inputs.
//
// Cost: every operation is O(1) per step record touched plus O(children) when
// a step ends, so a whole run is O(records + edges). Readiness is decided from
// per-step counters of parent outcomes, never by rescanning parents.
//
// The rules implemented here are numbered in docs/semantics.md; comments cite
// the rows.
import type { JsonMap, JsonValue } from "../common/json.js";
import { formatDuration } from "../workflow/duration.js";
import type { StepDefinition, TriggerRule } from "../workflow/definition.js";
import type { WorkflowPlan } from "../workflow/plan.js";
import type { AttemptRecord, DomainEvent, StepFailure, StepRecord, WorkflowRecord } from "./model.js";
import { StepState as S, WorkflowState as W, type StepState, type WorkflowState, canTransitionStep, canTransitionWorkflow, isTerminalStep, isTerminalWorkflow } from "./states.js";
import { StepFailureCode, type FailureCode } from "../common/failure-codes.js";

type StepStateValue = StepState;

/** Inputs a `wake` command feeds back when its time comes. */
export type TimerInput =
  /** A retry's backoff has passed: the step gets a new attempt (R1). */
  | { type: "retryDue"; step: number; attempt: number }
  /** The attempt ran past its step's timeout (D1). */
  | { type: "attemptTimedOut"; attemptId: string }
  /** The workflow ran past its timeout; `startedAt` tells runs apart after RetryWorkflow (D2). */
  | { type: "workflowTimedOut"; startedAt: number };

export type EngineInput =
  /** Make the roots ready. */
  | { type: "start" }
  /** A supervisor accepted the attempt. */
  | { type: "accepted"; attemptId: string; supervisor: string }
  /** No supervisor can run the attempt; it failed with this error (the retry policy applies). */
  | { type: "rejected"; attemptId: string; error: StepFailure }
  | { type: "started"; attemptId: string }
  | { type: "finished"; attemptId: string; ok: true; output: JsonValue }
  | { type: "finished"; attemptId: string; ok: false; error: StepFailure }
  /** The attempt is gone (its supervisor lost it); run the step again without using up a retry (R5). */
  | { type: "lost"; attemptId: string; reason: string }
  /**
   * No supervisor knows the attempt (the pool says so after a takeover, or
   * when its supervisor no longer has it): sent again under the same id
   * while its acceptance was never recorded, else lost (R10).
   */
  | { type: "unknownAttempt"; attemptId: string; reason: string }
  /** A sub-workflow step's child workflow was created (W2). */
  | { type: "childStarted"; attemptId: string; workflowId: string }
  /** A sub-workflow step's child workflow ended (W2). */
  | { type: "childFinished"; attemptId: string; ok: true; output: JsonValue }
  | { type: "childFinished"; attemptId: string; ok: false; error: StepFailure }
  | { type: "cancel"; reason: string }
  /** The attempt waits in the coordinator for a supervisor; "" when it no longer waits for a reason. */
  | { type: "waiting"; attemptId: string; reason: string }
  /** RetryWorkflow: run the failed, skipped and cancelled steps again (X1-X3). */
  | { type: "retryWorkflow" }
  | TimerInput;

/** Extra keys of a job's `input` next to the dependency outputs. */
export interface ExtraInput {
  /** for_each instances (F3). */
  item?: JsonValue;
  index?: number;
  /** on_failure steps (H2). */
  failure?: FailureInfo;
}

/** What on_failure steps receive as input.failure (H2). */
export interface FailureInfo {
  /** The first step that failed; "" when the workflow timed out with no step failed. */
  step: string;
  code: FailureCode;
  message: string;
}

export type Command =
  /**
   * Send a job for a step record's current attempt to a supervisor. `step` is
   * the record index; `planIndex` the static step whose definition and
   * dependencies to use (they differ for for_each instances). `jobInput()`
   * builds the job's `input`.
   */
  | { type: "dispatch"; step: number; planIndex: number; attemptId: string; attempt: number; timeoutMs?: number; extraInput?: ExtraInput }
  /** Stop a job that may be running. */
  | { type: "cancelJob"; attemptId: string; supervisor?: string }
  /**
   * Start the child workflow of a sub-workflow step (`plan.steps[planIndex].workflow`),
   * with `jobInput()` as its inputs; report back with childStarted/childFinished.
   */
  | { type: "startChild"; step: number; planIndex: number; attemptId: string; attempt: number; extraInput?: ExtraInput }
  /** Cancel the child workflow started for this attempt. */
  | { type: "cancelChild"; attemptId: string; workflowId?: string }
  /** Feed `input` to the engine at time `at` (ms since the epoch), unless the workflow has ended. */
  | { type: "wake"; at: number; input: TimerInput };

export interface Effects {
  /** Changes to append to the event log, in order. */
  events: DomainEvent[];
  commands: Command[];
  /** Indexes of steps whose record changed (the delta to persist); may include new, appended indexes. */
  changed: Set<number>;
  /** True when the workflow header (state, times, error) changed. */
  workflowChanged: boolean;
}

/** Bookkeeping of one expanded for_each step. */
interface FanOut {
  /** Instance record indexes still to launch, in order, from `head`. */
  waiting: number[];
  head: number;
  /** Launched and not yet ended. */
  active: number;
  succeeded: number;
}

/** The engine's view of one workflow: its record plus derived counters. */
export interface EngineState {
  record: WorkflowRecord;
  plan: WorkflowPlan;
  /** Per static step: dependencies that have not ended. */
  remaining: Int32Array;
  /** Per static step: dependencies that succeeded. */
  parentsSucceeded: Int32Array;
  /** Per static step: dependencies that failed (FAILED, CANCELLED, or SKIPPED because of a failure: T0). */
  parentsFailed: Int32Array;
  /** Step records not yet in a terminal state (superseded instances aside). */
  unfinished: number;
  /** Of those, the main steps and their instances; on_failure steps wait for this to reach 0. */
  mainUnfinished: number;
  /** Current attempt id -> step record index. */
  byAttempt: Map<string, number>;
  /** Expanded for_each steps by static index. */
  fanOuts: Map<number, FanOut>;
  /** The first failure, which the workflow reports. */
  failure?: string;
  failureInfo?: FailureInfo;
  /** on_failure steps have been started (H1). */
  handlersStarted: boolean;
  /** Record indexes appended when the state was built; persisted with the next transition. */
  appended: number[];
  /** Work list of settled(); empty between transitions. */
  settleQueue: number[];
  settling: boolean;
}

export function attemptIdFor(workflowId: string, stepId: string, attempt: number, instance?: number): string {
  // Brackets cannot appear in step ids, so an instance's ids never collide with a step's.
  return instance === undefined ? `${workflowId}.${stepId}.${attempt}` : `${workflowId}.${stepId}[${instance}].${attempt}`;
}

/** The step records a new workflow starts with: one PENDING record per static step. */
export function initialStepRecords(plan: WorkflowPlan): StepRecord[] {
  return plan.steps.map((s) => ({ id: s.id, state: S.PENDING, attempts: [] }));
}

/** Outcome class of an ended step, as its dependents' trigger rules see it (T0). */
function outcome(step: StepRecord): "succeeded" | "failed" | "skipped" {
  if (step.state === S.SUCCEEDED) return "succeeded";
  if (step.state === S.SKIPPED && step.error?.code !== StepFailureCode.DEPENDENCY_FAILED) return "skipped";
  return "failed";
}

/** Builds the engine state for a record (new or loaded from a store) in O(records + edges). */
export function createEngineState(record: WorkflowRecord, plan: WorkflowPlan): EngineState {
  const appended: number[] = [];
  // Static records must sit at their static indexes; an instance there means
  // the record and the plan disagree, and every index after it would be wrong.
  for (let i = plan.mainCount; i < Math.min(record.steps.length, plan.steps.length); i++) {
    if (record.steps[i]!.instanceOf !== undefined || record.steps[i]!.id !== plan.steps[i]!.id) {
      throw new Error(`workflow ${record.id}: step record ${i} is not on_failure step "${plan.steps[i]!.id}"`);
    }
  }
  // A service that writes only the main steps' records (as SubmitWorkflow did
  // before on_failure existed) leaves the on_failure records to the engine.
  for (let i = record.steps.length; i < plan.steps.length; i++) {
    record.steps.push({ id: plan.steps[i]!.id, state: S.PENDING, attempts: [] });
    appended.push(i);
  }
  const n = plan.steps.length;
  const state: EngineState = {
    record,
    plan,
    remaining: new Int32Array(n),
    parentsSucceeded: new Int32Array(n),
    parentsFailed: new Int32Array(n),
    unfinished: 0,
    mainUnfinished: 0,
    byAttempt: new Map(),
    fanOuts: new Map(),
    handlersStarted: false,
    appended,
    settleQueue: [],
    settling: false,
  };
  rebuild(state);
  return state;
}

/** Recomputes every derived counter from the record. */
function rebuild(state: EngineState): void {
  const { record, plan } = state;
  const n = plan.steps.length;
  state.remaining.fill(0);
  state.parentsSucceeded.fill(0);
  state.parentsFailed.fill(0);
  state.unfinished = 0;
  state.mainUnfinished = 0;
  state.byAttempt.clear();
  state.fanOuts.clear();
  state.handlersStarted = false;
  delete state.failure;
  delete state.failureInfo;
  for (let i = 0; i < n; i++) {
    for (const p of plan.parents[i]!) {
      const parent = record.steps[p]!;
      if (!isTerminalStep(parent.state)) state.remaining[i]!++;
      else {
        const o = outcome(parent);
        if (o === "succeeded") state.parentsSucceeded[i]!++;
        else if (o === "failed") state.parentsFailed[i]!++;
      }
    }
  }
  let firstFailedAt = Infinity;
  for (let i = 0; i < record.steps.length; i++) {
    const step = record.steps[i]!;
    if (step.superseded) continue;
    const s = staticOf(state, i);
    if (!isTerminalStep(step.state)) {
      state.unfinished++;
      if (s < plan.mainCount) state.mainUnfinished++;
      const last = step.attempts[step.attempts.length - 1];
      if (last && !isTerminalStep(last.state)) state.byAttempt.set(last.attemptId, i);
    }
    if (s >= plan.mainCount && i < n && (step.state !== S.PENDING || step.nextRetryAt !== undefined)) state.handlersStarted = true;
    if (i < plan.mainCount && (step.state === S.FAILED || (step.state === S.CANCELLED && step.error?.code === StepFailureCode.DEADLINE_EXCEEDED))) {
      const at = step.finishedAt ?? 0;
      if (at < firstFailedAt) {
        firstFailedAt = at;
        state.failureInfo = failureOf(step);
      }
    }
    // Expanded and not ended; PENDING when RetryWorkflow kept its expansion (X2).
    if (i < n && step.instances && !isTerminalStep(step.state)) {
      const fan: FanOut = { waiting: [], head: 0, active: 0, succeeded: 0 };
      for (let k = 0; k < step.instances.count; k++) {
        const inst = record.steps[step.instances.first + k]!;
        if (inst.state === S.SUCCEEDED) fan.succeeded++;
        else if (inst.state === S.PENDING && inst.nextRetryAt === undefined) fan.waiting.push(step.instances.first + k);
        else if (!isTerminalStep(inst.state)) fan.active++;
      }
      state.fanOuts.set(i, fan);
    }
  }
  if (state.failureInfo) state.failure = failureText(state.failureInfo);
}

function failureOf(step: StepRecord): FailureInfo {
  if (step.state === S.CANCELLED) return { step: "", code: StepFailureCode.DEADLINE_EXCEEDED, message: step.error?.message ?? "workflow timed out" };
  return { step: step.id, code: step.error?.code ?? StepFailureCode.ERROR, message: step.error?.message ?? "" };
}

/**
 * Codes no retry policy retries: NON_RETRYABLE says so; WORKFLOW_TOO_DEEP
 * would fail the same way again, and retrying it at every level of a chain
 * would start attempts^levels children (W4).
 */
const NEVER_RETRIED: ReadonlySet<string> = new Set([StepFailureCode.NON_RETRYABLE, StepFailureCode.WORKFLOW_TOO_DEEP]);

function failureText(f: FailureInfo): string {
  return f.step ? `step "${f.step}" failed: ${f.code}: ${f.message}` : `${f.code}: ${f.message}`;
}

/** Static step index of a record: itself, or the for_each step of an instance. */
function staticOf(state: EngineState, i: number): number {
  return i < state.plan.steps.length ? i : state.record.steps[i]!.instanceOf!;
}

/**
 * The `input` map of a record's job (or a sub-workflow's inputs, or a CEL
 * expression's `input`): each dependency's output by step id (null when it
 * did not succeed), plus the command's extra keys.
 */
export function jobInput(state: EngineState, step: number, extra?: ExtraInput): JsonMap {
  const s = staticOf(state, step);
  const input: JsonMap = {};
  // A for_each instance gets its item and index only (F3): copying the
  // dependency outputs (often the very list being expanded) into every
  // instance would cost O(items x list size).
  const instance = state.record.steps[step]!.instance !== undefined;
  if (!instance) for (const p of state.plan.parents[s]!) input[state.plan.steps[p]!.id] = state.record.steps[p]!.output ?? null;
  if (extra) for (const [k, v] of Object.entries(extra)) if (v !== undefined) input[k] = v as JsonValue;
  return input;
}

/**
 * Wake commands for the timers a loaded workflow needs: retries waiting,
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

/** Applies one input; mutates `state` and returns what happened and what to do. */
export function transition(state: EngineState, input: EngineInput, now: number): Effects {
  const fx: Effects = { events: [], commands: [], changed: new Set(), workflowChanged: false };
  for (const i of state.appended) fx.changed.add(i);
  state.appended = [];
  const wf = state.record;
  switch (input.type) {
    case "start": {
      if (wf.state !== W.PENDING) break;
      setWorkflow(state, fx, W.RUNNING, now);
      armWorkflowTimeout(state, fx);
      for (let i = 0; i < state.plan.mainCount; i++) {
        if (state.plan.parents[i]!.length === 0 && wf.steps[i]!.state === S.PENDING) activate(state, fx, i, now);
      }
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
      armAttemptTimeout(state, fx, i, attempt, now);
      break;
    }
    case "childStarted": {
      const i = currentStep(state, input.attemptId);
      if (i === undefined) {
        if (wf.state === W.CANCELLED) fx.commands.push({ type: "cancelChild", attemptId: input.attemptId, workflowId: input.workflowId });
        break;
      }
      const step = wf.steps[i]!;
      if (step.state !== S.READY) break;
      const attempt = lastAttempt(step);
      attempt.childWorkflowId = input.workflowId;
      attempt.dispatchedAt = now;
      attempt.startedAt = now;
      attempt.state = S.RUNNING;
      step.startedAt ??= now;
      setStep(state, fx, i, S.DISPATCHED, now);
      setStep(state, fx, i, S.RUNNING, now);
      armAttemptTimeout(state, fx, i, attempt, now);
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
    case "finished":
    case "childFinished": {
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
        settled(state, fx, i, now);
      } else {
        attemptFailed(state, fx, i, input.error, now);
      }
      break;
    }
    case "rejected": {
      const i = currentStep(state, input.attemptId);
      if (i === undefined) break;
      attemptFailed(state, fx, i, input.error, now);
      break;
    }
    case "attemptTimedOut": {
      const i = currentStep(state, input.attemptId);
      if (i === undefined) break;
      const step = wf.steps[i]!;
      if (step.state !== S.DISPATCHED && step.state !== S.RUNNING) break;
      const attempt = lastAttempt(step);
      fx.commands.push(stopCommand(attempt));
      const limit = state.plan.steps[staticOf(state, i)]!.timeoutMs ?? 0;
      attemptFailed(state, fx, i, { code: StepFailureCode.DEADLINE_EXCEEDED, message: `the attempt ran longer than its timeout of ${formatDuration(limit)}` }, now);
      break;
    }
    case "retryDue": {
      const step = wf.steps[input.step];
      if (!step || wf.state !== W.RUNNING) break;
      // Stale timers (the step was cancelled, reset or already retried) find no match.
      if (step.state !== S.PENDING || step.nextRetryAt === undefined || step.attempts.length !== input.attempt) break;
      makeReady(state, fx, input.step, now);
      break;
    }
    case "lost": {
      const i = currentStep(state, input.attemptId);
      if (i === undefined) break;
      const step = wf.steps[i]!;
      // READY too: a copy of a dispatch whose acceptance was never recorded can be the one stopped.
      if (step.state !== S.DISPATCHED && step.state !== S.RUNNING && step.state !== S.READY) break;
      // The dispatcher may still hold the old attempt to send: it is not wanted any more.
      if (step.state === S.READY) fx.commands.push(stopCommand(lastAttempt(step)));
      // R5: not the step's fault, so `tries` is left alone.
      endAttempt(state, step, S.FAILED, now, { code: StepFailureCode.ATTEMPT_LOST, message: input.reason });
      makeReady(state, fx, i, now);
      break;
    }
    case "unknownAttempt": {
      const i = currentStep(state, input.attemptId);
      if (i === undefined) break;
      const step = wf.steps[i]!;
      // R10: never acknowledged, so nothing ran as far as the workflow
      // knows: the same attempt goes out again, under the same id.
      if (step.state === S.READY) fx.commands.push(attemptCommand(state, i));
      else if (step.state === S.DISPATCHED || step.state === S.RUNNING) {
        endAttempt(state, step, S.FAILED, now, { code: StepFailureCode.ATTEMPT_LOST, message: input.reason });
        makeReady(state, fx, i, now);
      }
      break;
    }
    case "workflowTimedOut": {
      if (wf.state !== W.RUNNING || wf.startedAt !== input.startedAt) break;
      const limit = formatDuration(wf.definition.timeoutMs ?? 0);
      const error: StepFailure = { code: StepFailureCode.DEADLINE_EXCEEDED, message: `the workflow ran longer than its timeout of ${limit}` };
      if (state.mainUnfinished === 0) {
        // D2: on_failure steps were running; they are stopped too and the workflow ends.
        cancelRecords(state, fx, now, error, () => true);
        state.failureInfo ??= { step: "", code: error.code, message: error.message };
        state.failure ??= failureText(state.failureInfo);
        setWorkflow(state, fx, W.FAILED, now, state.failure);
        break;
      }
      cancelRecords(state, fx, now, error, (i) => staticOf(state, i) < state.plan.mainCount);
      state.failureInfo ??= { step: "", code: error.code, message: error.message };
      state.failure ??= failureText(state.failureInfo);
      break;
    }
    case "cancel": {
      if (isTerminalWorkflow(wf.state)) break;
      const error: StepFailure = { code: StepFailureCode.CANCELLED, message: input.reason || "workflow cancelled" };
      cancelRecords(state, fx, now, error, () => true);
      setWorkflow(state, fx, W.CANCELLED, now, input.reason || "cancelled");
      break;
    }
    case "retryWorkflow": {
      retryWorkflow(state, fx, now);
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
  finishIfDone(state, fx, now);
  return fx;
}

function currentStep(state: EngineState, attemptId: string): number | undefined {
  return state.byAttempt.get(attemptId);
}

function lastAttempt(step: StepRecord): AttemptRecord {
  return step.attempts[step.attempts.length - 1]!;
}

function stopCommand(attempt: AttemptRecord): Command {
  if (attempt.childWorkflowId !== undefined) return { type: "cancelChild", attemptId: attempt.attemptId, workflowId: attempt.childWorkflowId };
  return { type: "cancelJob", attemptId: attempt.attemptId, ...(attempt.supervisor ? { supervisor: attempt.supervisor } : {}) };
}

function armWorkflowTimeout(state: EngineState, fx: Effects): void {
  const wf = state.record;
  if (wf.definition.timeoutMs === undefined || wf.startedAt === undefined) return;
  fx.commands.push({ type: "wake", at: wf.startedAt + wf.definition.timeoutMs, input: { type: "workflowTimedOut", startedAt: wf.startedAt } });
}

/** D1: the clock of an attempt starts when a supervisor (or the child workflow) has it. */
function armAttemptTimeout(state: EngineState, fx: Effects, i: number, attempt: AttemptRecord, now: number): void {
  const timeoutMs = state.plan.steps[staticOf(state, i)]!.timeoutMs;
  if (timeoutMs === undefined) return;
  fx.commands.push({ type: "wake", at: now + timeoutMs, input: { type: "attemptTimedOut", attemptId: attempt.attemptId } });
}

/** Closes the step's current attempt: it no longer receives job events. */
function endAttempt(state: EngineState, step: StepRecord, to: StepStateValue, now: number, error?: StepFailure): void {
  const attempt = lastAttempt(step);
  attempt.state = to;
  attempt.finishedAt = now;
  if (error) attempt.error = error;
  state.byAttempt.delete(attempt.attemptId);
}

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
function attemptFailed(state: EngineState, fx: Effects, i: number, error: StepFailure, now: number): void {
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

/**
 * A static step's trigger rule has become true: evaluate `when`, then expand
 * `for_each` or make an attempt (C1-C3, F1).
 */
function activate(state: EngineState, fx: Effects, i: number, now: number): void {
  const step = state.record.steps[i]!;
  const def = state.plan.steps[i]!;
  // X2: a for_each step RetryWorkflow left expanded resumes its instances.
  if (step.instances) {
    setStep(state, fx, i, S.RUNNING, now);
    const fan = state.fanOuts.get(i)!;
    launchInstances(state, fx, i, fan, now);
    finishFanOutIfDone(state, fx, i, fan, now);
    return;
  }
  const extra = extraInputFor(state, i);
  const when = state.plan.when[i];
  if (when) {
    const r = when({ input: jobInput(state, i, extra), inputs: state.record.inputs });
    if (!r.ok) return failRecord(state, fx, i, { code: StepFailureCode.CONDITION_ERROR, message: `when "${def.when}" could not be evaluated: ${r.message}` }, now);
    if (typeof r.value !== "boolean") return failRecord(state, fx, i, { code: StepFailureCode.CONDITION_ERROR, message: `when "${def.when}" must yield true or false, got ${JSON.stringify(r.value)}` }, now);
    if (!r.value) return skipRecord(state, fx, i, { code: StepFailureCode.CONDITION_FALSE, message: `skipped because when "${def.when}" is false` }, now);
  }
  const forEach = state.plan.forEach[i];
  if (forEach) {
    const r = forEach({ input: jobInput(state, i, extra), inputs: state.record.inputs });
    if (!r.ok) return failRecord(state, fx, i, { code: StepFailureCode.FOR_EACH_ERROR, message: `for_each "${def.forEach}" could not be evaluated: ${r.message}` }, now);
    if (!Array.isArray(r.value)) return failRecord(state, fx, i, { code: StepFailureCode.FOR_EACH_ERROR, message: `for_each "${def.forEach}" must yield a list, got ${JSON.stringify(r.value).slice(0, 200)}` }, now);
    if (r.value.length > state.plan.maxForEachItems) {
      return failRecord(state, fx, i, { code: StepFailureCode.FOR_EACH_TOO_LARGE, message: `for_each yielded ${r.value.length} items, more than the limit of ${state.plan.maxForEachItems}` }, now);
    }
    expand(state, fx, i, r.value, now);
    return;
  }
  makeReady(state, fx, i, now);
}

/** F1-F2: appends one PENDING record per item and launches up to max_parallel of them. */
function expand(state: EngineState, fx: Effects, i: number, items: JsonValue[], now: number): void {
  const wf = state.record;
  const step = wf.steps[i]!;
  const first = wf.steps.length;
  const fan: FanOut = { waiting: new Array<number>(items.length), head: 0, active: 0, succeeded: 0 };
  for (let k = 0; k < items.length; k++) {
    wf.steps.push({ id: step.id, state: S.PENDING, attempts: [], instanceOf: i, instance: k, item: items[k]! });
    fx.changed.add(first + k);
    fan.waiting[k] = first + k;
  }
  state.unfinished += items.length;
  if (i < state.plan.mainCount) state.mainUnfinished += items.length;
  step.instances = { first, count: items.length };
  state.fanOuts.set(i, fan);
  setStep(state, fx, i, S.RUNNING, now);
  step.startedAt ??= now;
  launchInstances(state, fx, i, fan, now);
  finishFanOutIfDone(state, fx, i, fan, now);
}

function launchInstances(state: EngineState, fx: Effects, i: number, fan: FanOut, now: number): void {
  const limit = state.plan.steps[i]!.maxParallel ?? Infinity;
  while (fan.head < fan.waiting.length && fan.active < limit && state.record.steps[i]!.state === S.RUNNING) {
    const r = fan.waiting[fan.head++]!;
    fan.active++;
    makeReady(state, fx, r, now);
  }
}

/** F4: the step succeeds once every instance has, with the outputs in item order (F5: also for zero items). */
function finishFanOutIfDone(state: EngineState, fx: Effects, i: number, fan: FanOut, now: number): void {
  const step = state.record.steps[i]!;
  if (step.state !== S.RUNNING || fan.succeeded !== step.instances!.count) return;
  const out: JsonValue[] = new Array(step.instances!.count);
  for (let k = 0; k < out.length; k++) out[k] = state.record.steps[step.instances!.first + k]!.output ?? null;
  step.output = out;
  setStep(state, fx, i, S.SUCCEEDED, now);
  settled(state, fx, i, now);
}

function extraInputFor(state: EngineState, i: number): ExtraInput | undefined {
  const step = state.record.steps[i]!;
  const s = staticOf(state, i);
  let extra: ExtraInput | undefined;
  if (step.instance !== undefined) extra = { item: step.item ?? null, index: step.instance };
  if (s >= state.plan.mainCount && state.failureInfo) extra = { ...extra, failure: state.failureInfo };
  return extra;
}

/** Opens a new attempt on a record and asks for it to run (a job, or a child workflow). */
function makeReady(state: EngineState, fx: Effects, i: number, now: number): void {
  const wf = state.record;
  const step = wf.steps[i]!;
  const number = step.attempts.length + 1;
  const attemptId = attemptIdFor(wf.id, step.id, number, step.instance);
  step.attempts.push({ number, attemptId, state: S.READY });
  step.readyAt = now;
  delete step.nextRetryAt;
  state.byAttempt.set(attemptId, i);
  // Already READY when the attempt replaced was never accepted (R5).
  if (step.state === S.READY) fx.changed.add(i);
  else setStep(state, fx, i, S.READY, now);
  fx.commands.push(attemptCommand(state, i));
}

/**
 * The command that runs a record's current attempt: a job, or a child
 * workflow. makeReady issues it; an executor that resumes a workflow issues
 * it again for an attempt no supervisor (or no child) is known to have.
 */
export function attemptCommand(state: EngineState, i: number): Command {
  const step = state.record.steps[i]!;
  const s = staticOf(state, i);
  const def: StepDefinition = state.plan.steps[s]!;
  const { attemptId, number } = step.attempts[step.attempts.length - 1]!;
  const extraInput = extraInputFor(state, i);
  if (def.workflow) {
    return { type: "startChild", step: i, planIndex: s, attemptId, attempt: number, ...(extraInput ? { extraInput } : {}) };
  }
  return {
    type: "dispatch",
    step: i,
    planIndex: s,
    attemptId,
    attempt: number,
    ...(def.timeoutMs !== undefined ? { timeoutMs: def.timeoutMs } : {}),
    ...(extraInput ? { extraInput } : {}),
  };
}

function failRecord(state: EngineState, fx: Effects, i: number, error: StepFailure, now: number): void {
  const step = state.record.steps[i]!;
  step.error = error;
  setStep(state, fx, i, S.FAILED, now);
  if (i < state.plan.mainCount && !state.failureInfo) {
    state.failureInfo = failureOf(step);
    state.failure = failureText(state.failureInfo);
  }
  settled(state, fx, i, now);
}

function skipRecord(state: EngineState, fx: Effects, i: number, error: StepFailure, now: number): void {
  const step = state.record.steps[i]!;
  step.error = error;
  setStep(state, fx, i, S.SKIPPED, now);
  settled(state, fx, i, now);
}

/**
 * A record reached a terminal state: update its for_each step (instances) or
 * its dependents' counters and decide those whose rule is now determined.
 * Ends found on the way are queued, not recursed into, so a chain of 10,000
 * skips cannot overflow the stack; each record is queued once per end.
 */
function settled(state: EngineState, fx: Effects, i: number, now: number): void {
  state.settleQueue.push(i);
  if (state.settling) return;
  state.settling = true;
  try {
    for (let head = 0; head < state.settleQueue.length; head++) settleOne(state, fx, state.settleQueue[head]!, now);
  } finally {
    state.settleQueue.length = 0;
    state.settling = false;
  }
}

function settleOne(state: EngineState, fx: Effects, i: number, now: number): void {
  const wf = state.record;
  if (i >= state.plan.steps.length) return instanceSettled(state, fx, i, now);
  const o = outcome(wf.steps[i]!);
  for (const c of state.plan.children[i]!) {
    state.remaining[c]!--;
    if (o === "succeeded") state.parentsSucceeded[c]!++;
    else if (o === "failed") state.parentsFailed[c]!++;
    const child = wf.steps[c]!;
    // Decided already (running, ended, or waiting for a retry).
    if (child.state !== S.PENDING || child.nextRetryAt !== undefined) continue;
    // Main steps start only while the workflow runs; on_failure steps only once started (H1).
    if (wf.state !== W.RUNNING) continue;
    if (c >= state.plan.mainCount && !state.handlersStarted) continue;
    const d = decide(state, c, i);
    if (d === "run") activate(state, fx, c, now);
    else if (d !== "wait") skipRecord(state, fx, c, d, now);
  }
}

function instanceSettled(state: EngineState, fx: Effects, i: number, now: number): void {
  const wf = state.record;
  const inst = wf.steps[i]!;
  const p = inst.instanceOf!;
  const parent = wf.steps[p]!;
  const fan = state.fanOuts.get(p);
  if (!fan) return;
  fan.active--;
  if (inst.state === S.SUCCEEDED) fan.succeeded++;
  // The step already failed (F6): this was a running instance let finish.
  if (parent.state !== S.RUNNING) return;
  if (inst.state !== S.SUCCEEDED) {
    // F6: one failed instance fails the step; instances not started are
    // skipped, running ones are let finish.
    while (fan.head < fan.waiting.length) {
      const r = fan.waiting[fan.head++]!;
      wf.steps[r]!.error = { code: StepFailureCode.DEPENDENCY_FAILED, message: `skipped because instance ${inst.instance} of step "${parent.id}" failed` };
      setStep(state, fx, r, S.SKIPPED, now);
    }
    failRecord(state, fx, p, { code: inst.error?.code ?? StepFailureCode.ERROR, message: `instance ${inst.instance} failed: ${inst.error?.message ?? ""}` }, now);
    return;
  }
  launchInstances(state, fx, p, fan, now);
  finishFanOutIfDone(state, fx, p, fan, now);
}

/**
 * T1-T5: what a step's trigger rule says given its parents' outcomes so far.
 * A decision is made only once no outcome of the remaining parents could
 * change it, so the result never depends on the order parents end in.
 */
function decide(state: EngineState, c: number, cause?: number): "run" | "wait" | StepFailure {
  const n = state.plan.parents[c]!.length;
  const succ = state.parentsSucceeded[c]!;
  const fail = state.parentsFailed[c]!;
  const done = n - state.remaining[c]!;
  const rule: TriggerRule = state.plan.steps[c]!.trigger ?? "all_success";
  const skip = (code: SkipCode): StepFailure => ({ code, message: skipMessage(state, code, rule, cause) });
  switch (rule) {
    case "all_success":
      if (succ === n) return "run";
      if (fail > 0) return skip(StepFailureCode.DEPENDENCY_FAILED);
      return done === n ? skip(StepFailureCode.DEPENDENCY_SKIPPED) : "wait";
    case "all_done":
      return done === n ? "run" : "wait";
    case "one_success":
      if (succ > 0) return "run";
      if (done < n) return "wait";
      return skip(fail > 0 ? StepFailureCode.DEPENDENCY_FAILED : StepFailureCode.DEPENDENCY_SKIPPED);
    case "one_failed":
      if (fail > 0) return "run";
      return done === n ? skip(StepFailureCode.NO_FAILURE) : "wait";
    case "none_failed":
      if (fail > 0) return skip(StepFailureCode.DEPENDENCY_FAILED);
      return done === n ? "run" : "wait";
  }
}

/** Codes of a step its trigger rule skipped (T1-T5). */
type SkipCode = typeof StepFailureCode.DEPENDENCY_FAILED | typeof StepFailureCode.DEPENDENCY_SKIPPED | typeof StepFailureCode.NO_FAILURE;

/** Names the root cause: a skip passed down a chain keeps the first step's reason. */
function skipMessage(state: EngineState, code: SkipCode, rule: TriggerRule, cause: number | undefined): string {
  if (code === StepFailureCode.NO_FAILURE) return "skipped because no dependency failed (trigger one_failed)";
  const parent = cause === undefined ? undefined : state.record.steps[cause];
  const suffix = rule === "all_success" ? "" : ` (trigger ${rule})`;
  if (parent && parent.state === S.FAILED) return `skipped because step "${parent.id}" failed${suffix}`;
  if (parent && parent.state === S.SKIPPED && parent.error?.code === code) return parent.error.message;
  if (parent && parent.state === S.SKIPPED) return `skipped because step "${parent.id}" was skipped${suffix}`;
  return code === StepFailureCode.DEPENDENCY_FAILED ? `skipped because a dependency failed${suffix}` : `skipped because no dependency succeeded${suffix}`;
}

/** Cancels every unfinished record `which` selects; running work is asked to stop. */
function cancelRecords(state: EngineState, fx: Effects, now: number, error: StepFailure, which: (i: number) => boolean): void {
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

/** H1, H3-H5 and the end of a run: called after every input. */
function finishIfDone(state: EngineState, fx: Effects, now: number): void {
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

/**
 * X1-X3: resets FAILED, SKIPPED and CANCELLED main steps and everything
 * downstream of them to PENDING (keeping attempt history and the outputs of
 * the steps that are kept), resets every on_failure step, and runs again.
 */
function retryWorkflow(state: EngineState, fx: Effects, now: number): void {
  const wf = state.record;
  const { plan } = state;
  if (wf.state !== W.FAILED && wf.state !== W.CANCELLED) {
    throw new Error(`illegal workflow transition ${W[wf.state]} -> RUNNING: only a FAILED or CANCELLED workflow can be retried`);
  }
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
}

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

function setStep(state: EngineState, fx: Effects, i: number, to: StepStateValue, now: number, silent = false): void {
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

function setWorkflow(state: EngineState, fx: Effects, to: WorkflowState, now: number, error?: string): void {
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
