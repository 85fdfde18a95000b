// The Store interface: all workflow state goes through it. Shaped for an
// atomic-transition backend (Redis, Lua): a commit carries the delta of one
// engine transition (header, changed steps, events) and is applied all at
// once; events get ordered cursors so watchers can resume.
import { createHash } from "node:crypto";
import type { DomainEvent, StepRecord, StoredEvent, WorkflowRecord } from "../engine/model.js";
import type { WorkflowDefinition } from "../workflow/definition.js";
import type { WorkflowState } from "../engine/states.js";
import type { SupervisorRegistry } from "./supervisors.js";
import type { ScheduleStore } from "./schedules.js";

/** The workflow's own fields. A commit's header replaces all of them: absent ones are cleared. */
export interface WorkflowHeader {
  state: WorkflowState;
  startedAt?: number;
  finishedAt?: number;
  error?: string;
}

/** The persisted effect of one or more engine transitions. */
export interface WorkflowCommit {
  /** Present when the workflow's own fields changed. */
  header?: WorkflowHeader;
  /** Step records that changed, by index in the definition. */
  steps: Array<{ index: number; record: StepRecord }>;
  /** Appended to the event log in order. */
  events: DomainEvent[];
}

export interface ListQuery {
  /** Only these states; all when empty. */
  states: WorkflowState[];
  /** Exact name; all when empty. */
  name: string;
  pageSize: number;
  pageToken: string;
}

export interface WorkflowSummaryRecord {
  id: string;
  name: string;
  state: WorkflowState;
  createdAt: number;
  finishedAt?: number;
  error?: string;
  stepsTotal: number;
  stepsSucceeded: number;
  stepsFailed: number;
  stepsRunning: number;
  /** Absent when the workflow has none. */
  labels?: Record<string, string>;
  /** Set for a sub-workflow: the workflow that started it. */
  parentWorkflowId?: string;
}

export type LogStreamName = "stdout" | "stderr" | "system";

export interface LogRecord {
  stepId: string;
  attempt: number;
  time: number;
  stream: LogStreamName;
  line: string;
}

export type StoredLog = LogRecord & { cursor: string };

export interface LogQuery {
  /** Lines after this cursor; "" for the beginning. */
  after: string;
  /** Only this step; all when "". */
  stepId: string;
  limit: number;
}

/** One version of a named workflow definition, for sub-workflow steps. */
export interface TemplateRecord {
  name: string;
  /** 1 for the first registration of the name, then 2, 3, ... */
  version: number;
  definition: WorkflowDefinition;
  createdAt: number;
}

/** What two template versions must share to be identical: a digest of the normalised definition. */
export function templateContentKey(definition: WorkflowDefinition): string {
  return createHash("sha256").update(JSON.stringify(definition)).digest("base64url");
}

/** A cursor the store did not issue (or no longer understands). */
export class InvalidCursorError extends Error {
  override name = "InvalidCursorError";
  constructor(cursor: string) {
    super(`invalid cursor "${cursor}"`);
  }
}

/** The store cannot be reached right now (Redis down or timing out); the caller may retry. */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * This coordinator no longer owns the workflow: another one took it over
 * (its fencing token moved on), or its data is gone from the store.
 * Whatever this coordinator still holds for it in memory is stale and must
 * be dropped.
 */
export class LeaseLostError extends Error {
  override name = "LeaseLostError";
  /**
   * @param reload true when this node still owns the workflow but the store
   * is behind what it committed (Redis lost acknowledged writes, e.g. a
   * crash under appendfsync everysec): the copy in memory cannot be
   * trusted either, so the owner should reload it from the store and
   * re-attach to its jobs.
   * @param gone true when the store no longer has the workflow at all
   * (deleted, expired, or the store restarted empty): no other coordinator
   * holds it, and messages must say the data was lost, not taken over.
   */
  constructor(
    message: string,
    readonly reload = false,
    readonly gone = false,
  ) {
    super(message);
  }
}

/** Why a workflow was taken from a live owner: "cancel" asks it to stop the jobs it dispatched. */
export type OwnershipNotice = "cancel";

/**
 * Ownership of running workflows when several coordinators share a store.
 * Each coordinator (a node) holds a lease it renews; each running workflow
 * has one owner node and a fencing token that every commit must present, so
 * a node that lost a workflow can no longer change it.
 */
export interface Ownership {
  /** This coordinator's node id, unique per process. */
  readonly nodeId: string;
  /** Renews this node's lease for `leaseMs`; returns nodes whose lease ran out and nodes still alive. */
  heartbeat(leaseMs: number): Promise<{ expired: string[]; live: string[] }>;
  /** Running workflows recorded as owned by `node`. */
  ownedBy(node: string): Promise<string[]>;
  /** Every running workflow with its owner (a full pass, for workflows whose owner is unknown). */
  active(): Promise<Array<{ id: string; owner: string }>>;
  /**
   * Takes the workflow over when its owner is `from` (whoever owns it when
   * undefined) and moves its fencing token on. Returns the record to resume,
   * or undefined when it ended, vanished or another node took it first.
   * With `notice`, the previous owner (if alive) is told why, see onNotice.
   */
  claim(id: string, from?: string, notice?: OwnershipNotice): Promise<WorkflowRecord | undefined>;
  /** Called when another node took one of this node's workflows with a notice. */
  onNotice(listener: (workflowId: string, notice: OwnershipNotice) => void): void;
  /**
   * Takes a workflow over whatever its state, for RetryWorkflow to run a
   * finished one again. Undefined when it does not exist.
   */
  reopen(id: string): Promise<WorkflowRecord | undefined>;
  /** Drops a dead node once its workflows have been claimed. */
  forgetNode(node: string): Promise<void>;
  /** Ends this node's lease now (graceful stop) so others take over at once. */
  release(): Promise<void>;
}

/**
 * Stops a subscription. `ready`, when there, resolves once notifications
 * are sure to arrive (Redis: the server has the subscription); a reader
 * that reads state and then waits for changes awaits it first, or a change
 * between its read and the subscription would never wake it. It never
 * rejects: after an outage the store subscribes again and wakes everyone.
 */
export type Unsubscribe = (() => void) & { ready?: Promise<void> };

export interface Store {
  /** Shown in logs and health: "memory" or "redis". */
  readonly kind: string;
  /** Whether state survives a restart of the coordinator. */
  readonly durable: boolean;
  /**
   * Stores a new workflow. When its idempotencyKey was used before, nothing is
   * stored and the existing workflow's id is returned.
   */
  createWorkflow(record: WorkflowRecord): Promise<{ id: string; existing: boolean }>;
  /**
   * createWorkflow for many records in one step (Redis: one script call,
   * indexes included), with one result per record, in order. A key used
   * earlier in the same batch counts as used before: that record gets the
   * earlier one's id, existing true.
   */
  createWorkflows(records: readonly WorkflowRecord[]): Promise<Array<{ id: string; existing: boolean }>>;
  /** A copy of the workflow and the cursor of its latest event. */
  getWorkflow(id: string): Promise<{ record: WorkflowRecord; cursor: string } | undefined>;
  /** Newest first. */
  listWorkflows(query: ListQuery): Promise<{ items: WorkflowSummaryRecord[]; nextPageToken: string }>;
  /**
   * Applies a commit atomically; returns the cursors of its events. With
   * ownership, throws LeaseLostError when this node no longer owns it.
   */
  commit(id: string, commit: WorkflowCommit): Promise<string[]>;
  /** Events after `after` ("" for all), at most `limit`. */
  readEvents(id: string, after: string, limit: number): Promise<StoredEvent[]>;
  appendLogs(id: string, lines: LogRecord[]): Promise<void>;
  readLogs(id: string, query: LogQuery): Promise<StoredLog[]>;
  /**
   * Calls `listener` whenever events ("events") or log lines ("logs") are
   * added to the workflow. Returns the unsubscribe function.
   */
  subscribe(kind: "events" | "logs", id: string, listener: () => void): Unsubscribe;
  /**
   * Calls `listener` with the id of any workflow that was created or got
   * events, whichever coordinator wrote them (for live lists), and
   * `terminal` true when the change ended it (a live list sends ends at
   * once, progress in windows). Redis: a pattern subscription on the
   * per-workflow channels, opened only while someone listens. Returns the
   * unsubscribe function.
   */
  subscribeChanges(listener: (workflowId: string, terminal: boolean) => void): Unsubscribe;
  /** Summaries of these workflows, in the order given; unknown ids are left out. */
  summaries(ids: string[]): Promise<WorkflowSummaryRecord[]>;
  /**
   * Stores a definition as the next version of `name`, unless it is
   * identical to the latest version (templateContentKey): that version is
   * returned, `existing` true, so registering the same file again (a deploy
   * script run twice) does not make versions that differ in number only.
   */
  putTemplate(name: string, definition: WorkflowDefinition, createdAt: number): Promise<TemplateRecord & { existing: boolean }>;
  /** A version of a template; the latest when `version` is 0 or undefined. */
  getTemplate(name: string, version?: number): Promise<TemplateRecord | undefined>;
  /** The latest version of every template, by name. */
  listTemplates(): Promise<TemplateRecord[]>;
  /** Present when several coordinators may share the store. */
  readonly ownership?: Ownership;
  /** Supervisors registered with RegisterSupervisor (shared by every coordinator on the store). */
  readonly supervisors: SupervisorRegistry;
  /** Cron schedules (shared by every coordinator on the store). */
  readonly schedules: ScheduleStore;
  /**
   * A cheap round trip to the backend, for health checks: resolves when it
   * answers, throws StoreUnavailableError when it cannot be reached.
   */
  ping(): Promise<void>;
  close(): Promise<void>;
}
