// The engine's view of one workflow: its record plus counters derived from
// it, so that each input costs O(records it touches) rather than a rescan.
// The counters are never stored: createEngineState rebuilds them from a
// record in O(records + edges), which is what lets any coordinator resume a
// workflow from its stored record alone.
import { StepFailureCode } from "../common/failure-codes.js";
import type { WorkflowPlan } from "../workflow/plan.js";
import type { FailureInfo } from "./contract.js";
import type { StepRecord, WorkflowRecord } from "./model.js";
import { StepState as S, isTerminalStep } from "./states.js";

/** Bookkeeping of one expanded for_each step. */
export interface FanOut {
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

/** The step records a new workflow starts with: one PENDING record per static step. */
export function initialStepRecords(plan: WorkflowPlan): StepRecord[] {
  return plan.steps.map((s) => ({ id: s.id, state: S.PENDING, attempts: [] }));
}

/** Outcome class of an ended step, as its dependents' trigger rules see it (T0). */
export function outcome(step: StepRecord): "succeeded" | "failed" | "skipped" {
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
export function rebuild(state: EngineState): void {
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

/** The failure a failed (or, by the workflow timeout, cancelled) main step reports (H2). */
export function failureOf(step: StepRecord): FailureInfo {
  if (step.state === S.CANCELLED) return { step: "", code: StepFailureCode.DEADLINE_EXCEEDED, message: step.error?.message ?? "workflow timed out" };
  return { step: step.id, code: step.error?.code ?? StepFailureCode.ERROR, message: step.error?.message ?? "" };
}

/** The workflow's error text for its first failure. */
export function failureText(f: FailureInfo): string {
  return f.step ? `step "${f.step}" failed: ${f.code}: ${f.message}` : `${f.code}: ${f.message}`;
}

/** Static step index of a record: itself, or the for_each step of an instance. */
export function staticOf(state: EngineState, i: number): number {
  return i < state.plan.steps.length ? i : state.record.steps[i]!.instanceOf!;
}
