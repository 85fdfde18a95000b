// Records the engine works on and the store keeps. Plain data, JSON-safe,
// so every store can persist them as they are.
import type { JsonMap, JsonValue } from "../common/json.js";
import type { WorkflowDefinition } from "../workflow/definition.js";
import type { StepState, WorkflowState } from "./states.js";

export interface StepFailure {
  /** Machine-readable cause, e.g. SCRIPT_ERROR, TIMEOUT, EXIT_CODE, DEPENDENCY_FAILED. */
  code: string;
  message: string;
}

export interface AttemptRecord {
  number: number;
  attemptId: string;
  state: StepState;
  supervisor?: string;
  dispatchedAt?: number;
  startedAt?: number;
  finishedAt?: number;
  error?: StepFailure;
}

/** Runtime state of one step; its definition lives in WorkflowRecord.definition. */
export interface StepRecord {
  id: string;
  state: StepState;
  attempts: AttemptRecord[];
  readyAt?: number;
  startedAt?: number;
  finishedAt?: number;
  supervisor?: string;
  output?: JsonValue;
  error?: StepFailure;
  /** Why a READY step is not dispatched yet (no supervisor can serve it, or all are full). */
  waitingReason?: string;
}

export interface WorkflowRecord {
  id: string;
  name: string;
  state: WorkflowState;
  definition: WorkflowDefinition;
  /** Topological level of each step, by index. */
  levels: number[];
  steps: StepRecord[];
  inputs: JsonMap;
  labels: Record<string, string>;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  error?: string;
  idempotencyKey?: string;
}

/** A change, as appended to a workflow's event log and streamed to watchers. */
export type DomainEvent =
  | { kind: "workflow"; time: number; state: WorkflowState; error?: string }
  | {
      kind: "step";
      time: number;
      stepId: string;
      state: StepState;
      attempt: number;
      supervisor?: string;
      output?: JsonValue;
      error?: StepFailure;
      /** A READY step's wait reason changed (state stays READY). */
      waitingReason?: string;
    };

/** A DomainEvent once stored: the cursor orders it within its workflow. */
export type StoredEvent = DomainEvent & { cursor: string };
