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
  [W.FAILED]: [],
  [W.CANCELLED]: [],
};

const STEP_TRANSITIONS: Record<StepState, readonly StepState[]> = {
  [S.UNSPECIFIED]: [],
  [S.PENDING]: [S.READY, S.SKIPPED, S.CANCELLED],
  [S.READY]: [S.DISPATCHED, S.FAILED, S.SKIPPED, S.CANCELLED],
  // A job can finish before its start event is seen; a lost job goes back to READY.
  [S.DISPATCHED]: [S.RUNNING, S.SUCCEEDED, S.FAILED, S.READY, S.CANCELLED],
  [S.RUNNING]: [S.SUCCEEDED, S.FAILED, S.READY, S.CANCELLED],
  [S.SUCCEEDED]: [],
  [S.FAILED]: [],
  [S.SKIPPED]: [],
  [S.CANCELLED]: [],
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
