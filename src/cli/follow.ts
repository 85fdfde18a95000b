// Follows a workflow to its end through WatchWorkflow (or submits it and
// follows it in one RunWorkflow call): a live view on a terminal, one line
// per change otherwise. Reconnects and resumes from the last cursor when
// the stream drops after the workflow exists.
import { Code, ConnectError } from "@connectrpc/connect";
import { create, toJson } from "@bufbuild/protobuf";
import { StepSchema, WorkflowSchema, type Step, type Workflow, type WorkflowEvent } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { StepState, WorkflowState, isTerminalWorkflow, stepStateName, workflowStateName } from "../engine/states.js";
import type { CoordinatorClient } from "./client.js";
import { plainStyle, type Style } from "./colour.js";
import { displayOrder, elapsed, stepLabel, stepLine } from "./format.js";
import { OutputFormat, type SubmitWorkflowResponse } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import type { Submission } from "./submit.js";
import { counts, createPlainProgress, resultLine } from "./plain-progress.js";

export interface FollowOptions {
  /** Redraw a live view (true on a terminal) or print one line per change. */
  live: boolean;
  /** Print only the final workflow as JSON. */
  json: boolean;
  out: NodeJS.WriteStream;
  /** Colour of the text views (default none). */
  style?: Style;
}

const MAX_RECONNECTS = 30;

/** A workflow to submit and follow in one call (RunWorkflow). */
export interface RunTarget {
  submit: Submission;
  /** Told the submission's answer (id, warnings) before the view starts. */
  onSubmitted?: (res: SubmitWorkflowResponse) => void;
}

/** Follows the workflow `target` names, or submits it first (a RunTarget); the workflow as it ended. */
export async function followWorkflow(client: CoordinatorClient, target: string | RunTarget, opts: FollowOptions): Promise<Workflow> {
  let id = typeof target === "string" ? target : "";
  const run = typeof target === "string" ? undefined : target;
  let cursor = "";
  let wf: Workflow | undefined;
  const style = opts.style ?? plainStyle;
  const view = opts.json ? undefined : opts.live ? liveView(opts.out, style) : plainView(opts.out, style);
  let reconnects = 0;
  for (;;) {
    try {
      const stream =
        !id && run
          ? client.runWorkflow({ submit: run.submit, batch: true, outputs: OutputFormat.JSON })
          : client.watchWorkflow({ workflowId: id, cursor, batch: true, outputs: OutputFormat.JSON });
      for await (const msg of stream) {
        reconnects = 0;
        if (msg.kind.case === "submitted") {
          id = msg.kind.value.workflowId;
          run?.onSubmitted?.(msg.kind.value);
          continue;
        }
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
      const retriable = err instanceof ConnectError && (err.code === Code.Unavailable || err.code === Code.Internal) && id !== "";
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

/** Applies a streamed change to the workflow the view shows; an instance's change goes to that instance. */
export function applyEvent(wf: Workflow, ev: WorkflowEvent): void {
  if (ev.kind.case === "workflow") {
    wf.state = ev.kind.value.state;
    if (ev.kind.value.error) wf.error = ev.kind.value.error;
    if (isTerminalWorkflow(wf.state)) wf.finishedAt = ev.time;
    if (wf.state === WorkflowState.RUNNING) wf.startedAt = ev.time;
    return;
  }
  if (ev.kind.case !== "step") return;
  const change = ev.kind.value;
  let step = wf.steps.find((s) => s.id === change.stepId && s.instance === change.instance);
  if (!step) {
    // An instance of a for_each step that expanded after the snapshot.
    const parent = wf.steps.find((s) => s.id === change.stepId && s.instance === undefined);
    if (!parent || change.instance === undefined) return;
    step = create(StepSchema, { id: change.stepId, instance: change.instance, runner: parent.runner, dependsOn: parent.dependsOn, level: parent.level });
    wf.steps.push(step);
  }
  step.state = change.state;
  step.attempts = change.attempt;
  step.waitingReason = change.state === StepState.READY ? change.waitingReason : "";
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

function header(wf: Workflow, style: Style): string {
  const c = counts(wf);
  const total = wf.steps.length;
  const width = 24;
  const filled = Math.round(((c.done + c.failed) / Math.max(1, total)) * width);
  const bar = `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
  return `${wf.name} ${wf.id}  ${style.state(workflowStateName(wf.state))}  ${bar} ${c.done}/${total} done${c.failed ? `, ${c.failed} failed` : ""}  ${elapsed(wf.startedAt ?? wf.createdAt, wf.finishedAt)}`;
}

/** Columns `text` takes on a terminal: its length without colour codes. */
const visible = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, "").length;

/** Redraws a block of lines in place, at most ~10 times a second. */
function liveView(out: NodeJS.WriteStream, style: Style): View {
  let drawn = 0;
  let timer: NodeJS.Timeout | undefined;
  let latest: Workflow | undefined;
  const draw = () => {
    timer = undefined;
    if (!latest) return;
    const wf = latest;
    const running = wf.steps.filter((s) => s.state === StepState.RUNNING || s.state === StepState.DISPATCHED);
    const waiting = wf.steps.filter((s) => s.state === StepState.READY && s.waitingReason);
    const rows = Math.max(5, (out.rows || 24) - 4);
    const lines = [header(wf, style)];
    for (const s of running.slice(0, rows - 2)) lines.push(`  ● ${stepLabel(s.id, s.instance)}  ${style.state(stepStateName(s.state))}  ${elapsed(s.startedAt ?? s.readyAt, undefined)}`);
    if (running.length > rows - 2) lines.push(`  … and ${running.length - (rows - 2)} more running`);
    for (const s of waiting.slice(0, 3)) lines.push(`  ◌ ${stepLabel(s.id, s.instance)}  ${style.state("READY")}  ${s.waitingReason}`);
    for (const s of wf.steps.filter((x) => x.state === StepState.FAILED).slice(0, 3)) lines.push(`  ✗ ${stepLabel(s.id, s.instance)}  ${s.error?.code}: ${s.error?.message}`);
    const cols = out.columns || 120;
    // Lines are cut to the terminal's width so each takes one row (the redraw counts rows); cut ones lose their colour.
    const text = lines.map((l) => (visible(l) > cols - 1 ? l.replace(/\x1b\[[0-9;]*m/g, "").slice(0, cols - 2) + "…" : l));
    out.write(`${drawn ? `\x1b[${drawn}A` : ""}\x1b[0J${text.join("\n")}\n`);
    drawn = text.length;
  };
  const schedule = (wf: Workflow) => {
    latest = wf;
    timer ??= setTimeout(draw, 100);
  };
  // Keep elapsed times moving while nothing changes.
  const tick = setInterval(() => latest && schedule(latest), 500);
  // A failed follow (the error is printed by main) must not keep the process alive.
  tick.unref();
  return {
    snapshot: schedule,
    event: schedule,
    done(wf) {
      clearInterval(tick);
      if (timer) clearTimeout(timer);
      latest = wf;
      draw();
      out.write(`${displayOrder(wf.steps).map((s: Step) => `  ${stepLine(s, style)}`).join("\n")}\n`);
      out.write(`${resultLine(wf, style)}\n`);
    },
  };
}

function plainView(out: NodeJS.WriteStream, style: Style): View {
  const progress = createPlainProgress({ style });
  const write = (lines: string[]) => {
    if (lines.length > 0) out.write(`${lines.join("\n")}\n`);
  };
  return {
    snapshot: (wf) => write(progress.snapshot(wf)),
    event: (wf, ev) => write(progress.event(wf, ev)),
    done: (wf) => write(progress.done(wf)),
  };
}
