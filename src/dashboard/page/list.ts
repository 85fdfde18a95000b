// The workflow list: the newest workflows, live (WatchWorkflows), filtered
// (list-filter.ts; state and name also through ListWorkflows), with
// sub-workflows folded under their parent.
import { ConnectError } from "@connectrpc/connect";
import { WorkflowState, type CoordinatorClient, type WorkflowSummary } from "horus-client-web";
import { $, el } from "./dom.js";
import { nextFrame } from "./frame.js";
import { descendants, groupByParent, isFiltered, matches, type ListEntry, type ListFilter, type ListRow } from "./list-filter.js";
import { isTerminalWorkflow, ms, progressText, workflowStateName } from "./model.js";

/** Rows kept in the list; the newest first. */
const LIST_ROWS = 200;

export interface ListHooks {
  /** The workflow open on the page, marked in the list. */
  currentId(): string | undefined;
  /** A workflow that had ended runs again (RetryWorkflow from the CLI, another page). */
  onRestarted(id: string): void;
}

let client: CoordinatorClient;
let hooks: ListHooks;

/** Wires the filters; call once, before followList. */
export function setUpList(c: CoordinatorClient, h: ListHooks): void {
  client = c;
  hooks = h;
  let filterTimer: ReturnType<typeof setTimeout> | undefined;
  for (const id of ["f-text", "f-state", "f-labels", "f-after", "f-before"]) {
    $(id).addEventListener("input", () => {
      renderList();
      clearTimeout(filterTimer);
      filterTimer = setTimeout(() => void queryServer(), 250);
    });
  }
}

const summaries = new Map<string, WorkflowSummary & ListRow>();
let listQueued = false;

export function renderListSoon(): void {
  if (listQueued) return;
  listQueued = true;
  nextFrame(() => {
    listQueued = false;
    renderList();
  });
}

type Row = WorkflowSummary & ListRow;

function toRow(w: WorkflowSummary): Row {
  return Object.assign(w, { created: ms(w.createdAt) ?? 0 });
}

/** Parents whose sub-workflows are shown (the rest are folded under a toggle). */
const unfolded = new Set<string>();

function readFilter(): ListFilter {
  const state = $<HTMLSelectElement>("f-state").value;
  const time = (id: string) => {
    const v = $<HTMLInputElement>(id).value;
    return v ? new Date(v).getTime() : undefined;
  };
  const after = time("f-after");
  const before = time("f-before");
  return {
    text: $<HTMLInputElement>("f-text").value,
    labels: $<HTMLInputElement>("f-labels").value,
    ...(state ? { state: WorkflowState[state as keyof typeof WorkflowState] } : {}),
    ...(after !== undefined ? { after } : {}),
    ...(before !== undefined ? { before } : {}),
  };
}

function renderList(): void {
  const filter = readFilter();
  const all = [...summaries.values()].sort((a, b) => b.created - a.created || b.id.localeCompare(a.id));
  const rows = all.filter((w) => matches(w, filter)).slice(0, LIST_ROWS);
  $("list-note").textContent = isFiltered(filter) ? `${rows.length} matching workflow${rows.length === 1 ? "" : "s"}` : "";
  $("list").replaceChildren(...groupByParent(rows).map(listItem));
}

function listItem(entry: ListEntry<Row>): HTMLLIElement {
  const w = entry.row;
  const li = document.createElement("li");
  li.dataset.id = w.id;
  li.dataset.state = workflowStateName(w.state);
  if (w.parentWorkflowId) li.dataset.parent = w.parentWorkflowId;
  if (w.id === hooks.currentId()) li.classList.add("current");
  const badge = el("span", workflowStateName(w.state), "badge");
  badge.dataset.state = workflowStateName(w.state);
  const progress = el("span", `${w.stepsSucceeded}/${w.stepsTotal}`, "progress");
  progress.title = progressText({ succeeded: w.stepsSucceeded, failed: w.stepsFailed, running: w.stepsRunning, total: w.stepsTotal });
  const created = w.created;
  li.append(badge, el("span", w.name, "name"), progress, el("span", w.id, "id"), el("span", created ? new Date(created).toLocaleString() : "", "when"));
  const labels = Object.entries(w.labels).map(([k, v]) => `${k}=${v}`).join(" ");
  if (labels) li.append(el("span", labels, "labels"));
  // A child whose parent is not in the list says whose it is.
  if (w.parentWorkflowId && !summaries.has(w.parentWorkflowId)) li.append(el("span", `sub-workflow of ${w.parentWorkflowId}`, "labels parent-mark"));
  li.addEventListener("click", (e) => {
    e.stopPropagation();
    location.hash = `#/wf/${w.id}`;
  });
  if (entry.children.length > 0) {
    const n = descendants(entry);
    const open = unfolded.has(w.id);
    const toggle = el("button", `${open ? "▾" : "▸"} ${n} sub-workflow${n === 1 ? "" : "s"}`, "toggle") as HTMLButtonElement;
    toggle.addEventListener("click", (e) => {
      e.stopPropagation();
      if (unfolded.has(w.id)) unfolded.delete(w.id);
      else unfolded.add(w.id);
      renderList();
    });
    const ul = document.createElement("ul");
    ul.className = "children";
    ul.hidden = !open;
    ul.append(...entry.children.map(listItem));
    li.append(toggle, ul);
  }
  return li;
}

/**
 * The server's filters (ListWorkflows: state, exact name) for what the live
 * list may not hold: older workflows that match are added to it. The rest
 * of the filter applies to every row here (list-filter.ts).
 */
let serverQuery = "";
async function queryServer(): Promise<void> {
  const f = readFilter();
  const name = f.text.trim();
  if (f.state === undefined && !name) return;
  const key = `${f.state ?? ""}|${name}`;
  if (key === serverQuery) return;
  serverQuery = key;
  try {
    const asks = [];
    if (f.state !== undefined) asks.push(client.listWorkflows({ states: [f.state], pageSize: LIST_ROWS }));
    if (name) asks.push(client.listWorkflows({ name, pageSize: LIST_ROWS, states: f.state !== undefined ? [f.state] : [] }));
    for (const res of await Promise.all(asks)) for (const w of res.workflows) if (!summaries.has(w.id)) summaries.set(w.id, toRow(w));
    renderListSoon();
  } catch (err) {
    $("list-note").textContent = ConnectError.from(err).rawMessage;
  }
}

/** Follows WatchWorkflows for as long as the page is open, reconnecting when the stream breaks. */
export async function followList(): Promise<void> {
  for (let delay = 500; ; delay = Math.min(delay * 2, 10_000)) {
    try {
      for await (const msg of client.watchWorkflows({ pageSize: LIST_ROWS, follow: true })) {
        $("conn").textContent = "live";
        delay = 500;
        if (msg.snapshot) {
          summaries.clear();
          serverQuery = "";
          void queryServer();
        }
        for (const w of msg.workflows) {
          const before = summaries.get(w.id);
          summaries.set(w.id, toRow(w));
          if (before && isTerminalWorkflow(before.state) && !isTerminalWorkflow(w.state)) hooks.onRestarted(w.id);
        }
        renderListSoon();
      }
    } catch (err) {
      $("conn").textContent = `reconnecting: ${ConnectError.from(err).rawMessage}`;
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}
