// The dashboard: a live list of workflows (list.ts) and, for the one
// chosen, its DAG drawn live (WatchWorkflow, resumed from cursors by the web
// client's helper), the selected step's attempts, output, error and logs
// (GetWorkflowLogs with follow), its timeline, inputs, output and
// definition, and Cancel / Retry. Workflow data arrives by server
// streaming; nothing on the workflows page polls. Other pages (supervisors,
// templates) are registered with pages.ts. Served by the coordinator at /,
// so it calls the same origin (no CORS needed).
import { ConnectError } from "@connectrpc/connect";
import {
  createCoordinatorClient,
  LogStream,
  StepState,
  watchWorkflow,
  WorkflowState,
  type LogLine,
} from "horus-client-web";
import { drawDag, type Dag } from "./dag.js";
import { definitionYaml } from "./definition.js";
import { $, el, link, tr } from "./dom.js";
import { nextFrame } from "./frame.js";
import { followList, renderListSoon, setUpList } from "./list.js";
import { type Step, type Workflow, applyEvent, counts, elapsed, formatDuration, indexSteps, isTerminalWorkflow, ms, progressText, stepKey, stepStateName, workflowOutput, workflowStateName } from "./model.js";
import { registerPage, route as showPage } from "./pages.js";
import { supervisorsPage } from "./supervisors.js";
import { templatesPage } from "./templates.js";
import { drawTimeline, MAX_ROWS } from "./timeline.js";
import { attachZoom } from "./zoom.js";
import { mountSchedules } from "./schedules.js";

// Binary on the wire: a followed workflow's events are written directly in that format (coordinator/event-wire.ts), and both ends read it faster than JSON.
const client = createCoordinatorClient(location.origin, { useBinaryFormat: true });

/** Log lines kept on the page for the selected step (the oldest go first). */
const LOG_LINES = 5_000;

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
  /** Fan-out groups drawn expanded. */
  expanded: Set<string>;
}

let current: Current | undefined;
/** Smallest scale a workflow is first shown at to fit it whole; larger graphs start at 100%. */
const FIT_MIN = 0.6;
const zoom = attachZoom($("dag"), $("graph") as unknown as SVGSVGElement);
$("zoom-in").addEventListener("click", () => zoom.zoomTo(zoom.scale * 1.25));
$("zoom-out").addEventListener("click", () => zoom.zoomTo(zoom.scale / 1.25));
$("zoom-fit").addEventListener("click", () => zoom.fit());
$("zoom-reset").addEventListener("click", () => zoom.zoomTo(1));

// ---- tabs: graph, timeline, inputs & output, definition ---------------------

let tab = "dag";
for (const b of document.querySelectorAll<HTMLButtonElement>("#tabs button")) {
  b.addEventListener("click", () => {
    tab = b.dataset.tab!;
    for (const o of document.querySelectorAll<HTMLButtonElement>("#tabs button")) o.classList.toggle("active", o === b);
    for (const t of document.querySelectorAll<HTMLElement>("#wf-main > .tab")) t.classList.toggle("shown", t.id === tab);
    if (current) paintTab(current);
  });
}

/**
 * Draws the shown tab other than the graph (which is kept current node by
 * node). `changed`: only what events change (timeline, output), not the
 * inputs or the definition.
 */
function paintTab(c: Current, changed = false): void {
  const wf = c.wf;
  if (!wf) return;
  if (tab === "timeline") {
    const n = drawTimeline($("tl") as unknown as SVGSVGElement, wf, { width: $("timeline").clientWidth, onSelect: (key) => select(c, key) });
    $("tl-note").textContent =
      n.bars === 0
        ? "No attempt has started yet."
        : `One bar per attempt, from dispatch (light) and start to its end; hover for times, click for the step.${n.hiddenRows ? ` The first ${MAX_ROWS} steps are drawn, ${n.hiddenRows} more are not.` : ""}`;
  } else if (tab === "io") {
    if (!changed) $("wf-inputs").textContent = json(wf.inputs);
    const out = workflowOutput(wf);
    $("wf-output").textContent = out === undefined ? "(none yet)" : json(out);
  } else if (tab === "definition" && !changed) {
    $("wf-definition").textContent = wf.spec ? definitionYaml(wf.spec) : "";
  }
}

function openWorkflow(id: string): void {
  const selected = current?.id === id ? current.selected : undefined;
  current?.abort.abort();
  const expanded = current?.id === id ? current.expanded : new Set<string>();
  const c: Current = { id, steps: new Map(), abort: new AbortController(), ended: false, dirty: new Set(), queued: false, expanded, ...(selected ? { selected } : {}) };
  current = c;
  $("empty").style.display = "none";
  $("workflow").classList.add("shown");
  $("wf-id").textContent = id;
  $("wf-meta").replaceChildren();
  // "Workflows" in the navigation comes back to this one.
  document.querySelector<HTMLAnchorElement>('#nav a[data-page="wf"]')!.href = `#/wf/${id}`;
  renderListSoon();
  void watch(c);
}

async function watch(c: Current): Promise<void> {
  try {
    // Latest changes only: the page draws each step's current state, and the final read below has every time.
    for await (const msg of watchWorkflow(client, c.id, { signal: c.abort.signal, latestOnly: true })) {
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
  const first = !c.wf;
  c.wf = wf;
  c.steps = indexSteps(wf);
  $("wf-name").textContent = wf.name;
  paintMeta(wf);
  drawGraph(c);
  // A new workflow is fitted to the view when it stays readable that way
  // (at least FIT_MIN), else shown at 100% to scroll or zoom out.
  if (first) zoom.zoomTo(zoom.fitScale() >= FIT_MIN ? zoom.fitScale() : 1);
  paintHeader(c);
  paintTab(c);
  if (c.selected) void showStep(c, c.selected, false);
}

function drawGraph(c: Current): void {
  const toggle = (key: string) => {
    if (c.expanded.has(key)) c.expanded.delete(key);
    else c.expanded.add(key);
    drawGraph(c);
  };
  c.dag = drawDag($("graph") as unknown as SVGSVGElement, c.wf!, { onSelect: (key) => select(c, key), expanded: c.expanded, onToggleGroup: toggle });
  zoom.resized(c.dag.width, c.dag.height);
  $("dag-note").textContent = c.dag.hidden > 0 ? `${c.dag.drawn} of ${c.dag.drawn + c.dag.hidden} steps drawn; choose others from the timeline.` : "";
  c.dag.select(c.selected);
}

/** Where the workflow came from: its parent (a sub-workflow), template, labels. */
function paintMeta(wf: Workflow): void {
  const meta: Node[] = [];
  if (wf.parentWorkflowId) {
    const span = el("span", "sub-workflow of ");
    span.id = "wf-parent";
    span.append(link(`#/wf/${encodeURIComponent(wf.parentWorkflowId)}/${encodeURIComponent(wf.parentStepId)}`, `${wf.parentWorkflowId} (step ${wf.parentStepId})`));
    meta.push(span);
  }
  if (wf.template?.name) {
    const span = el("span", "template ");
    span.append(link(`#/templates/${encodeURIComponent(wf.template.name)}`, `${wf.template.name} v${wf.template.version}`));
    meta.push(span);
  }
  const labels = Object.entries(wf.labels).map(([k, v]) => `${k}=${v}`).join(" ");
  if (labels) meta.push(el("span", `labels ${labels}`));
  $("wf-meta").replaceChildren(...meta);
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
    const selectedChanged = c.selected !== undefined && [...c.dirty].some((k) => k === c.selected || k.split("#")[0] === c.selected);
    c.dirty.clear();
    paintHeader(c);
    paintTab(c, true);
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
  $("wf-progress").textContent = progressText(counts(wf.steps));
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

/** Instances listed open in the step panel; a larger for_each starts folded. */
const INSTANCES_OPEN = 20;

/** Renders the selected step; with `fresh`, also (re)starts following its logs. */
async function showStep(c: Current, key: string, fresh: boolean): Promise<void> {
  const step = c.steps.get(key);
  if (!step || !c.wf) return;
  // Attempt details the events do not carry (a child workflow's id, errors
  // of earlier attempts): read them when the step changes, or when the
  // history lacks them.
  const isSub = !!(c.wf.spec?.steps.find((d) => d.id === step.id)?.subWorkflow.case);
  if (!fresh || step.attemptHistory.length < step.attempts || (isSub && step.attemptHistory.some((a) => !a.childWorkflowId))) {
    const { workflow } = await client.getWorkflow({ workflowId: c.id }).catch(() => ({ workflow: undefined }));
    const again = workflow?.steps.find((s) => stepKey(s) === key);
    if (again && again.attemptHistory.length >= step.attemptHistory.length) step.attemptHistory = again.attemptHistory;
  }
  if (c !== current || c.selected !== key) return;
  const history = step.attemptHistory;
  const instances = step.instance === undefined ? c.wf.steps.filter((s) => s.id === step.id && s.instance !== undefined) : [];
  const aside = $("step");
  const dl = document.createElement("dl");
  const put = (k: string, v: string | Node) => {
    if (!v) return;
    const dd = el("dd");
    dd.id = `step-${k.replace(/[ _]/g, "-")}`;
    dd.append(v);
    dl.append(el("dt", k), dd);
  };
  put("state", stepStateName(step.state));
  put("runner", step.runner);
  put("attempts", String(step.attempts));
  put("duration", step.startedAt ? elapsed(step.startedAt, step.finishedAt) : "");
  put("waited", step.readyAt && step.startedAt ? formatDuration(Math.max(0, ms(step.startedAt)! - ms(step.readyAt)!)) : "");
  put("supervisor", step.supervisor);
  put("depends on", step.dependsOn.join(", "));
  put("instances", instances.length ? `${instances.filter((i) => i.state === StepState.SUCCEEDED).length}/${instances.length} succeeded` : "");
  put("waiting", step.waitingReason);
  const child = [...history].reverse().find((a) => a.childWorkflowId)?.childWorkflowId;
  if (child) put("sub-workflow", link(`#/wf/${encodeURIComponent(child)}`, child, "child-link"));
  if (step.instance !== undefined) put("for_each step", link(`#/wf/${encodeURIComponent(c.id)}/${encodeURIComponent(step.id)}`, step.id));

  const table = document.createElement("table");
  table.id = "attempts";
  table.append(tr("th", ["#", "state", "supervisor", "duration", "error"]));
  for (const a of history) {
    const who: string | Node = a.childWorkflowId ? link(`#/wf/${encodeURIComponent(a.childWorkflowId)}`, a.childWorkflowId, "child-link") : a.supervisor;
    const r = tr("td", [String(a.number), stepStateName(a.state), who, a.startedAt ? elapsed(a.startedAt, a.finishedAt) : "", a.error ? `${a.error.code}: ${a.error.message}` : ""]);
    r.dataset.attempt = String(a.number);
    r.dataset.state = stepStateName(a.state);
    table.append(r);
  }
  // Outputs arrive as plain JSON (the client converts); a null output is still shown.
  const output = el("pre", step.output !== undefined ? json(step.output) : "");
  output.id = "step-output";
  const error = el("pre", step.error?.code ? `${step.error.code}: ${step.error.message}` : "");
  error.id = "step-error";

  // A for_each step's instances, grouped and folded (when many) under one heading.
  const parts: Node[] = [];
  if (instances.length > 0) {
    const details = document.createElement("details");
    details.id = "instances";
    const wasOpen = document.getElementById("instances") as HTMLDetailsElement | null;
    details.open = wasOpen && !fresh ? wasOpen.open : instances.length <= INSTANCES_OPEN;
    details.append(el("summary", `${instances.length} instances`));
    const t = document.createElement("table");
    t.append(tr("th", ["#", "state", "item", "duration"]));
    for (const i of instances) {
      const r = tr("td", [String(i.instance), stepStateName(i.state), i.item === undefined ? "" : JSON.stringify(i.item).slice(0, 60), i.startedAt ? elapsed(i.startedAt, i.finishedAt) : ""]);
      r.className = "instance";
      r.dataset.instance = String(i.instance);
      r.dataset.state = stepStateName(i.state);
      r.addEventListener("click", () => select(c, stepKey(i)));
      t.append(r);
    }
    details.append(t);
    parts.push(details);
  }

  let pre = document.getElementById("step-logs");
  const keep = !fresh && pre && pre.dataset.key === key;
  if (!keep) {
    pre = el("pre");
    pre.id = "step-logs";
    pre.dataset.key = key;
  }
  aside.replaceChildren(el("h3", key), dl, ...parts, el("h4", "Output"), output, el("h4", error.textContent ? "Error" : ""), error, el("h4", "Attempts"), table, el("h4", "Logs"), pre!);
  if (!keep) followLogs(c, key, pre!);
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
  // Cancelling stops running jobs and cannot be undone (Retry starts the failed part again): ask first.
  if (!confirm(`Cancel workflow ${c.wf?.name ?? ""} (${c.id})? Its running steps are asked to stop.`)) return;
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

registerPage("wf", {
  show() {
    // #/wf/ID or #/wf/ID/STEP; anything else keeps what is open.
    const m = /^#\/wf\/([^/]+)(?:\/(.+))?$/.exec(location.hash);
    if (!m) return;
    const id = decodeURIComponent(m[1]!);
    const step = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
    if (current?.id !== id) openWorkflow(id);
    if (step && current) {
      if (current.wf) select(current, step);
      else current.selected = step;
    }
  },
});
registerPage("supervisors", supervisorsPage(client));
registerPage("templates", templatesPage(client));

const route = () => showPage(location.hash, "wf");
window.addEventListener("hashchange", route);
// Elapsed times move on between events: a clock, not a poll (no request is made).
setInterval(() => {
  if (!current?.wf || isTerminalWorkflow(current.wf.state)) return;
  paintHeader(current);
  // Running attempts' bars grow with the clock.
  if (tab === "timeline") paintTab(current, true);
}, 1_000);
setUpList(client, {
  currentId: () => current?.id,
  // The open view follows the new run once its watch ended with the old one.
  onRestarted: (id) => {
    if (current?.id === id && current.ended) openWorkflow(id);
  },
});
route();
mountSchedules(client);
void followList();
