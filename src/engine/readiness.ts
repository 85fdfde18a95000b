// Readiness and triggers (docs/semantics.md T0-T9, C1-C2, F1, F7). When a
// record ends, its dependents' counters of parent outcomes are updated and
// each dependent whose trigger rule is now decided runs or is skipped, so
// readiness costs O(1) per edge (T9) and never rescans parents. Ends found
// on the way go on a work list rather than the stack, so a 10,000-step chain
// of skips cannot overflow it.
import { StepFailureCode } from "../common/failure-codes.js";
import type { TriggerRule } from "../workflow/definition.js";
import { extraInputFor, jobInput, makeReady } from "./attempts.js";
import type { Effects } from "./contract.js";
import { failureOf, failureText, outcome, type EngineState } from "./engine-state.js";
import { expand, instanceEnded, resume } from "./fan-out.js";
import type { InputOf, WorkflowHandler } from "./handler.js";
import type { StepFailure } from "./model.js";
import { setStep, setWorkflow } from "./records.js";
import { StepState as S, WorkflowState as W } from "./states.js";
import { armWorkflowTimeout } from "./timers.js";

/** `start`: the workflow runs and its roots are activated (T7). */
export const start: WorkflowHandler<InputOf<"start">> = {
  workflow: [W.PENDING],
  apply(state, fx, _input, now) {
    const wf = state.record;
    setWorkflow(state, fx, W.RUNNING, now);
    armWorkflowTimeout(state, fx);
    for (let i = 0; i < state.plan.mainCount; i++) {
      if (state.plan.parents[i]!.length === 0 && wf.steps[i]!.state === S.PENDING) activate(state, fx, i, now);
    }
  },
};

/** A record FAILED with `error`; the first main step to fail is the workflow's reported cause (H2). */
export function failRecord(state: EngineState, fx: Effects, i: number, error: StepFailure, now: number): void {
  const step = state.record.steps[i]!;
  step.error = error;
  setStep(state, fx, i, S.FAILED, now);
  if (i < state.plan.mainCount && !state.failureInfo) {
    state.failureInfo = failureOf(step);
    state.failure = failureText(state.failureInfo);
  }
  settled(state, fx, i, now);
}

export function skipRecord(state: EngineState, fx: Effects, i: number, error: StepFailure, now: number): void {
  const step = state.record.steps[i]!;
  step.error = error;
  setStep(state, fx, i, S.SKIPPED, now);
  settled(state, fx, i, now);
}

/**
 * A record reached a terminal state: update its for_each step (instances) or
 * its dependents' counters and decide those whose rule is now determined.
 * Ends found on the way are queued, not recursed into; each record is
 * queued once per end.
 */
export function settled(state: EngineState, fx: Effects, i: number, now: number): void {
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
  if (i >= state.plan.steps.length) {
    const p = wf.steps[i]!.instanceOf!;
    const ended = instanceEnded(state, fx, i, now);
    if (ended === "succeeded") settled(state, fx, p, now);
    else if (ended) failRecord(state, fx, p, ended, now);
    return;
  }
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

/**
 * T1-T5: what a step's trigger rule says given its parents' outcomes so far.
 * A decision is made only once no outcome of the remaining parents could
 * change it, so the result never depends on the order parents end in (T6).
 */
export function decide(state: EngineState, c: number, cause?: number): "run" | "wait" | StepFailure {
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

/**
 * A static step's trigger rule has become true: evaluate `when`, then expand
 * `for_each` or make an attempt (C1-C3, F1). Failures found here are the
 * step's end, not an attempt's, so no retry policy applies (R7).
 */
export function activate(state: EngineState, fx: Effects, i: number, now: number): void {
  const step = state.record.steps[i]!;
  const def = state.plan.steps[i]!;
  // X2: a for_each step RetryWorkflow left expanded resumes its instances.
  if (step.instances) {
    if (resume(state, fx, i, now)) settled(state, fx, i, now);
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
    if (expand(state, fx, i, r.value, now)) settled(state, fx, i, now);
    return;
  }
  makeReady(state, fx, i, now);
}
