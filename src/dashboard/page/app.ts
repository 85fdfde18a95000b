// The dashboard: a live list of workflows (WatchWorkflows) and, for the one
// chosen, its DAG drawn live (WatchWorkflow, resumed from cursors by the web
// client's helper), the selected step's attempts, output, error and logs
// (GetWorkflowLogs with follow), and Cancel / Retry. Everything arrives by
// server streaming; nothing polls. Served by the coordinator at /, so it
// calls the same origin (no CORS needed).
import { ConnectError } from "@connectrpc/connect";
import {
  createCoordinatorClient,
  LogStream,
  StepState,
  watchWorkflow,
  WorkflowState,
  type LogLine,
  type WorkflowSummary,
} from "horus-client-web";
import { drawDag, type Dag } from "./dag.js";
import { mountSchedules } from "./schedules.js";
import { type Step, type Workflow, applyEvent, counts, elapsed, formatDuration, indexSteps, isTerminalWorkflow, ms, stepKey, stepStateName, workflowStateName } from "./model.js";

const client = createCoordinatorClient(location.origin);
const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

/** Rows kept in the list; the newest first. */
const LIST_ROWS = 200;
/** Log lines kept on the page for the selected step (the oldest go first). */
const LOG_LINES = 5_000;

/**
 * Runs `fn` on the next animation frame, or after 100 ms if no frame comes:
 * browsers stop animation frames for pages they do not draw (a background
 * tab, a busy headless one), and the page must stay current anyway.
 */
function nextFrame(fn: () => void): void {
  let done = false;
  const run = () => {
    if (done) return;
    done = true;
    fn();
  };
  requestAnimationFrame(run);
  setTimeout(run, 100);
}

// ---- the workflow list ------------------------------------------------------

const summaries = new Map<string, WorkflowSummary>();
let listQueued = false;

function renderListSoon(): void {
  if (listQueued) return;
  listQueued = true;
  nextFrame(() => {
    listQueued = false;
    renderList();
  });
}

function renderList(): void {
  const rows = [...summaries.values()].sort((a, b) => (ms(b.createdAt) ?? 0) - (ms(a.createdAt) ?? 0) || b.id.localeCompare(a.id)).slice(0, LIST_ROWS);
  const list = $("list");
  list.replaceChildren(
    ...rows.map((w) => {
      const li = document.createElement("li");
      li.dataset.id = w.id;
      li.dataset.state = workflowStateName(w.state);
      if (w.id === current?.id) li.classList.add("current");
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.dataset.state = workflowStateName(w.state);
      badge.textContent = workflowStateName(w.state);
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = w.name;
      const progress = document.createElement("span");
      progress.className = "progress";
      progress.textContent = `${w.stepsSucceeded}/${w.stepsTotal}`;
      const id = document.createElement("span");
      id.className = "id";
      id.textContent = w.id;
      const when = document.createElement("span");
      when.className = "when";
      const created = ms(w.createdAt);
      when.textContent = created ? new Date(created).toLocaleString() : "";
      li.append(badge, name, progress, id, when);
      li.addEventListener("click", () => (location.hash = `#/wf/${w.id}`));
      return li;
    }),
  );
}

/** Follows WatchWorkflows for as long as the page is open, reconnecting when the stream breaks. */
async function followList(): Promise<void> {
  for (let delay = 500; ; delay = Math.min(delay * 2, 10_000)) {
    try {
      for await (const msg of client.watchWorkflows({ pageSize: LIST_ROWS, follow: true })) {
        $("conn").textContent = "live";
        delay = 500;
        if (msg.snapshot) summaries.clear();
        for (const w of msg.workflows) {
          const before = summaries.get(w.id);
          summaries.set(w.id, w);
          // Retried elsewhere (CLI, another page): the open view follows it again.
          if (current?.id === w.id && before && isTerminalWorkflow(before.state) && !isTerminalWorkflow(w.state) && current.ended) openWorkflow(w.id);
        }
        renderListSoon();
      }
    } catch (err) {
      $("conn").textContent = `reconnecting: ${ConnectError.from(err).rawMessage}`;
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}

// ---- one workflow -----------------------------------------------------------

interface Current {
  id: string;
  wf?: Workflow;
  steps: Map<string, Step>;
  dag?: Dag;
  abort: AbortController;
  /** The watch ended with the workflow. */
  ended: boolean;
  selected?: string;
  dirty: Set<string>;
  queued: boolean;
}

let current: Current | undefined;

function openWorkflow(id: string): void {
  const selected = current?.id === id ? current.selected : undefined;
  current?.abort.abort();
  const c: Current = { id, steps: new Map(), abort: new AbortController(), ended: false, dirty: new Set(), queued: false, ...(selected ? { selected } : {}) };
  current = c;
  $("empty").style.display = "none";
  $("workflow").classList.add("shown");
  $("wf-id").textContent = id;
  renderListSoon();
  void watch(c);
}

async function watch(c: Current): Promise<void> {
  try {
    for await (const msg of watchWorkflow(client, c.id, { signal: c.abort.signal })) {
      if (c !== current) return;
      if (msg.kind.case === "snapshot") {
        load(c, msg.kind.value);
      } else if (msg.kind.case === "event" && c.wf) {
        const key = applyEvent(c.wf, c.steps, msg.kind.value);
        if (key === undefined) await reload(c);
        else {
          c.dirty.add(key);
          paintSoon(c);
        }
      }
    }
    c.ended = true;
    // The stream carries changes; the final read has every detail (attempts, times).
    if (c === current) await reload(c);
  } catch (err) {
    if (c === current && !c.abort.signal.aborted) $("wf-error").textContent = ConnectError.from(err).rawMessage;
  }
}

/** Reads the whole workflow again (a for_each step expanded, or the final details) and redraws. */
async function reload(c: Current): Promise<void> {
  const { workflow } = await client.getWorkflow({ workflowId: c.id });
  if (workflow && c === current) load(c, workflow);
}

function load(c: Current, wf: Workflow): void {
  c.wf = wf;
  c.steps = indexSteps(wf);
  $("wf-name").textContent = wf.name;
  c.dag = drawDag($("graph") as unknown as SVGSVGElement, wf, { onSelect: (key) => select(c, key) });
  $("dag-note").textContent = c.dag.hidden > 0 ? `${c.dag.drawn} of ${c.dag.drawn + c.dag.hidden} steps drawn; choose others from the list below.` : "";
  c.dag.select(c.selected);
  paintHeader(c);
  if (c.selected) void showStep(c, c.selected, false);
}

function paintSoon(c: Current): void {
  if (c.queued) return;
  c.queued = true;
  // Many events a second repaint once per frame.
  nextFrame(() => {
    c.queued = false;
    if (c !== current || !c.wf) return;
    for (const key of c.dirty) {
      if (key === "") continue;
      const step = c.steps.get(key);
      if (step) c.dag?.update(step);
    }
    const selectedChanged = c.selected !== undefined && [...c.dirty].some((k) => k.split("#")[0] === c.selected);
    c.dirty.clear();
    paintHeader(c);
    if (selectedChanged) void showStep(c, c.selected!, false);
  });
}

function paintHeader(c: Current): void {
  const wf = c.wf;
  if (!wf) return;
  const state = workflowStateName(wf.state);
  const badge = $("wf-state");
  badge.textContent = state;
  badge.dataset.state = state;
  const n = counts(wf);
  $("wf-progress").textContent = `${n.done}/${n.total} done${n.failed ? `, ${n.failed} failed` : ""}${n.running ? `, ${n.running} running` : ""}`;
  $("wf-elapsed").textContent = elapsed(wf.startedAt ?? wf.createdAt, wf.finishedAt);
  $("wf-error").textContent = wf.error;
  $<HTMLButtonElement>("cancel").disabled = isTerminalWorkflow(wf.state);
  $<HTMLButtonElement>("retry").disabled = wf.state !== WorkflowState.FAILED && wf.state !== WorkflowState.CANCELLED;
}

// ---- the selected step ------------------------------------------------------

let logs: { key: string; abort: AbortController } | undefined;

function select(c: Current, key: string): void {
  c.selected = key;
  c.dag?.select(key);
  void showStep(c, key, true);
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

function el(tag: string, text?: string, cls?: string): HTMLElement {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

/** Renders the selected step; with `fresh`, also (re)starts following its logs. */
async function showStep(c: Current, key: string, fresh: boolean): Promise<void> {
  const step = c.steps.get(key);
  if (!step || !c.wf) return;
  // Attempt history is not in the events: read it when the step changes.
  let history = step.attemptHistory;
  if (!fresh || history.length < step.attempts) {
    const { workflow } = await client.getWorkflow({ workflowId: c.id }).catch(() => ({ workflow: undefined }));
    const again = workflow?.steps.find((s) => stepKey(s) === key);
    if (again) history = again.attemptHistory;
  }
  if (c !== current || c.selected !== key) return;
  const instances = c.wf.steps.filter((s) => s.id === step.id && s.instance !== undefined);
  const aside = $("step");
  const dl = document.createElement("dl");
  const row = (k: string, v: string) => v && dl.append(el("dt", k), el("dd", v));
  row("state", stepStateName(step.state));
  row("runner", step.runner);
  row("attempts", String(step.attempts));
  row("duration", step.startedAt ? elapsed(step.startedAt, step.finishedAt) : "");
  row("waited", step.readyAt && step.startedAt ? formatDuration(Math.max(0, ms(step.startedAt)! - ms(step.readyAt)!)) : "");
  row("supervisor", step.supervisor);
  row("depends on", step.dependsOn.join(", "));
  row("instances", instances.length ? `${instances.filter((i) => i.state === StepState.SUCCEEDED).length}/${instances.length} succeeded` : "");
  row("waiting", step.waitingReason);

  const table = document.createElement("table");
  table.append(tr("th", ["#", "state", "supervisor", "duration", "error"]));
  for (const a of history) {
    table.append(tr("td", [String(a.number), stepStateName(a.state), a.supervisor, a.startedAt ? elapsed(a.startedAt, a.finishedAt) : "", a.error ? `${a.error.code}: ${a.error.message}` : ""]));
  }
  // Outputs arrive as plain JSON (the client converts); a null output is still shown.
  const output = el("pre", step.output !== undefined ? json(step.output) : "");
  output.id = "step-output";
  const error = el("pre", step.error?.code ? `${step.error.code}: ${step.error.message}` : "");
  error.id = "step-error";

  let pre = document.getElementById("step-logs");
  const keep = !fresh && pre && pre.dataset.key === key;
  if (!keep) {
    pre = el("pre");
    pre.id = "step-logs";
    pre.dataset.key = key;
  }
  aside.replaceChildren(el("h3", key), dl, el("h4", "Output"), output, el("h4", error.textContent ? "Error" : ""), error, el("h4", "Attempts"), table, el("h4", "Logs"), pre!);
  if (!keep) followLogs(c, key, pre!);
}

function tr(cell: "td" | "th", values: string[]): HTMLTableRowElement {
  const row = document.createElement("tr");
  for (const v of values) row.append(el(cell, v));
  return row;
}

/** Streams the step's log lines into `pre` until another step is chosen (or the workflow ends). */
function followLogs(c: Current, key: string, pre: HTMLElement): void {
  logs?.abort.abort();
  const abort = new AbortController();
  logs = { key, abort };
  // An instance's lines are logged under its for_each step's id.
  const stepId = key.split("#")[0]!;
  void (async () => {
    try {
      for await (const res of client.getWorkflowLogs({ workflowId: c.id, stepId, follow: true }, { signal: abort.signal })) {
        const frag = document.createDocumentFragment();
        for (const line of res.lines) frag.append(logLine(line));
        pre.append(frag);
        while (pre.childElementCount > LOG_LINES) pre.firstElementChild!.remove();
        pre.scrollTop = pre.scrollHeight;
      }
      if (pre.childElementCount === 0) pre.textContent = "(no log lines)";
    } catch (err) {
      if (!abort.signal.aborted) pre.append(el("div", `logs: ${ConnectError.from(err).rawMessage}`, "system"));
    }
  })();
}

function logLine(line: LogLine): HTMLElement {
  const t = ms(line.time);
  const stamp = t ? new Date(t).toISOString().slice(11, 23) : "";
  const stream = line.stream === LogStream.STDERR ? "stderr" : line.stream === LogStream.SYSTEM ? "system" : "stdout";
  return el("div", `${stamp} [${line.attempt}] ${line.line}`, stream);
}

// ---- actions ----------------------------------------------------------------

$("cancel").addEventListener("click", async () => {
  const c = current;
  if (!c) return;
  $<HTMLButtonElement>("cancel").disabled = true;
  try {
    await client.cancelWorkflow({ workflowId: c.id, reason: "cancelled from the dashboard" });
  } catch (err) {
    $("wf-error").textContent = ConnectError.from(err).rawMessage;
  }
});

$("retry").addEventListener("click", async () => {
  const c = current;
  if (!c) return;
  $<HTMLButtonElement>("retry").disabled = true;
  try {
    await client.retryWorkflow({ workflowId: c.id });
    // The watch ended with the workflow: follow the new run.
    openWorkflow(c.id);
  } catch (err) {
    $("wf-error").textContent = ConnectError.from(err).rawMessage;
  }
});

$("submit").addEventListener("click", async () => {
  const yaml = $<HTMLTextAreaElement>("yaml").value;
  $("submit-error").textContent = "";
  try {
    const res = await client.submitWorkflow({ definition: { case: "yaml", value: yaml } });
    location.hash = `#/wf/${res.workflowId}`;
  } catch (err) {
    $("submit-error").textContent = ConnectError.from(err).rawMessage;
  }
});

// ---- routing and the clock --------------------------------------------------

function route(): void {
  const m = /^#\/wf\/([^/]+)(?:\/(.+))?$/.exec(location.hash);
  if (!m) return;
  const [, id, step] = m;
  if (current?.id !== id) openWorkflow(decodeURIComponent(id!));
  if (step && current) current.selected = decodeURIComponent(step);
}

window.addEventListener("hashchange", route);
// Elapsed times move on between events: a clock, not a poll (no request is made).
setInterval(() => {
  if (current?.wf && !isTerminalWorkflow(current.wf.state)) paintHeader(current);
}, 1_000);
route();
mountSchedules(client);
void followList();
