// The dashboard's view of a workflow: a WatchWorkflow snapshot with each
// event applied to it, as the CLI's follow does, plus small formatting helpers.
import { timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { StepState, WorkflowState, type Plain, type Step as StepMessage, type Workflow as WorkflowMessage, type WorkflowEvent as WorkflowEventMessage } from "horus-client-web";

/** As the client returns them: inputs and outputs are plain JSON. */
export type Step = Plain<StepMessage>;
export type Workflow = Plain<WorkflowMessage>;
export type WorkflowEvent = Plain<WorkflowEventMessage>;

export const stepStateName = (s: StepState): string => StepState[s] ?? "UNSPECIFIED";
export const workflowStateName = (s: WorkflowState): string => WorkflowState[s] ?? "UNSPECIFIED";

export const isTerminalWorkflow = (s: WorkflowState): boolean =>
  s === WorkflowState.SUCCEEDED || s === WorkflowState.FAILED || s === WorkflowState.CANCELLED;

export const ms = (t: Timestamp | undefined): number | undefined => (t ? timestampMs(t) : undefined);

/** A step record's key: its id, or "id#n" for instance n of a for_each step. */
export const stepKey = (s: { id?: string; stepId?: string; instance?: number }): string =>
  (s.id ?? s.stepId ?? "") + (s.instance === undefined ? "" : `#${s.instance}`);

/** 1.2s, 340ms, 3m05s. */
export function formatDuration(millis: number): string {
  if (millis < 1000) return `${Math.round(millis)}ms`;
  if (millis < 60_000) return `${(millis / 1000).toFixed(1)}s`;
  const m = Math.floor(millis / 60_000);
  const s = Math.floor((millis % 60_000) / 1000);
  if (m < 60) return `${m}m${String(s).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

export function elapsed(from: Timestamp | undefined, to: Timestamp | undefined, now = Date.now()): string {
  const a = ms(from);
  if (a === undefined) return "";
  return formatDuration(Math.max(0, (ms(to) ?? now) - a));
}

/** Step records by key, for applying events. */
export function indexSteps(wf: Workflow): Map<string, Step> {
  return new Map(wf.steps.map((s) => [stepKey(s), s]));
}

/**
 * Applies one event to the workflow. Returns the key of the step it changed,
 * "" for a workflow change, or undefined when the step is not known yet (a
 * for_each step expanded: the caller reloads the workflow).
 */
export function applyEvent(wf: Workflow, steps: Map<string, Step>, ev: WorkflowEvent): string | undefined {
  if (ev.kind.case === "workflow") {
    wf.state = ev.kind.value.state;
    wf.error = ev.kind.value.error;
    if (wf.state === WorkflowState.RUNNING) {
      wf.startedAt ??= ev.time;
      wf.finishedAt = undefined;
    }
    if (isTerminalWorkflow(wf.state)) wf.finishedAt = ev.time;
    return "";
  }
  if (ev.kind.case !== "step") return "";
  const change = ev.kind.value;
  const key = stepKey(change);
  const step = steps.get(key);
  if (!step) return undefined;
  const was = step.state;
  step.state = change.state;
  step.attempts = change.attempt;
  if (change.supervisor) step.supervisor = change.supervisor;
  if (change.output !== undefined) step.output = change.output;
  step.error = change.error;
  step.waitingReason = change.waitingReason;
  if (change.state === StepState.READY && was !== StepState.READY) step.readyAt = ev.time;
  if (change.state === StepState.PENDING) {
    step.startedAt = undefined;
    step.finishedAt = undefined;
  }
  if (change.state === StepState.RUNNING && was !== StepState.RUNNING) step.startedAt = ev.time;
  if (change.state >= StepState.SUCCEEDED) step.finishedAt = ev.time;
  return key;
}

export function counts(wf: Workflow): { done: number; failed: number; running: number; total: number } {
  let done = 0;
  let failed = 0;
  let running = 0;
  let total = 0;
  for (const s of wf.steps) {
    // for_each instances are counted in their step.
    if (s.instance !== undefined) continue;
    total++;
    if (s.state === StepState.SUCCEEDED || s.state === StepState.SKIPPED) done++;
    else if (s.state === StepState.FAILED || s.state === StepState.CANCELLED) failed++;
    else if (s.state === StepState.RUNNING || s.state === StepState.DISPATCHED) running++;
  }
  return { done, failed, running, total };
}
