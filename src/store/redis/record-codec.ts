// The one place that knows how a workflow sits in its Redis hash (and how
// events and log lines sit in their streams). The Lua scripts use the same
// names: scripts.ts prepends a header that declares every constant here as
// a Lua local (F_OWNER = 'owner', ...), and a unit test checks that no
// script spells a field name of its own. Renaming a field here renames it
// on both sides; the stored names themselves must stay as they are, or
// workflows already in Redis become unreadable.
//
// The workflow hash <p>:{<id>}:
//   rec                 JSON of the immutable part (definition, levels, inputs, labels, ...)
//   name, createdAt     copies read by listings without parsing rec
//   state, startedAt, finishedAt, error   the header, rewritten by commits
//   labels, parent      copies for listings (labels JSON, parent workflow id)
//   n                   number of step records
//   s:<i>               JSON of step record i
//   b:<i>               step i's list bucket: "s" succeeded, "f" failed, "r" running, "" other
//   cs, cf, cr          how many steps are in each bucket ("c" + bucket)
//   owner, fence        the owning coordinator and its fencing token
//   seq                 commits applied, so a retried commit is recognised
//   cursor              the stream id of the last event
import type { DomainEvent, StepRecord, StoredEvent, WorkflowRecord } from "../../engine/model.js";
import { StepState as S, type StepState } from "../../engine/states.js";
import type { LogStreamName, StoredLog, WorkflowSummaryRecord } from "../store.js";

/** Field names of the workflow hash. */
export const WF = {
  record: "rec",
  name: "name",
  createdAt: "createdAt",
  state: "state",
  startedAt: "startedAt",
  finishedAt: "finishedAt",
  error: "error",
  labels: "labels",
  parent: "parent",
  stepCount: "n",
  owner: "owner",
  fence: "fence",
  seq: "seq",
  cursor: "cursor",
  succeeded: "cs",
  failed: "cf",
  running: "cr",
} as const;

/** Prefixes of per-step and per-bucket fields: `s:<i>`, `b:<i>`, and `c<bucket>` for a bucket's counter. */
export const WF_PREFIX = { step: "s:", bucket: "b:", counter: "c" } as const;

/** The list bucket a step counts toward; its counter field is `c` + bucket (cs, cf, cr). */
export type Bucket = "s" | "f" | "r" | "";

/** The single field of an event stream entry: the event's JSON. */
export const EVENT = { json: "e" } as const;

/** Fields of a log stream entry, always written in this order (readers use the positions). */
export const LOG = { stepId: "s", attempt: "a", time: "t", stream: "o", line: "l" } as const;

/** Fields of a template hash <p>:tpl:{<name>}: the latest version, its content key, `v:<n>` per version. */
export const TPL = { latest: "latest", content: "content" } as const;
export const TPL_PREFIX = { version: "v:" } as const;

/** Fields of a schedule hash <p>:sched:{<name>} (see schedules.ts). */
export const SCHED = { spec: "spec", created: "created", paused: "paused", last: "last", workflow: "wf", runAt: "runAt" } as const;

/**
 * Messages on a workflow's notification channel (notifications.ts): new
 * events, new log lines, and, after the "events" of the commit that ended
 * the workflow, "ended" (live lists send an end at once).
 */
export const NOTE = { events: "e", logs: "l", ended: "t" } as const;

export const stepField = (i: number): string => `${WF_PREFIX.step}${i}`;
export const bucketField = (i: number): string => `${WF_PREFIX.bucket}${i}`;
export const templateVersionField = (v: number): string => `${TPL_PREFIX.version}${v}`;

/**
 * Every constant above as one flat table of Lua locals: the header that
 * scripts.ts puts in front of each script. Names are <GROUP>_<KEY> in upper
 * snake case (WF_FENCE, WF_PREFIX_STEP, LOG_STEP_ID, ...).
 */
export const LUA_CONSTANTS: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries({ WF, WF_PREFIX, EVENT, LOG, TPL, TPL_PREFIX, SCHED, NOTE }).flatMap(([group, names]) =>
    Object.entries(names).map(([key, value]) => [`${group}_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`, value]),
  ),
);

/** Which list counter a step state counts toward (see the commit script). */
export function bucket(state: StepState): Bucket {
  if (state === S.SUCCEEDED) return "s";
  if (state === S.FAILED) return "f";
  if (state === S.RUNNING || state === S.DISPATCHED) return "r";
  return "";
}

/** A new workflow's hash as field/value pairs (the create scripts add owner, fence, seq, cursor). */
export function encodeRecord(r: WorkflowRecord): string[] {
  const fixed = {
    id: r.id,
    name: r.name,
    definition: r.definition,
    levels: r.levels,
    inputs: r.inputs,
    labels: r.labels,
    createdAt: r.createdAt,
    ...(r.idempotencyKey !== undefined ? { idempotencyKey: r.idempotencyKey } : {}),
    // A child's place in its chain of sub-workflows, which bounds the chain (W4).
    ...(r.depth ? { depth: r.depth } : {}),
    ...(r.parent ? { parent: r.parent } : {}),
    ...(r.template ? { template: r.template } : {}),
  };
  const f: string[] = [WF.record, JSON.stringify(fixed), WF.name, r.name, WF.createdAt, String(r.createdAt), WF.state, String(r.state), WF.stepCount, String(r.steps.length)];
  // Read with the summary (SUMMARY_FIELDS) without parsing the record.
  if (Object.keys(r.labels).length > 0) f.push(WF.labels, JSON.stringify(r.labels));
  if (r.parent) f.push(WF.parent, r.parent.workflowId);
  if (r.startedAt !== undefined) f.push(WF.startedAt, String(r.startedAt));
  if (r.finishedAt !== undefined) f.push(WF.finishedAt, String(r.finishedAt));
  if (r.error !== undefined) f.push(WF.error, r.error);
  const counts = { s: 0, f: 0, r: 0 };
  r.steps.forEach((s, i) => {
    const b = bucket(s.state);
    if (b) counts[b]++;
    f.push(stepField(i), JSON.stringify(s), bucketField(i), b);
  });
  f.push(WF.succeeded, String(counts.s), WF.failed, String(counts.f), WF.running, String(counts.r));
  return f;
}

/** A workflow from its whole hash (HGETALL); the caller checks `rec` is there. */
export function decodeRecord(h: Record<string, string>): WorkflowRecord {
  const fixed = JSON.parse(h[WF.record]!) as Omit<WorkflowRecord, "state" | "steps">;
  const n = Number(h[WF.stepCount]);
  const steps: StepRecord[] = new Array(n);
  for (let i = 0; i < n; i++) steps[i] = JSON.parse(h[stepField(i)]!) as StepRecord;
  const startedAt = h[WF.startedAt];
  const finishedAt = h[WF.finishedAt];
  const error = h[WF.error];
  return {
    ...fixed,
    state: Number(h[WF.state]) as WorkflowRecord["state"],
    steps,
    ...(startedAt !== undefined ? { startedAt: Number(startedAt) } : {}),
    ...(finishedAt !== undefined ? { finishedAt: Number(finishedAt) } : {}),
    ...(error !== undefined ? { error } : {}),
  };
}

/** The hash fields a summary is made of, in the order decodeSummary reads them (one HMGET). */
export const SUMMARY_FIELDS = [WF.name, WF.createdAt, WF.state, WF.finishedAt, WF.error, WF.stepCount, WF.succeeded, WF.failed, WF.running, WF.labels, WF.parent] as const;

/** A summary from the SUMMARY_FIELDS values; undefined for an expired workflow. */
export function decodeSummary(id: string, row: Array<string | null>): WorkflowSummaryRecord | undefined {
  const [name, createdAt, state, finishedAt, error, n, cs, cf, cr, labels, parent] = row;
  if (name == null || state == null) return undefined;
  return {
    id,
    name,
    state: Number(state) as WorkflowRecord["state"],
    createdAt: Number(createdAt),
    ...(finishedAt != null ? { finishedAt: Number(finishedAt) } : {}),
    ...(error != null ? { error } : {}),
    stepsTotal: Number(n),
    stepsSucceeded: Number(cs),
    stepsFailed: Number(cf),
    stepsRunning: Number(cr),
    ...(labels != null ? { labels: JSON.parse(labels) as Record<string, string> } : {}),
    ...(parent != null ? { parentWorkflowId: parent } : {}),
  };
}

/** An event stream entry (XRANGE: its id and [EVENT.json, json]). */
export function decodeEvent(cursor: string, fields: string[]): StoredEvent {
  return { ...(JSON.parse(fields[1]!) as DomainEvent), cursor } as StoredEvent;
}

const STREAMS: ReadonlySet<string> = new Set<LogStreamName>(["stdout", "stderr", "system"]);

/** A log stream entry: its fields come in LOG's order (s, a, t, o, l), so they are read by position. */
export function decodeLog(cursor: string, f: string[]): StoredLog {
  const stream = STREAMS.has(f[7]!) ? (f[7] as LogStreamName) : "stdout";
  return { stepId: f[1]!, attempt: Number(f[3]), time: Number(f[5]), stream, line: f[9] ?? "", cursor };
}
