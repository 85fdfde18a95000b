// What `horus run` and `watch` print when not on a terminal: one line per
// change. Decided from the workflow as the stream delivers it, so a snapshot
// (a workflow that ended before the watch began, or a reconnect) prints the
// step changes not printed yet instead of losing them, and nothing follows
// the workflow's end but the result line.
import type { Step, Workflow, WorkflowEvent } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import type { Value } from "@bufbuild/protobuf/wkt";
import { StepState, isTerminalWorkflow, stepStateName, workflowStateName } from "../engine/states.js";
import { formatDuration } from "../workflow/duration.js";
import { plainStyle, type Style } from "./colour.js";
import { displayOrder, elapsed, ms, outputText, stepLabel } from "./format.js";

export interface PlainProgress {
  /** The workflow as the watch's first message (or a reconnect's) has it. */
  snapshot(wf: Workflow): string[];
  /** One event, already applied to `wf`. */
  event(wf: Workflow, ev: WorkflowEvent): string[];
  /** The final workflow: its result line. */
  done(wf: Workflow): string[];
}

export interface PlainProgressOptions {
  /** The time prefix of each line (a clock in use, fixed in tests). */
  stamp?: () => string;
  style?: Style;
  /** Now, ms, for elapsed times. */
  now?: () => number;
}

interface Change {
  label: string;
  state: StepState;
  attempt: number;
  output?: Value | undefined;
  /** The output as JSON text, as a watch asked for it (OUTPUT_FORMAT_JSON). */
  outputJson: string;
  error?: { code: string; message: string } | undefined;
  waitingReason: string;
}

export function createPlainProgress(options: PlainProgressOptions = {}): PlainProgress {
  const stamp = options.stamp ?? (() => new Date().toISOString().slice(11, 23));
  const style = options.style ?? plainStyle;
  const now = options.now ?? Date.now;
  /** The last change printed per step label, so a snapshot after a reconnect repeats nothing. */
  const printed = new Map<string, string>();
  let announced = false;
  let ended = false;

  const stepChange = (wf: Workflow, c: Change): string[] => {
    const key = `${c.state}#${c.attempt}#${c.waitingReason}`;
    if (printed.get(c.label) === key) return [];
    printed.set(c.label, key);
    let detail = "";
    if (c.state === StepState.SUCCEEDED) detail = ` → ${outputText(c) ?? "null"}`;
    else if (c.error?.code) detail = `: ${c.error.code}: ${c.error.message}`;
    else if (c.state === StepState.READY && c.waitingReason) detail = `: ${c.waitingReason}`;
    const n = counts(wf);
    const took = elapsed(wf.startedAt ?? wf.createdAt, undefined, now());
    const progress = style.dim(`[${n.done}/${wf.steps.length} done, ${n.running} running${took ? `, ${took}` : ""}]`);
    return [`${stamp()} step ${c.label} ${style.state(stepStateName(c.state))}${c.attempt > 1 ? ` (attempt ${c.attempt})` : ""}${detail}  ${progress}`];
  };

  const workflowEnd = (wf: Workflow): string[] => {
    if (ended || !isTerminalWorkflow(wf.state)) return [];
    ended = true;
    return [`${stamp()} workflow ${style.state(workflowStateName(wf.state))}${wf.error ? `: ${wf.error}` : ""}`];
  };

  return {
    snapshot(wf) {
      if (ended) return [];
      const lines: string[] = [];
      if (!announced) {
        announced = true;
        lines.push(`${stamp()} workflow ${wf.name} ${wf.id} ${style.state(workflowStateName(wf.state))} (${wf.steps.length} steps)`);
      }
      for (const s of displayOrder(wf.steps)) if (s.state !== StepState.PENDING) lines.push(...stepChange(wf, fromStep(s)));
      lines.push(...workflowEnd(wf));
      return lines;
    },
    event(wf, ev) {
      if (ended) return [];
      if (ev.kind.case === "workflow") {
        if (isTerminalWorkflow(ev.kind.value.state)) return workflowEnd(wf);
        return [`${stamp()} workflow ${style.state(workflowStateName(ev.kind.value.state))}${ev.kind.value.error ? `: ${ev.kind.value.error}` : ""}`];
      }
      if (ev.kind.case !== "step") return [];
      const s = ev.kind.value;
      return stepChange(wf, { label: stepLabel(s.stepId, s.instance), state: s.state, attempt: s.attempt, output: s.output, outputJson: s.outputJson, error: s.error, waitingReason: s.waitingReason });
    },
    done(wf) {
      return [resultLine(wf, style)];
    },
  };
}

function fromStep(s: Step): Change {
  return { label: stepLabel(s.id, s.instance), state: s.state, attempt: s.attempts, output: s.output, outputJson: s.outputJson, error: s.error, waitingReason: s.waitingReason };
}

/** Steps done (succeeded or skipped), failed (or cancelled), and on their way (dispatched or running). */
export function counts(wf: Workflow): { done: number; failed: number; running: number } {
  let done = 0;
  let failed = 0;
  let running = 0;
  for (const s of wf.steps) {
    if (s.state === StepState.SUCCEEDED || s.state === StepState.SKIPPED) done++;
    else if (s.state === StepState.FAILED || s.state === StepState.CANCELLED) failed++;
    else if (s.state === StepState.RUNNING || s.state === StepState.DISPATCHED) running++;
  }
  return { done, failed, running };
}

/** The last line of a followed run: the workflow's end, how long it took, and why it failed. */
export function resultLine(wf: Workflow, style: Style = plainStyle): string {
  const start = ms(wf.startedAt ?? wf.createdAt);
  const end = ms(wf.finishedAt);
  const took = start !== undefined && end !== undefined ? formatDuration(end - start) : "";
  return `workflow ${wf.id} ${style.state(workflowStateName(wf.state))}${took ? ` in ${took}` : ""}${wf.error ? `: ${wf.error}` : ""}`;
}
