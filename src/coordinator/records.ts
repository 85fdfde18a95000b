// New workflow records, for submissions and for sub-workflow children alike.
import type { JsonMap } from "../common/json.js";
import type { WorkflowRecord } from "../engine/model.js";
import { StepState, WorkflowState } from "../engine/states.js";
import type { WorkflowDefinition } from "../workflow/definition.js";
import type { WorkflowPlan } from "../workflow/plan.js";
import { newWorkflowId } from "./ids.js";

export interface NewRecordOptions {
  definition: WorkflowDefinition;
  plan: WorkflowPlan;
  inputs: JsonMap;
  now: number;
  idempotencyKey?: string;
  parent?: WorkflowRecord["parent"];
  template?: WorkflowRecord["template"];
  /** Sub-workflow levels above the new workflow (0 for a submitted one). */
  depth?: number;
}

export function newWorkflowRecord(o: NewRecordOptions): WorkflowRecord {
  return {
    id: newWorkflowId(o.now),
    name: o.definition.name,
    state: WorkflowState.PENDING,
    definition: o.definition,
    levels: o.plan.level,
    // One record per main step; the engine appends on_failure records itself.
    steps: o.definition.steps.map((s) => ({ id: s.id, state: StepState.PENDING, attempts: [] })),
    inputs: o.inputs,
    labels: o.definition.labels,
    createdAt: o.now,
    ...(o.idempotencyKey ? { idempotencyKey: o.idempotencyKey } : {}),
    ...(o.parent ? { parent: o.parent } : {}),
    ...(o.template ? { template: o.template } : {}),
    ...(o.depth ? { depth: o.depth } : {}),
  };
}
