// Plain-text rendering shared by the CLI commands.
import type { Timestamp, Value } from "@bufbuild/protobuf/wkt";
import type { Step, Workflow, WorkflowSummary } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { fromValue, tsMs } from "../common/json.js";
import { StepState, stepStateName, workflowStateName } from "../engine/states.js";
import { formatDuration } from "../workflow/duration.js";
import { plainStyle, type Style } from "./colour.js";

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
export function outputText(s: { output?: Value | undefined; outputJson: string }, max = 200): string | undefined {
  if (s.outputJson) return s.outputJson.length > max ? `${s.outputJson.slice(0, max - 1)}…` : s.outputJson;
  return s.output ? compactJson(fromValue(s.output), max) : undefined;
}

/** A step's name in output: its id, and `[n]` for instance n of a for_each step, e.g. `square[3]`. */
export function stepLabel(id: string, instance: number | undefined): string {
  return instance === undefined ? id : `${id}[${instance}]`;
}

/** Steps in reading order: each for_each step followed by its instances (records keep instances last). */
export function displayOrder<T extends { id: string; instance?: number | undefined }>(steps: readonly T[]): T[] {
  const instances = new Map<string, T[]>();
  for (const s of steps) if (s.instance !== undefined) instances.set(s.id, [...(instances.get(s.id) ?? []), s]);
  const out: T[] = [];
  for (const s of steps) {
    if (s.instance !== undefined) continue;
    out.push(s, ...(instances.get(s.id) ?? []).sort((a, b) => a.instance! - b.instance!));
    instances.delete(s.id);
  }
  for (const rest of instances.values()) out.push(...rest);
  return out;
}

/** `text` padded to `width` columns, then styled (padding outside the escape codes keeps columns aligned). */
function padStyled(text: string, width: number, paint: (t: string) => string): string {
  return paint(text) + " ".repeat(Math.max(0, width - text.length));
}

export function stepLine(s: Step, style: Style = plainStyle): string {
  const parts = [`${stepLabel(s.id, s.instance).padEnd(16)} ${padStyled(stepStateName(s.state), 10, style.state)}`];
  if (s.attempts > 1) parts.push(`attempts=${s.attempts}`);
  const d = elapsed(s.startedAt ?? s.readyAt, s.finishedAt);
  if (d) parts.push(d);
  if (s.error && s.error.code) parts.push(`${s.error.code}: ${s.error.message}`);
  else if (outputText(s) !== undefined) parts.push(`→ ${outputText(s, 120)!}`);
  else if (s.state === StepState.READY && s.waitingReason) parts.push(s.waitingReason);
  return parts.join("  ");
}

export function workflowText(wf: Workflow, style: Style = plainStyle): string {
  const lines = [
    `${wf.name} (${wf.id})`,
    `state: ${style.state(workflowStateName(wf.state))}${wf.error ? ` — ${wf.error}` : ""}`,
    `elapsed: ${elapsed(wf.startedAt ?? wf.createdAt, wf.finishedAt) || "-"}`,
    `steps:`,
    ...displayOrder(wf.steps).map((s) => `  ${stepLine(s, style)}`),
  ];
  return lines.join("\n");
}

export function summaryLine(w: WorkflowSummary, style: Style = plainStyle): string {
  const created = ms(w.createdAt);
  const when = created ? new Date(created).toISOString().replace("T", " ").slice(0, 19) : "";
  return `${w.id}  ${padStyled(workflowStateName(w.state), 9, style.state)}  ${`${w.stepsSucceeded}/${w.stepsTotal}`.padStart(9)}  ${when}  ${w.name}`;
}
