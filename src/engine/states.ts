// The one state machine. Every state change of a workflow or step goes
// through these tables; the proto enums are the vocabulary.
import { StepState, WorkflowState } from "../../gen/horus/coordinator/v1/workflow_pb.js";

export { StepState, WorkflowState };

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

/** "STEP_STATE_SUCCEEDED" -> "SUCCEEDED": the short names every surface prints. */
export function workflowStateName(s: WorkflowState): string {
  return W[s] ?? "UNSPECIFIED";
}

export function stepStateName(s: StepState): string {
  return S[s] ?? "UNSPECIFIED";
}

export function parseWorkflowState(name: string): WorkflowState | undefined {
  const key = name.toUpperCase().replace(/^WORKFLOW_STATE_/, "") as keyof typeof W;
  const v = W[key];
  return typeof v === "number" && v !== W.UNSPECIFIED ? v : undefined;
}
