// Drives the engine from YAML definitions, for the table tests of
// docs/semantics.md.
import { expect } from "vitest";
import { createEngineState, transition, type Command, type EngineInput, type EngineState, type Effects } from "../../src/engine/engine.js";
import type { JsonMap, JsonValue } from "../../src/common/json.js";
import type { StepRecord, WorkflowRecord } from "../../src/engine/model.js";
import { StepState as S, WorkflowState as W } from "../../src/engine/states.js";
import { parseWorkflowYaml, validateAndPlan } from "../../src/workflow/index.js";
import type { WorkflowDefinition } from "../../src/workflow/definition.js";

/** A workflow from its `steps:` lines (and optional workflow-level lines), ready to start. */
export function fromYaml(steps: string, workflowLines = "", inputs: JsonMap = {}): EngineState {
  const yaml = `workflow:\n  name: t\n${workflowLines}  steps:\n${steps}`;
  const parsed = parseWorkflowYaml(yaml);
  expect(parsed.problems).toEqual([]);
  return pendingState(parsed.definition!, { inputs });
}

/** Engine state of a definition that must plan cleanly: a PENDING workflow, ready to start. */
export function pendingState(definition: WorkflowDefinition, options: { id?: string; inputs?: JsonMap } = {}): EngineState {
  const { plan, problems } = validateAndPlan(definition);
  expect(problems).toEqual([]);
  const record: WorkflowRecord = {
    id: options.id ?? "wf_1",
    name: definition.name,
    state: W.PENDING,
    definition: plan!.definition,
    levels: plan!.level,
    steps: plan!.definition.steps.map((s) => ({ id: s.id, state: S.PENDING, attempts: [] })),
    inputs: options.inputs ?? {},
    labels: {},
    createdAt: 0,
  };
  return createEngineState(record, plan!);
}

export function rec(e: EngineState, id: string, instance?: number): StepRecord {
  const r = e.record.steps.find((s) => s.id === id && s.instance === instance && !s.superseded);
  if (!r) throw new Error(`no record ${id}${instance === undefined ? "" : `[${instance}]`}`);
  return r;
}

export function state(e: EngineState, id: string, instance?: number): string {
  return S[rec(e, id, instance).state];
}

export function attemptId(e: EngineState, id: string, instance?: number): string {
  const r = rec(e, id, instance);
  return r.attempts[r.attempts.length - 1]!.attemptId;
}

export function step(e: EngineState, input: EngineInput, now = 0): Effects {
  return transition(e, input, now);
}

/** Accepts, starts and finishes the current attempt with an output. */
export function succeed(e: EngineState, id: string, output: JsonValue = id, now = 0, instance?: number): Effects {
  const a = attemptId(e, id, instance);
  transition(e, { type: "accepted", attemptId: a, supervisor: "sup" }, now);
  transition(e, { type: "started", attemptId: a }, now);
  return transition(e, { type: "finished", attemptId: a, ok: true, output }, now);
}

/** Accepts, starts and fails the current attempt. */
export function fail(e: EngineState, id: string, code = "SCRIPT_ERROR", now = 0, instance?: number): Effects {
  const a = attemptId(e, id, instance);
  transition(e, { type: "accepted", attemptId: a, supervisor: "sup" }, now);
  transition(e, { type: "started", attemptId: a }, now);
  return transition(e, { type: "finished", attemptId: a, ok: false, error: { code, message: `${id} broke` } }, now);
}

export function ofType<T extends Command["type"]>(cmds: Command[], type: T): Array<Extract<Command, { type: T }>> {
  return cmds.filter((c): c is Extract<Command, { type: T }> => c.type === type);
}

export const wfState = (e: EngineState) => W[e.record.state];
