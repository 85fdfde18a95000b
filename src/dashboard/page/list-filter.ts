// The workflow list's filter and its grouping of sub-workflows under their
// parent. Pure (no DOM), so it is table-tested in test/dashboard.
//
// Where the filter runs: ListWorkflows filters by state and exact name on the
// server, and the page asks it for those (older matches than the live list
// holds appear too); labels, time and search by part of a name or id have no
// server filter, so every filter is also applied here to the rows the page has.
import { WorkflowState } from "horus-client-web";

/** What a list row needs (a WorkflowSummary has all of it). */
export interface ListRow {
  id: string;
  name: string;
  state: WorkflowState;
  /** Creation time, ms since the epoch (0 when unknown). */
  created: number;
  labels: Record<string, string>;
  /** "" for a workflow that is nobody's child. */
  parentWorkflowId: string;
}

export interface ListFilter {
  /** Only this state; all when undefined. */
  state?: WorkflowState;
  /** Part of the name or the id, any case; all when "". */
  text: string;
  /** "key=value" pairs (separated by commas or spaces) that must all be labels of the workflow; "key" alone asks for the key with any value. */
  labels: string;
  /** Created at or after this time (ms); no bound when undefined. */
  after?: number;
  /** Created before this time (ms); no bound when undefined. */
  before?: number;
}

export const NO_FILTER: ListFilter = { text: "", labels: "" };

/** "team=etl, env=prod" as pairs; a bare key has value undefined. */
export function parseLabels(text: string): Array<[string, string | undefined]> {
  return text
    .split(/[,\s]+/)
    .filter(Boolean)
    .map((pair) => {
      const at = pair.indexOf("=");
      return at < 0 ? [pair, undefined] : [pair.slice(0, at), pair.slice(at + 1)];
    });
}

export function isFiltered(f: ListFilter): boolean {
  return f.state !== undefined || f.text.trim() !== "" || f.labels.trim() !== "" || f.after !== undefined || f.before !== undefined;
}

export function matches(row: ListRow, f: ListFilter): boolean {
  if (f.state !== undefined && row.state !== f.state) return false;
  const text = f.text.trim().toLowerCase();
  if (text && !row.name.toLowerCase().includes(text) && !row.id.toLowerCase().includes(text)) return false;
  for (const [key, value] of parseLabels(f.labels)) {
    if (!(key in row.labels)) return false;
    if (value !== undefined && row.labels[key] !== value) return false;
  }
  if (f.after !== undefined && row.created < f.after) return false;
  if (f.before !== undefined && row.created >= f.before) return false;
  return true;
}

/** A top-level row with its sub-workflows (and theirs), newest first. */
export interface ListEntry<R extends ListRow> {
  row: R;
  children: Array<ListEntry<R>>;
}

/**
 * Groups rows (already filtered and ordered) under their parent: a child
 * whose parent is among the rows goes under it, in the same order; one whose
 * parent is not (filtered out, or older than the list) stays at the top level.
 */
export function groupByParent<R extends ListRow>(rows: readonly R[]): Array<ListEntry<R>> {
  const entries = new Map<string, ListEntry<R>>(rows.map((r) => [r.id, { row: r, children: [] }]));
  const top: Array<ListEntry<R>> = [];
  for (const r of rows) {
    const entry = entries.get(r.id)!;
    const parent = r.parentWorkflowId && r.parentWorkflowId !== r.id ? entries.get(r.parentWorkflowId) : undefined;
    if (parent) parent.children.push(entry);
    else top.push(entry);
  }
  return top;
}

/** Every descendant of an entry. */
export function descendants<R extends ListRow>(entry: ListEntry<R>): number {
  return entry.children.reduce((n, c) => n + 1 + descendants(c), 0);
}
