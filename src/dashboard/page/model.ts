// The dashboard's view of a workflow: a WatchWorkflow snapshot with each
// event applied to it, as the CLI's follow does, plus small formatting helpers.
import { timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { create } from "@bufbuild/protobuf";
import { AttemptSchema, StepState, WorkflowState, type Plain, type Step as StepMessage, type Workflow as WorkflowMessage, type WorkflowEvent as WorkflowEventMessage } from "horus-client-web";

/** As the client returns them: inputs and outputs are plain JSON. */
export type Step = Plain<StepMessage>;
export type Attempt = Step["attemptHistory"][number];
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
  applyToAttempt(step, change.attempt, change.state, change.supervisor, ev);
  return key;
}

/**
 * Keeps the step's attempt history as current as its state: a snapshot taken
 * while the attempt was READY would otherwise show it READY, with no
 * supervisor, for as long as the step runs. PENDING and READY after an
 * attempt ended are about the next attempt, which the engine opens with READY.
 */
function applyToAttempt(step: Step, number: number, state: StepState, supervisor: string, ev: WorkflowEvent): void {
  if (number <= 0 || state === StepState.PENDING) return;
  let attempt = step.attemptHistory.find((a) => a.number === number);
  if (!attempt) {
    if (state !== StepState.READY && state !== StepState.DISPATCHED && state !== StepState.RUNNING) return;
    attempt = create(AttemptSchema, { number, state }) as Attempt;
    step.attemptHistory.push(attempt);
  }
  attempt.state = state;
  if (supervisor) attempt.supervisor = supervisor;
  if (state === StepState.DISPATCHED) attempt.dispatchedAt ??= ev.time;
  if (state === StepState.RUNNING) attempt.startedAt ??= ev.time;
  if (state >= StepState.SUCCEEDED) attempt.finishedAt ??= ev.time;
  if (ev.kind.case === "step" && ev.kind.value.error) attempt.error = ev.kind.value.error;
}

/**
 * A workflow's progress, counted as WorkflowSummary counts it (src/store/summary.ts):
 * every step record, for_each instances included, and a step is done when it
 * SUCCEEDED. The list and the header both show this, so they always agree.
 */
export function counts(steps: readonly { state: StepState }[]): { succeeded: number; failed: number; running: number; total: number } {
  let succeeded = 0;
  let failed = 0;
  let running = 0;
  for (const s of steps) {
    if (s.state === StepState.SUCCEEDED) succeeded++;
    else if (s.state === StepState.FAILED) failed++;
    else if (s.state === StepState.RUNNING || s.state === StepState.DISPATCHED) running++;
  }
  return { succeeded, failed, running, total: steps.length };
}

/** "3/13 succeeded, 1 failed, 2 running": the header's and the list's words for counts(). */
export function progressText(n: { succeeded: number; failed: number; running: number; total: number }): string {
  return `${n.succeeded}/${n.total} succeeded${n.failed ? `, ${n.failed} failed` : ""}${n.running ? `, ${n.running} running` : ""}`;
}

/**
 * A workflow's output, as a sub-workflow step receives it (docs/semantics.md
 * W2): the outputs of its final steps (main steps no other step depends on),
 * by step id; undefined until one of them has an output.
 */
export function workflowOutput(wf: Workflow): Record<string, unknown> | undefined {
  const main = wf.steps.filter((s) => s.instance === undefined && !s.onFailure);
  const dependedOn = new Set(main.flatMap((s) => s.dependsOn));
  const out: Record<string, unknown> = {};
  let any = false;
  for (const s of main) {
    if (dependedOn.has(s.id)) continue;
    out[s.id] = s.output ?? null;
    if (s.output !== undefined) any = true;
  }
  return any ? out : undefined;
}