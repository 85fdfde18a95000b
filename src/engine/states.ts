// The one state machine: the engine's own names for workflow and step
// states, and every legal transition between them. A state change of a
// record goes through setStep/setWorkflow (src/engine/records.ts), which
// check these tables; which input may start one is declared by each input's
// handler (src/engine/transitions.ts).
//
// The states are the engine's, not the generated proto enums: the engine
// imports nothing generated. They carry the proto enums' names and numbers,
// so a record is stored (the stores keep the numbers, and index by them) and
// sent (coordinator/convert.ts) as it is, with no table at the edge; and
// since TypeScript holds two enums of the same name and members to be
// compatible, code at the edge passes proto states where engine states are
// expected and back without casts. test/engine/states-wire.test.ts pins the
// names and numbers.

/** A workflow's state. `WorkflowState[s]` is its name. */
export enum WorkflowState {
  UNSPECIFIED = 0,
  /** Accepted and stored, no step made ready yet. */
  PENDING = 1,
  RUNNING = 2,
  SUCCEEDED = 3,
  /** A step failed (after its retries), or the workflow timed out or was quarantined. */
  FAILED = 4,
  CANCELLED = 5,
}

/** A step's (or an attempt's) state. `StepState[s]` is its name. */
export enum StepState {
  UNSPECIFIED = 0,
  /** Waiting for its dependencies, or for a retry (nextRetryAt set). */
  PENDING = 1,
  /** Has an attempt that no supervisor (or child workflow) has taken yet. */
  READY = 2,
  DISPATCHED = 3,
  RUNNING = 4,
  SUCCEEDED = 5,
  FAILED = 6,
  SKIPPED = 7,
  CANCELLED = 8,
}

const W = WorkflowState;
const S = StepState;

const WORKFLOW_TRANSITIONS: Record<WorkflowState, readonly WorkflowState[]> = {
  [W.UNSPECIFIED]: [],
  [W.PENDING]: [W.RUNNING, W.CANCELLED, W.FAILED],
  [W.RUNNING]: [W.SUCCEEDED, W.FAILED, W.CANCELLED],
  [W.SUCCEEDED]: [],
  // RetryWorkflow: the same workflow runs again (docs/semantics.md X1).
  [W.FAILED]: [W.RUNNING],
  [W.CANCELLED]: [W.RUNNING],
};

const STEP_TRANSITIONS: Record<StepState, readonly StepState[]> = {
  [S.UNSPECIFIED]: [],
  // RUNNING: a for_each step expanded (its instances run). FAILED: its
  // when/for_each could not be evaluated, before any attempt.
  [S.PENDING]: [S.READY, S.SKIPPED, S.CANCELLED, S.RUNNING, S.FAILED],
  // PENDING from READY, DISPATCHED or RUNNING: the attempt failed and a retry waits.
  [S.READY]: [S.DISPATCHED, S.FAILED, S.SKIPPED, S.CANCELLED, S.PENDING],
  // A job can finish before its start event is seen; a lost job goes back to READY.
  [S.DISPATCHED]: [S.RUNNING, S.SUCCEEDED, S.FAILED, S.READY, S.CANCELLED, S.PENDING],
  [S.RUNNING]: [S.SUCCEEDED, S.FAILED, S.READY, S.CANCELLED, S.PENDING],
  // Terminal states go back to PENDING only through RetryWorkflow (X1-X3).
  [S.SUCCEEDED]: [S.PENDING],
  [S.FAILED]: [S.PENDING],
  [S.SKIPPED]: [S.PENDING],
  [S.CANCELLED]: [S.PENDING],
};

export function canTransitionWorkflow(from: WorkflowState, to: WorkflowState): boolean {
  return WORKFLOW_TRANSITIONS[from].includes(to);
}

export function canTransitionStep(from: StepState, to: StepState): boolean {
  return STEP_TRANSITIONS[from].includes(to);
}

export function isTerminalWorkflow(s: WorkflowState): boolean {
  return s === W.SUCCEEDED || s === W.FAILED || s === W.CANCELLED;
}

export function isTerminalStep(s: StepState): boolean {
  return s === S.SUCCEEDED || s === S.FAILED || s === S.SKIPPED || s === S.CANCELLED;
}

/** "SUCCEEDED": the short names every surface prints. */
export function workflowStateName(s: WorkflowState): string {
  return W[s] ?? "UNSPECIFIED";
}

export function stepStateName(s: StepState): string {
  return S[s] ?? "UNSPECIFIED";
}

/** "running", "RUNNING" or "WORKFLOW_STATE_RUNNING" -> RUNNING; undefined for anything else (UNSPECIFIED included). */
export function parseWorkflowState(name: string): WorkflowState | undefined {
  const key = name.toUpperCase().replace(/^WORKFLOW_STATE_/, "") as keyof typeof W;
  const v = W[key];
  return typeof v === "number" && v !== W.UNSPECIFIED ? v : undefined;
}
