// Each script's typed call: named inputs in, the positional KEYS and ARGV
// its header (./lua/*.lua) lists out, and a parser that turns the reply
// into a discriminated union. The only place that knows an argument's
// position or a reply's shape; create-many.ts does the same for createMany.
// Pure: no Redis here, so the unit tests cover every shape.
import type { DomainEvent } from "../../engine/model.js";
import type { ScheduleAdvance } from "../schedules.js";
import type { WorkflowCommit } from "../store.js";
import type { Keys } from "./keys.js";
import { WF, bucket, stepField } from "./record-codec.js";
import type { ScriptCall } from "./scripts.js";

/** A reply of a shape the script never sends: a bug (or a script of another version), never worth a retry. */
export class UnexpectedReplyError extends Error {
  override name = "UnexpectedReplyError";
}

function unexpected(script: string, reply: unknown): Error {
  return new UnexpectedReplyError(`unexpected reply from ${script}: ${JSON.stringify(reply).slice(0, 200)}`);
}

function strings(script: string, reply: unknown): string[] {
  if (!Array.isArray(reply) || reply.length === 0) throw unexpected(script, reply);
  return reply as string[];
}

function flag(script: string): (reply: unknown) => boolean {
  return (reply) => {
    if (reply !== 0 && reply !== 1) throw unexpected(script, reply);
    return reply === 1;
  };
}

// --- create ---------------------------------------------------------------

export interface CreateInput {
  keys: Keys;
  id: string;
  /** The creating coordinator: the new workflow's owner. */
  owner: string;
  /** TTL of the hash until its first commit (ms). */
  provisionalTtlMs: number;
  /** The record's hash fields (record-codec.ts encodeRecord). */
  fields: string[];
}

/** true when stored, false when the id exists. */
export function createCall(input: CreateInput): ScriptCall<boolean> {
  return { script: "create", keys: [input.keys.workflow(input.id)], args: [input.owner, input.provisionalTtlMs, ...input.fields], parse: flag("create") };
}

// --- commit ---------------------------------------------------------------

export interface CommitInput {
  keys: Keys;
  id: string;
  /** The fencing token the caller holds. */
  fence: string;
  /** Commits the caller believes applied so far. */
  expectedSeq: number;
  /** TTL of the workflow's keys when this commit ends it (ms), else 0: keep them. */
  ttlMs: number;
  /** Events kept per workflow, about (0: all). */
  maxEvents: number;
  /** Whether the commit ends the workflow: its "t" notification follows the "e". */
  ends: boolean;
  commit: WorkflowCommit;
}

export type CommitReply =
  /** Applied: the workflow's state before it ("" when it had none) and each event's stream id. */
  | { kind: "ok"; previousState: string; cursors: string[] }
  /** Applied already (a retry after a lost reply). */
  | { kind: "dup" }
  /** Another coordinator holds the workflow: its fencing token. */
  | { kind: "fenced"; fence: string }
  /** The workflow is not in Redis. */
  | { kind: "gone" }
  /** The store is at another commit number than the caller. */
  | { kind: "seqMismatch"; seq: string };

export function commitCall(input: CommitInput): ScriptCall<CommitReply> {
  const { keys: k, id, commit } = input;
  const set: string[] = [];
  const del: string[] = [];
  const header = commit.header;
  if (header) {
    set.push(WF.state, String(header.state));
    for (const f of ["startedAt", "finishedAt", "error"] as const) {
      if (header[f] !== undefined) set.push(WF[f], String(header[f]));
      else del.push(WF[f]);
    }
  }
  const buckets: string[] = [];
  for (const { index, record } of commit.steps) {
    set.push(stepField(index), JSON.stringify(record));
    buckets.push(String(index), bucket(record.state));
  }
  const args = [
    input.fence,
    input.expectedSeq,
    input.ttlMs,
    input.maxEvents,
    k.channel(id),
    input.ends ? "1" : "0",
    set.length / 2,
    ...set,
    del.length,
    ...del,
    buckets.length / 2,
    ...buckets,
    ...commit.events.map((e: DomainEvent) => JSON.stringify(e)),
  ];
  return { script: "commit", keys: [k.workflow(id), k.events(id), k.logs(id), k.logCounts(id)], args, parse: parseCommitReply };
}

export function parseCommitReply(reply: unknown): CommitReply {
  const r = strings("commit", reply);
  switch (r[0]) {
    case "OK":
      return { kind: "ok", previousState: r[1] ?? "", cursors: r.slice(2) };
    case "DUP":
      return { kind: "dup" };
    case "FENCED":
      return { kind: "fenced", fence: String(r[1]) };
    case "GONE":
      return { kind: "gone" };
    case "SEQ":
      return { kind: "seqMismatch", seq: String(r[1]) };
    default:
      throw unexpected("commit", reply);
  }
}

// --- appendLogs -----------------------------------------------------------

export interface AppendLogsInput {
  keys: Keys;
  id: string;
  /** Lines kept per step attempt; one marker line follows. */
  maxPerAttempt: number;
  lines: ReadonlyArray<{ stepId: string; attempt: number; time: number; stream: string; line: string }>;
}

/** The number of stream entries added. */
export function appendLogsCall(input: AppendLogsInput): ScriptCall<number> {
  const { keys: k, id } = input;
  const args: Array<string | number> = [input.maxPerAttempt];
  for (const l of input.lines) args.push(l.stepId, l.attempt, l.time, l.stream, l.line);
  return {
    script: "appendLogs",
    keys: [k.workflow(id), k.logs(id), k.logCounts(id)],
    args,
    parse: (reply) => {
      if (typeof reply !== "number") throw unexpected("appendLogs", reply);
      return reply;
    },
  };
}

// --- claim ----------------------------------------------------------------

export interface ClaimInput {
  keys: Keys;
  id: string;
  /** The node taking the workflow. */
  owner: string;
  /** Take it only from this owner; undefined: from whoever owns it. */
  from?: string;
}

export type ClaimReply =
  /** Taken: the new fencing token, the commit number, the workflow state and who owned it before. */
  | { kind: "ok"; fence: string; seq: number; state: string | undefined; previousOwner: string }
  /** Owned by another node than `from`. */
  | { kind: "owned"; owner: string }
  /** The workflow is not in Redis. */
  | { kind: "gone" };

export function claimCall(input: ClaimInput): ScriptCall<ClaimReply> {
  return { script: "claim", keys: [input.keys.workflow(input.id)], args: [input.owner, input.from ?? ""], parse: parseClaimReply };
}

export function parseClaimReply(reply: unknown): ClaimReply {
  const r = strings("claim", reply);
  switch (r[0]) {
    case "OK":
      return { kind: "ok", fence: String(r[1]), seq: Number(r[2]), state: r[3] ?? undefined, previousOwner: String(r[4] ?? "") };
    case "OWNED":
      return { kind: "owned", owner: String(r[1]) };
    case "GONE":
      return { kind: "gone" };
    default:
      throw unexpected("claim", reply);
  }
}

// --- heartbeat ------------------------------------------------------------

export interface HeartbeatInput {
  keys: Keys;
  node: string;
  leaseMs: number;
}

export interface HeartbeatReply {
  /** Nodes whose lease ran out (this one included if it was late). */
  expired: string[];
  /** Nodes whose lease still runs. */
  live: string[];
}

export function heartbeatCall(input: HeartbeatInput): ScriptCall<HeartbeatReply> {
  return {
    script: "heartbeat",
    keys: [input.keys.nodes],
    args: [input.node, input.leaseMs],
    parse: (reply) => {
      if (!Array.isArray(reply) || reply.length !== 2 || !reply.every(Array.isArray)) throw unexpected("heartbeat", reply);
      return { expired: reply[0] as string[], live: reply[1] as string[] };
    },
  };
}

// --- putTemplate ----------------------------------------------------------

export interface PutTemplateInput {
  keys: Keys;
  name: string;
  /** JSON of {definition, createdAt}, as stored per version. */
  json: string;
  /** templateContentKey of the definition. */
  contentKey: string;
}

export type PutTemplateReply =
  /** Stored as a new version. */
  | { kind: "new"; version: number }
  /** The latest version has the same content: it, and its stored JSON. */
  | { kind: "existing"; version: number; json: string };

export function putTemplateCall(input: PutTemplateInput): ScriptCall<PutTemplateReply> {
  return { script: "putTemplate", keys: [input.keys.template(input.name)], args: [input.json, input.contentKey], parse: parsePutTemplateReply };
}

export function parsePutTemplateReply(reply: unknown): PutTemplateReply {
  if (!Array.isArray(reply) || typeof reply[0] !== "number") throw unexpected("putTemplate", reply);
  const [version, existing, json] = reply as [number, number, string?];
  return existing === 1 && json ? { kind: "existing", version, json } : { kind: "new", version };
}

// --- schedules ------------------------------------------------------------

export interface ScheduleCreateInput {
  keys: Keys;
  name: string;
  /** JSON of the schedule's spec. */
  specJson: string;
  createdAt: number;
  paused: boolean;
  lastTick: number;
}

/** true when created, false when the name is taken. */
export function scheduleCreateCall(input: ScheduleCreateInput): ScriptCall<boolean> {
  return {
    script: "scheduleCreate",
    keys: [input.keys.schedule(input.name)],
    args: [input.specJson, input.createdAt, input.paused ? "1" : "0", input.lastTick],
    parse: flag("scheduleCreate"),
  };
}

/** true when done, false when the schedule does not exist. */
export function scheduleSetPausedCall(input: { keys: Keys; name: string; paused: boolean; now: number }): ScriptCall<boolean> {
  return { script: "scheduleSetPaused", keys: [input.keys.schedule(input.name)], args: [input.paused ? "1" : "0", input.now], parse: flag("scheduleSetPaused") };
}

/** true when the progress was recorded. */
export function scheduleAdvanceCall(input: { keys: Keys; name: string; advance: ScheduleAdvance }): ScriptCall<boolean> {
  const a = input.advance;
  return {
    script: "scheduleAdvance",
    keys: [input.keys.schedule(input.name)],
    args: [a.createdAt, a.tick ?? "", a.run?.workflowId ?? "", a.run?.at ?? ""],
    parse: flag("scheduleAdvance"),
  };
}

// --- supervisors ----------------------------------------------------------

/** Deletes registrations expired before `before` (ms); the number deleted. */
export function supervisorsPruneCall(input: { keys: Keys; before: number }): ScriptCall<number> {
  return {
    script: "supervisorsPrune",
    keys: [input.keys.supervisors, input.keys.supervisorExpiries],
    args: [input.before],
    parse: (reply) => Number(reply),
  };
}
