// The executor carries out what the engine decides: it feeds inputs to the
// transition function, persists each delta through the store, and runs the
// resulting commands on the supervisor pool. Transitions of one workflow
// within a tick are merged into one commit, and commands run only after
// their commit is stored, so nothing is dispatched that the store has not
// recorded.
import type { Logger } from "pino";
import type { JobEvent } from "../../gen/horus/coordinator/v1/supervisor_pb.js";
import { LogStream } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { fromValue, msDuration, toValueMap, tsMs, type JsonMap } from "../common/json.js";
import { createEngineState, transition, type Command, type EngineInput, type EngineState } from "../engine/engine.js";
import type { DomainEvent, StepFailure, WorkflowRecord } from "../engine/model.js";
import { isTerminalWorkflow } from "../engine/states.js";
import type { DispatchListener, SupervisorPool } from "../dispatch/pool.js";
import type { LogRecord, LogStreamName, Store } from "../store/store.js";
import type { WorkflowPlan } from "../workflow/plan.js";

export interface ExecutorOptions {
  store: Store;
  logger: Logger;
  /** Clock, replaceable for tests. */
  now?: () => number;
}

interface Pending {
  events: DomainEvent[];
  changed: Set<number>;
  header: boolean;
  commands: Command[];
  logs: LogRecord[];
}

interface Active {
  engine: EngineState;
  pending?: Pending;
  /** The chain of commits, so they reach the store in order. */
  writing: Promise<void>;
}

export interface Executor {
  /** The pool's callbacks; wire them with setPool. */
  readonly listener: DispatchListener;
  setPool(pool: SupervisorPool): void;
  /** Stores a new workflow and starts it; returns its id (an existing one for a repeated idempotency key). */
  start(record: WorkflowRecord, plan: WorkflowPlan): Promise<{ id: string; existing: boolean }>;
  /** Cancels a running workflow; false when it is not active here. */
  cancel(id: string, reason: string): Promise<boolean>;
  /** Number of workflows this coordinator is advancing. */
  activeCount(): number;
  /** Resolves when every queued commit has been written. */
  drain(): Promise<void>;
}

const STREAM_NAMES: Record<number, LogStreamName> = {
  [LogStream.STDOUT]: "stdout",
  [LogStream.STDERR]: "stderr",
  [LogStream.SYSTEM]: "system",
};

export function createExecutor(options: ExecutorOptions): Executor {
  const { store, logger } = options;
  const now = options.now ?? Date.now;
  const active = new Map<string, Active>();
  const dirty = new Set<Active>();
  let flushScheduled = false;
  let pool: SupervisorPool | undefined;

  function pendingOf(a: Active): Pending {
    if (!a.pending) {
      a.pending = { events: [], changed: new Set(), header: false, commands: [], logs: [] };
      dirty.add(a);
      if (!flushScheduled) {
        flushScheduled = true;
        queueMicrotask(flush);
      }
    }
    return a.pending;
  }

  function apply(a: Active, input: EngineInput): void {
    let fx;
    try {
      fx = transition(a.engine, input, now());
    } catch (err) {
      // An illegal transition is a bug; keep the coordinator alive and say so.
      logger.error({ err, workflowId: a.engine.record.id, input: input.type }, "engine rejected an input");
      return;
    }
    const p = pendingOf(a);
    for (const e of fx.events) p.events.push(e);
    for (const i of fx.changed) p.changed.add(i);
    if (fx.workflowChanged) p.header = true;
    for (const c of fx.commands) p.commands.push(c);
  }

  function flush(): void {
    flushScheduled = false;
    const batch = [...dirty];
    dirty.clear();
    for (const a of batch) {
      const p = a.pending!;
      a.pending = undefined;
      const wf = a.engine.record;
      const steps = [...p.changed].map((index) => ({ index, record: wf.steps[index]! }));
      const header = p.header
        ? {
            state: wf.state,
            ...(wf.startedAt !== undefined ? { startedAt: wf.startedAt } : {}),
            ...(wf.finishedAt !== undefined ? { finishedAt: wf.finishedAt } : {}),
            ...(wf.error !== undefined ? { error: wf.error } : {}),
          }
        : undefined;
      // Snapshot what must be written now; later transitions get their own commit.
      const commit = { ...(header ? { header } : {}), steps: steps.map((s) => ({ index: s.index, record: structuredClone(s.record) })), events: p.events };
      const logs = p.logs;
      const commands = p.commands;
      const terminal = isTerminalWorkflow(wf.state);
      if (terminal && !a.pending) active.delete(wf.id);
      a.writing = a.writing
        .then(async () => {
          if (logs.length > 0) await store.appendLogs(wf.id, logs);
          if (commit.events.length > 0 || commit.steps.length > 0 || commit.header) await store.commit(wf.id, commit);
          for (const c of commands) run(a, c);
        })
        .catch((err) => {
          logger.error({ err, workflowId: wf.id }, "could not store a workflow transition");
        });
    }
  }

  function run(a: Active, c: Command): void {
    const wf = a.engine.record;
    if (c.type === "cancelJob") {
      pool?.cancel(c.attemptId, "workflow cancelled");
      return;
    }
    // Commands this executor does not carry out yet (wake, startChild, cancelChild: issue 4) are ignored.
    if (c.type !== "dispatch") return;
    const def = wf.definition.steps[c.step]!;
    const input: JsonMap = {};
    for (const p of a.engine.plan.parents[c.step]!) {
      input[wf.steps[p]!.id] = wf.steps[p]!.output ?? null;
    }
    pool?.dispatch({
      attemptId: c.attemptId,
      workflowId: wf.id,
      stepId: def.id,
      attempt: c.attempt,
      runner: def.runner,
      payload: def.payload,
      input: toValueMap(input),
      inputs: toValueMap(wf.inputs),
      ...(def.timeoutMs !== undefined ? { timeout: msDuration(def.timeoutMs) } : {}),
    });
  }

  const listener: DispatchListener = {
    accepted(attemptId, supervisor) {
      const a = findByAttempt(attemptId);
      if (a) apply(a, { type: "accepted", attemptId, supervisor });
    },
    rejected(attemptId, error: StepFailure) {
      const a = findByAttempt(attemptId);
      if (a) apply(a, { type: "rejected", attemptId, error });
    },
    lost(attemptId, reason) {
      const a = findByAttempt(attemptId);
      if (a) apply(a, { type: "lost", attemptId, reason });
    },
    jobEvents(_supervisor, events: JobEvent[]) {
      for (const ev of events) {
        const a = active.get(ev.workflowId);
        if (!a) continue;
        switch (ev.kind.case) {
          case "started":
            apply(a, { type: "started", attemptId: ev.attemptId });
            break;
          case "log": {
            const step = a.engine.byAttempt.get(ev.attemptId);
            const attempt = step === undefined ? 0 : a.engine.record.steps[step]!.attempts.length;
            pendingOf(a).logs.push({
              stepId: ev.stepId,
              attempt,
              time: tsMs(ev.time) ?? now(),
              stream: STREAM_NAMES[ev.kind.value.stream] ?? "stdout",
              line: ev.kind.value.line,
            });
            break;
          }
          case "finished": {
            const f = ev.kind.value;
            if (f.succeeded) apply(a, { type: "finished", attemptId: ev.attemptId, ok: true, output: fromValue(f.output) });
            else apply(a, { type: "finished", attemptId: ev.attemptId, ok: false, error: { code: f.error?.code || "ERROR", message: f.error?.message ?? "" } });
            break;
          }
          default:
            break;
        }
      }
    },
  };

  function findByAttempt(attemptId: string): Active | undefined {
    // Attempt ids are "<workflow id>.<step id>.<n>" and workflow ids contain no dots.
    const dot = attemptId.indexOf(".");
    return dot > 0 ? active.get(attemptId.slice(0, dot)) : undefined;
  }

  return {
    listener,
    setPool(p) {
      pool = p;
    },
    async start(record, plan) {
      const created = await store.createWorkflow(record);
      if (created.existing) return created;
      const a: Active = { engine: createEngineState(record, plan), writing: Promise.resolve() };
      active.set(record.id, a);
      apply(a, { type: "start" });
      return created;
    },
    async cancel(id, reason) {
      const a = active.get(id);
      if (!a) return false;
      apply(a, { type: "cancel", reason });
      await new Promise<void>((resolve) => queueMicrotask(resolve));
      await a.writing;
      return true;
    },
    activeCount() {
      return active.size;
    },
    async drain() {
      await new Promise<void>((resolve) => queueMicrotask(resolve));
      await Promise.all([...active.values()].map((a) => a.writing));
    },
  };
}
