// How an input is handled: one handler per input type (transitions.ts maps
// them), each declaring once the states it applies from, and one guard that
// applies those declarations. An input that arrives in any other state is
// late or repeated (a result after a cancel, a timer after a retry, a second
// copy of an event) and is ignored, unless its handler says what to do with
// it. Where a handler then moves a record, setStep/setWorkflow still check
// the move against the tables of states.ts: the sources here say when an
// input means something, the tables what a record may become.
import type { Effects, EngineInput } from "./contract.js";
import type { EngineState } from "./engine-state.js";
import { StepState as S, type StepState, type WorkflowState } from "./states.js";

/**
 * The states in which a step has a current attempt (byAttempt holds it):
 * made ready, taken by a supervisor or a child workflow, running.
 */
export const WITH_ATTEMPT: readonly StepState[] = [S.READY, S.DISPATCHED, S.RUNNING];

/** An input about the workflow as a whole. */
export interface WorkflowHandler<I extends EngineInput> {
  /** The workflow states the input applies in. */
  readonly workflow: readonly WorkflowState[];
  /** What the input does in any other state; absent: nothing. */
  refused?(state: EngineState, fx: Effects, input: I, now: number): void;
  apply(state: EngineState, fx: Effects, input: I, now: number): void;
}

/** An input about one step record: an event of its current attempt, or a timer of the step. */
export interface StepHandler<I extends EngineInput> {
  /** The workflow states the input applies in; absent: any (having the record is enough). */
  readonly workflow?: readonly WorkflowState[];
  /** The record the input is about; undefined when there is none (its attempt ended or was replaced). */
  target(state: EngineState, input: I): number | undefined;
  /** The record states the input applies from. */
  readonly step: readonly StepState[];
  /** What the input does when it has no record; absent: nothing. */
  orphaned?(state: EngineState, fx: Effects, input: I, now: number): void;
  apply(state: EngineState, fx: Effects, input: I, i: number, now: number): void;
}

export type Handler<I extends EngineInput> = WorkflowHandler<I> | StepHandler<I>;

/** The input of one type. */
export type InputOf<K extends EngineInput["type"]> = Extract<EngineInput, { type: K }>;

/** Every input type to its handler: the compiler demands exactly one for each. */
export type Handlers = { [K in EngineInput["type"]]: Handler<InputOf<K>> };

/** The target of an attempt's events: the record whose current attempt it is. */
export function attemptRecord(state: EngineState, input: { attemptId: string }): number | undefined {
  return state.byAttempt.get(input.attemptId);
}

/** The one guard: applies `input` only in the states its handler declares. */
export function guarded<I extends EngineInput>(h: Handler<I>, state: EngineState, fx: Effects, input: I, now: number): void {
  const wf = state.record;
  if ("target" in h) {
    if (h.workflow && !h.workflow.includes(wf.state)) return;
    const i = h.target(state, input);
    if (i === undefined) return h.orphaned?.(state, fx, input, now);
    if (!h.step.includes(wf.steps[i]!.state)) return;
    return h.apply(state, fx, input, i, now);
  }
  if (!h.workflow.includes(wf.state)) return h.refused?.(state, fx, input, now);
  h.apply(state, fx, input, now);
}
