// Follows a workflow to its end through WatchWorkflow: a live view on a
// terminal, one line per change otherwise. Reconnects and resumes from the
// last cursor when the stream drops.
import { Code, ConnectError } from "@connectrpc/connect";
import { toJson } from "@bufbuild/protobuf";
import { WorkflowSchema, type Step, type Workflow, type WorkflowEvent } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { StepState, WorkflowState, isTerminalWorkflow, stepStateName, workflowStateName } from "../engine/states.js";
import { formatDuration } from "../workflow/duration.js";
import type { CoordinatorClient } from "./client.js";
import { elapsed, ms, outputText, stepLine } from "./format.js";
import { OutputFormat } from "../../gen/horus/coordinator/v1/coordinator_pb.js";

export interface FollowOptions {
  /** Redraw a live view (true on a terminal) or print one line per change. */
  live: boolean;
  /** Print only the final workflow as JSON. */
  json: boolean;
  out: NodeJS.WriteStream;
}

const MAX_RECONNECTS = 30;

export async function followWorkflow(client: CoordinatorClient, id: string, opts: FollowOptions): Promise<Workflow> {
  let cursor = "";
  let wf: Workflow | undefined;
  const view = opts.json ? undefined : opts.live ? liveView(opts.out) : plainView(opts.out);
  let reconnects = 0;
  for (;;) {
    try {
      for await (const msg of client.watchWorkflow({ workflowId: id, cursor, batch: true, outputs: OutputFormat.JSON })) {
        reconnects = 0;
        cursor = msg.cursor;
        if (msg.kind.case === "snapshot") {
          wf = msg.kind.value;
          view?.snapshot(wf);
          continue;
        }
        const events = msg.kind.case === "events" ? msg.kind.value.events : msg.kind.case === "event" ? [msg.kind.value] : [];
        if (!wf) continue;
        for (const ev of events) {
          applyEvent(wf, ev);
          view?.event(wf, ev);
        }
      }
      if (wf && isTerminalWorkflow(wf.state)) break;
    } catch (err) {
      const retriable = err instanceof ConnectError && (err.code === Code.Unavailable || err.code === Code.Internal) && wf !== undefined;
      if (!retriable || ++reconnects > MAX_RECONNECTS) throw err;
      await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** reconnects)));
    }
  }
  // The stream carries changes; the final read has every detail (attempts, times).
  const final = (await client.getWorkflow({ workflowId: id })).workflow ?? wf!;
  view?.done(final);
  if (opts.json) opts.out.write(`${JSON.stringify(toJson(WorkflowSchema, final), null, 2)}\n`);
  return final;
}

function applyEvent(wf: Workflow, ev: WorkflowEvent): void {
  if (ev.kind.case === "workflow") {
    wf.state = ev.kind.value.state;
    if (ev.kind.value.error) wf.error = ev.kind.value.error;
    if (isTerminalWorkflow(wf.state)) wf.finishedAt = ev.time;
    if (wf.state === WorkflowState.RUNNING) wf.startedAt = ev.time;
    return;
  }
  if (ev.kind.case !== "step") return;
  const change = ev.kind.value;
  const step = wf.steps.find((s) => s.id === change.stepId);
  if (!step) return;
  step.state = change.state;
  step.attempts = change.attempt;
  if (change.supervisor) step.supervisor = change.supervisor;
  if (change.outputJson) step.outputJson = change.outputJson;
  if (change.error) step.error = change.error;
  if (change.state === StepState.READY) step.readyAt = ev.time;
  if (change.state === StepState.RUNNING) step.startedAt ??= ev.time;
  if (change.state >= StepState.SUCCEEDED) step.finishedAt = ev.time;
}

interface View {
  snapshot(wf: Workflow): void;
  event(wf: Workflow, ev: WorkflowEvent): void;
  done(wf: Workflow): void;
}

function counts(wf: Workflow) {
  let done = 0;
  let failed = 0;
  const running: Step[] = [];
  for (const s of wf.steps) {
    if (s.state === StepState.SUCCEEDED || s.state === StepState.SKIPPED) done++;
    else if (s.state === StepState.FAILED || s.state === StepState.CANCELLED) failed++;
    else if (s.state === StepState.RUNNING || s.state === StepState.DISPATCHED) running.push(s);
  }
  return { done, failed, running };
}

function header(wf: Workflow): string {
  const c = counts(wf);
  const total = wf.steps.length;
  const width = 24;
  const filled = Math.round(((c.done + c.failed) / Math.max(1, total)) * width);
  const bar = `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
  return `${wf.name} ${wf.id}  ${workflowStateName(wf.state)}  ${bar} ${c.done}/${total} done${c.failed ? `, ${c.failed} failed` : ""}  ${elapsed(wf.startedAt ?? wf.createdAt, wf.finishedAt)}`;
}

/** Redraws a block of lines in place, at most ~10 times a second. */
function liveView(out: NodeJS.WriteStream): View {
  let drawn = 0;
  let timer: NodeJS.Timeout | undefined;
  let latest: Workflow | undefined;
  const draw = () => {
    timer = undefined;
    if (!latest) return;
    const wf = latest;
    const c = counts(wf);
    const rows = Math.max(5, (out.rows || 24) - 4);
    const lines = [header(wf)];
    for (const s of c.running.slice(0, rows - 2)) lines.push(`  ● ${s.id}  ${stepStateName(s.state)}  ${elapsed(s.startedAt ?? s.readyAt, undefined)}`);
    if (c.running.length > rows - 2) lines.push(`  … and ${c.running.length - (rows - 2)} more running`);
    for (const s of wf.steps.filter((x) => x.state === StepState.FAILED).slice(0, 3)) lines.push(`  ✗ ${s.id}  ${s.error?.code}: ${s.error?.message}`);
    const cols = out.columns || 120;
    const text = lines.map((l) => (l.length > cols - 1 ? l.slice(0, cols - 2) + "…" : l));
    out.write(`${drawn ? `\x1b[${drawn}A` : ""}\x1b[0J${text.join("\n")}\n`);
    drawn = text.length;
  };
  const schedule = (wf: Workflow) => {
    latest = wf;
    timer ??= setTimeout(draw, 100);
  };
  // Keep elapsed times moving while nothing changes.
  const tick = setInterval(() => latest && schedule(latest), 500);
  return {
    snapshot: schedule,
    event: schedule,
    done(wf) {
      clearInterval(tick);
      if (timer) clearTimeout(timer);
      latest = wf;
      draw();
      out.write(`${wf.steps.map((s) => `  ${stepLine(s)}`).join("\n")}\n`);
      out.write(`${resultLine(wf)}\n`);
    },
  };
}

function plainView(out: NodeJS.WriteStream): View {
  const stamp = () => new Date().toISOString().slice(11, 23);
  return {
    snapshot(wf) {
      out.write(`${stamp()} workflow ${wf.name} ${wf.id} ${workflowStateName(wf.state)} (${wf.steps.length} steps)\n`);
    },
    event(wf, ev) {
      if (ev.kind.case === "workflow") {
        out.write(`${stamp()} workflow ${workflowStateName(ev.kind.value.state)}${ev.kind.value.error ? `: ${ev.kind.value.error}` : ""}\n`);
      } else if (ev.kind.case === "step") {
        const s = ev.kind.value;
        let detail = "";
        if (s.state === StepState.SUCCEEDED) detail = ` → ${outputText(s) ?? "null"}`;
        else if (s.error?.code) detail = `: ${s.error.code}: ${s.error.message}`;
        const c = counts(wf);
        const took = elapsed(wf.startedAt ?? wf.createdAt, undefined);
        out.write(`${stamp()} step ${s.stepId} ${stepStateName(s.state)}${s.attempt > 1 ? ` (attempt ${s.attempt})` : ""}${detail}  [${c.done}/${wf.steps.length} done, ${c.running.length} running${took ? `, ${took}` : ""}]\n`);
      }
    },
    done(wf) {
      out.write(`${resultLine(wf)}\n`);
    },
  };
}

function resultLine(wf: Workflow): string {
  const took = ms(wf.finishedAt) !== undefined && ms(wf.startedAt ?? wf.createdAt) !== undefined ? formatDuration(ms(wf.finishedAt)! - ms(wf.startedAt ?? wf.createdAt)!) : "";
  return `workflow ${wf.id} ${workflowStateName(wf.state)}${took ? ` in ${took}` : ""}${wf.error ? `: ${wf.error}` : ""}`;
}
