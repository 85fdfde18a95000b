// The commits of one workflow, written one at a time, in order, and merged:
// transitions of one tick make one commit, and those applied while a commit
// is being written make the next one. Transitions that only report progress
// (a supervisor accepted or started a job, a wait reason, log lines) are not
// urgent: they wait up to LAZY_COMMIT_MS for something that is, so a short
// job's acceptance, start and finish are stored in one commit instead of
// three. Losing such a commit in a crash loses nothing that re-attaching by
// attempt id does not recover.
//
// The queue decides when to write and what goes together; the writer it is
// given does the storing (and runs the commit's commands once stored), so
// the queue runs without a store in its tests.
import type { Command, EngineInput } from "../../engine/engine.js";
import type { DomainEvent } from "../../engine/model.js";
import { LeaseLostError, type LogRecord } from "../../store/store.js";

/** What the next commit of a workflow holds: the merged effects of the transitions applied since the last one. */
export interface PendingCommit {
  /** Something must be stored now (not only progress reports): see LAZY_COMMIT_MS. */
  urgent: boolean;
  events: DomainEvent[];
  /** Step records to write, by index (their state when the commit is written). */
  changed: Set<number>;
  /** The workflow header (state, times, error) changed. */
  header: boolean;
  /** Run once the commit is stored, in order; never when it was not. */
  commands: Command[];
  logs: LogRecord[];
}

/**
 * How long a commit holding only progress reports (PROGRESS inputs, log
 * lines) waits for an urgent transition to share it: long enough for a
 * short job's finish to follow its acceptance, short enough that a
 * watcher sees a long job start at once to the eye.
 */
export const LAZY_COMMIT_MS = 10;

/** Inputs that only report progress: nothing waits on their commit but their own timers. */
const PROGRESS: ReadonlySet<EngineInput["type"]> = new Set(["accepted", "started", "waiting"]);

/** Whether the transition of an input must be stored at once, or may wait for company. */
export function isUrgent(input: EngineInput["type"], workflowChanged: boolean): boolean {
  return !PROGRESS.has(input) || workflowChanged;
}

export interface CommitQueueOptions {
  /**
   * Stores one commit, then runs its commands. A LeaseLostError drops the
   * queue (see leaseLost); any other rejection goes to `failed`, and the
   * queue goes on with the next commit.
   */
  write(commit: PendingCommit): Promise<void>;
  /** The store refused a commit because this node no longer owns the workflow; called once. The queue's `writing` waits for it. */
  leaseLost(err: LeaseLostError): Promise<void> | void;
  /** A commit could not be stored for another reason. */
  failed(err: unknown): void;
  /** How long progress reports wait for company (default LAZY_COMMIT_MS). */
  lazyMs?: number;
  /** Runs `fn` once the current task is done: where urgent commits start, so one tick makes one commit (default queueMicrotask). */
  soon?: (fn: () => void) => void;
  /** Timers for lazy commits (default setTimeout and clearTimeout). */
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
}

export interface CommitQueue {
  /**
   * The commit to add the effects of a transition to. `urgent` has it
   * written once the current task is done; otherwise it waits up to
   * LAZY_COMMIT_MS for an urgent one, or for the commit being written.
   */
  pending(urgent: boolean): PendingCommit;
  /** Writes what waits now, urgent or not (draining before a stop). */
  flush(): void;
  /** Resolves once nothing is left to write. */
  readonly writing: Promise<void>;
  /** Forgets what waits and writes nothing more (the workflow left this node). */
  drop(): void;
  readonly dropped: boolean;
}

export function createCommitQueue(options: CommitQueueOptions): CommitQueue {
  const lazyMs = options.lazyMs ?? LAZY_COMMIT_MS;
  const soon = options.soon ?? queueMicrotask;
  const setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  const clearTimer = options.clearTimer ?? ((t) => clearTimeout(t as NodeJS.Timeout));
  let pending: PendingCommit | undefined;
  /** A commit is being written: what is applied meanwhile waits for it and goes into the next. */
  let committing = false;
  /** The commits being written (one at a time, in order); resolves when none is left to write. */
  let writing: Promise<void> = Promise.resolve();
  /** Writes a pending commit that is not urgent once lazyMs have passed. */
  let lazyTimer: unknown;
  let dropped = false;

  function pendingOf(urgent: boolean): PendingCommit {
    if (!pending) pending = { urgent: false, events: [], changed: new Set(), header: false, commands: [], logs: [] };
    const p = pending;
    if (urgent && !p.urgent) {
      p.urgent = true;
      soon(write);
    } else if (!p.urgent && lazyTimer === undefined && !committing) {
      lazyTimer = setTimer(() => {
        lazyTimer = undefined;
        write();
      }, lazyMs);
    }
    return p;
  }

  function cancelLazy(): void {
    if (lazyTimer === undefined) return;
    clearTimer(lazyTimer);
    lazyTimer = undefined;
  }

  /**
   * Starts writing the pending commit unless one is being written: then it
   * follows that one, merged with whatever else was applied meanwhile.
   */
  function write(): void {
    if (committing || !pending || dropped) return;
    committing = true;
    writing = (async () => {
      try {
        for (let first = true; pending && !dropped && (first || pending.urgent); first = false) {
          cancelLazy();
          const p = pending;
          pending = undefined;
          try {
            await options.write(p);
          } catch (err) {
            if (!(err instanceof LeaseLostError)) {
              options.failed(err);
              continue;
            }
            // Its stops and timers were not run (its jobs were stopped by the
            // writer): the new owner resumes from what the store holds.
            if (dropped) return;
            drop();
            await options.leaseLost(err);
          }
        }
      } finally {
        committing = false;
      }
      // Only progress reports arrived during the last commit: they wait for company.
      if (pending && !dropped) pendingOf(false);
    })();
  }

  function drop(): void {
    dropped = true;
    pending = undefined;
    cancelLazy();
  }

  return {
    pending: pendingOf,
    flush() {
      if (!pending) return;
      pending.urgent = true;
      write();
    },
    get writing() {
      return writing;
    },
    drop,
    get dropped() {
      return dropped;
    },
  };
}
