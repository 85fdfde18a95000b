// Making attempts: a new attempt on a record, the command that runs it (a
// job or a child workflow), and the input it runs with.
import type { JsonMap, JsonValue } from "../common/json.js";
import type { StepDefinition } from "../workflow/definition.js";
import type { Command, Effects, ExtraInput } from "./contract.js";
import { staticOf, type EngineState } from "./engine-state.js";
import { setStep } from "./records.js";
import { StepState as S } from "./states.js";

export function attemptIdFor(workflowId: string, stepId: string, attempt: number, instance?: number): string {
  // Brackets cannot appear in step ids, so an instance's ids never collide with a step's.
  return instance === undefined ? `${workflowId}.${stepId}.${attempt}` : `${workflowId}.${stepId}[${instance}].${attempt}`;
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

/** The extra input keys of a record: an instance's item and index (F3), an on_failure step's failure (H2). */
export function extraInputFor(state: EngineState, i: number): ExtraInput | undefined {
  const step = state.record.steps[i]!;
  const s = staticOf(state, i);
  let extra: ExtraInput | undefined;
  if (step.instance !== undefined) extra = { item: step.item ?? null, index: step.instance };
  if (s >= state.plan.mainCount && state.failureInfo) extra = { ...extra, failure: state.failureInfo };
  return extra;
}

/** Opens a new attempt on a record and asks for it to run (a job, or a child workflow). */
export function makeReady(state: EngineState, fx: Effects, i: number, now: number): void {
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
