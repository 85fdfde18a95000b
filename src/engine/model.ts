// Records the engine works on and the store keeps. Plain data, JSON-safe,
// so every store can persist them as they are.
import type { FailureCode } from "../common/failure-codes.js";
import type { JsonMap, JsonValue } from "../common/json.js";
import type { WorkflowDefinition } from "../workflow/definition.js";
import type { StepState, WorkflowState } from "./states.js";

export interface StepFailure {
  /** Machine-readable cause: a StepFailureCode, or a runner's own code (docs/failure-codes.md). */
  code: FailureCode;
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
  /** The child workflow a sub-workflow step's attempt started. */
  childWorkflowId?: string;
}

/**
 * Runtime state of one step; its definition lives in WorkflowRecord.definition.
 *
 * Records are laid out by index: first one per main step (definition.steps
 * order), then one per on_failure step (the plan's static indexes), then the
 * instances of for_each steps, appended in blocks as steps expand. Every
 * field is JSON-safe and optional fields are absent rather than undefined.
 */
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
  /** Attempts counted against the retry budget since the step was last reset; lost attempts do not count. */
  tries?: number;
  /** While a retry waits (state PENDING after a failed attempt): when the next attempt is due. */
  nextRetryAt?: number;
  /** A for_each step once expanded: its instances are the records first .. first+count-1. */
  instances?: { first: number; count: number };
  /** On an instance record: the static index of its for_each step. */
  instanceOf?: number;
  /** On an instance record: its position in the list (0-based). */
  instance?: number;
  /** On an instance record: its list item. */
  item?: JsonValue;
  /** An instance record from an expansion that RetryWorkflow replaced; ignored from then on. */
  superseded?: true;
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
  /** A sub-workflow's origin: the parent workflow, its step and the attempt that started it. */
  parent?: { workflowId: string; stepId: string; attemptId: string };
  /** The template (and version) the workflow runs, when it came from one. */
  template?: { name: string; version: number };
  /**
   * Sub-workflow levels above this one: absent (0) for a submitted workflow,
   * the parent's depth + 1 for a child. Bounds template chains at run time (W4).
   */
  depth?: number;
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
      /** Set when the change concerns one instance of a for_each step (stepId is the step's id). */
      instance?: number;
      /** Set when the step waits for a retry. */
      nextRetryAt?: number;
      /** A READY step's wait reason changed (state stays READY). */
      waitingReason?: string;
    };

/** A DomainEvent once stored: the cursor orders it within its workflow. */
export type StoredEvent = DomainEvent & { cursor: string };

/**
 * A copy of a step record that later transitions cannot change: the record
 * and its attempts are copied, while JSON values (output, item) and error
 * objects are shared, because nothing changes them in place (they are only
 * ever replaced). Profiling showed structuredClone of every changed step, in
 * the executor and again in the memory store, at ~20% of the coordinator's
 * CPU on a 2,000-step fan-out; this copy is an order of magnitude cheaper.
 */
export function copyStep(step: StepRecord): StepRecord {
  const copy = { ...step, attempts: step.attempts.slice() };
  for (let i = 0; i < copy.attempts.length; i++) copy.attempts[i] = { ...copy.attempts[i]! };
  return copy;
}

/** A copy of a workflow record on the same terms as copyStep (the definition, inputs and labels are shared). */
export function copyRecord(record: WorkflowRecord): WorkflowRecord {
  return { ...record, steps: record.steps.map(copyStep) };
}
