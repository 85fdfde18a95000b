// Plain-text rendering shared by the CLI commands.
import type { Timestamp, Value } from "@bufbuild/protobuf/wkt";
import type { Step, Workflow, WorkflowSummary } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { fromValue, tsMs } from "../common/json.js";
import { stepStateName, workflowStateName } from "../engine/states.js";
import { formatDuration } from "../workflow/duration.js";

export const ms = tsMs;

export function elapsed(from: Timestamp | undefined, to: Timestamp | undefined, now = Date.now()): string {
  const a = ms(from);
  if (a === undefined) return "";
  return formatDuration(Math.max(0, (ms(to) ?? now) - a));
}

export function compactJson(value: unknown, max = 200): string {
  const text = JSON.stringify(value);
  if (text === undefined) return "null";
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A step's output as compact JSON text, from whichever form it came in (Value, or JSON text from a watch); undefined without one. */
export function outputText(s: { output?: Value; outputJson: string }, max = 200): string | undefined {
  if (s.outputJson) return s.outputJson.length > max ? `${s.outputJson.slice(0, max - 1)}…` : s.outputJson;
  return s.output ? compactJson(fromValue(s.output), max) : undefined;
}

export function stepLine(s: Step): string {
  const parts = [`${s.id.padEnd(16)} ${stepStateName(s.state).padEnd(10)}`];
  if (s.attempts > 1) parts.push(`attempts=${s.attempts}`);
  const d = elapsed(s.startedAt ?? s.readyAt, s.finishedAt);
  if (d) parts.push(d);
  if (s.error && s.error.code) parts.push(`${s.error.code}: ${s.error.message}`);
  else {
    const output = outputText(s, 120);
    if (output !== undefined) parts.push(`→ ${output}`);
  }
  return parts.join("  ");
}

export function workflowText(wf: Workflow): string {
  const lines = [
    `${wf.name} (${wf.id})`,
    `state: ${workflowStateName(wf.state)}${wf.error ? ` — ${wf.error}` : ""}`,
    `elapsed: ${elapsed(wf.startedAt ?? wf.createdAt, wf.finishedAt) || "-"}`,
    `steps:`,
    ...wf.steps.map((s) => `  ${stepLine(s)}`),
  ];
  return lines.join("\n");
}

export function summaryLine(w: WorkflowSummary): string {
  const created = ms(w.createdAt);
  const when = created ? new Date(created).toISOString().replace("T", " ").slice(0, 19) : "";
  return `${w.id}  ${workflowStateName(w.state).padEnd(9)}  ${`${w.stepsSucceeded}/${w.stepsTotal}`.padStart(9)}  ${when}  ${w.name}`;
}
