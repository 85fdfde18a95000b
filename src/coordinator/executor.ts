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
import { StepState, WorkflowState, isTerminalStep, isTerminalWorkflow } from "../engine/states.js";
import type { AttachedAttempt, DispatchListener, SupervisorPool } from "../dispatch/pool.js";
import { LeaseLostError, StoreUnavailableError, type LogRecord, type LogStreamName, type Store } from "../store/store.js";
import { validateAndPlan, type WorkflowPlan } from "../workflow/plan.js";

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
  /** Another coordinator took the workflow over: this copy is stale and ignored. */
  dropped: boolean;
}

export interface Executor {
  /** The pool's callbacks; wire them with setPool. */
  readonly listener: DispatchListener;
  setPool(pool: SupervisorPool): void;
  /** Stores a new workflow and starts it; returns its id (an existing one for a repeated idempotency key). */
  start(record: WorkflowRecord, plan: WorkflowPlan): Promise<{ id: string; existing: boolean }>;
  /**
   * Resumes a running workflow this coordinator just took ownership of
   * (after a restart or from a dead coordinator): re-attaches its in-flight
   * attempts by id and dispatches only what no supervisor knows.
   */
  adopt(record: WorkflowRecord): Promise<void>;
  /**
   * Cancels a running workflow. One owned by another coordinator is taken
   * over first (its owner's fencing token moves on). False when it is not running.
   */
  cancel(id: string, reason: string): Promise<boolean>;
  /** Whether this coordinator is advancing the workflow. */
  owns(id: string): boolean;
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
    if (a.dropped) return;
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
      if (a.dropped) continue;
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
          if (!a.dropped) for (const c of commands) run(a, c);
        })
        .catch((err) => {
          if (err instanceof LeaseLostError) {
            // Its commands were not run: the new owner resumes from what the store holds.
            const first = !a.dropped;
            drop(a);
            if (!first) return;
            if (err.reload && store.ownership) {
              logger.warn({ workflowId: wf.id }, "the store lost writes of this workflow; reloading it and re-attaching its jobs");
              return reload(wf.id);
            }
            logger.warn({ workflowId: wf.id }, "workflow taken over by another coordinator; dropping this copy");
            return;
          }
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
    }, { ...(def.supervisor !== undefined ? { supervisor: def.supervisor } : {}), ...(def.labels !== undefined ? { labels: def.labels } : {}) });
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
      if (!a) return;
      const i = a.engine.byAttempt.get(attemptId);
      // Its acceptance was not applied yet (still READY): nothing ran as far
      // as the workflow knows, so send the same attempt again.
      if (i !== undefined && a.engine.record.steps[i]!.state === StepState.READY) {
        run(a, { type: "dispatch", step: i, attemptId, attempt: a.engine.record.steps[i]!.attempts.length });
        return;
      }
      apply(a, { type: "lost", attemptId, reason });
    },
    waiting(attemptId, reason) {
      const a = findByAttempt(attemptId);
      if (a) apply(a, { type: "waiting", attemptId, reason });
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

  // Another coordinator cancelled one of our workflows: only this one knows
  // where its jobs were sent, so stop them, then let the workflow go.
  store.ownership?.onNotice((id, notice) => {
    const a = active.get(id);
    if (!a || notice !== "cancel") return;
    for (const step of a.engine.record.steps) {
      const last = step.attempts[step.attempts.length - 1];
      if (last && !isTerminalStep(last.state) && step.state !== StepState.PENDING) pool?.cancel(last.attemptId, "workflow cancelled");
    }
    logger.info({ workflowId: id }, "workflow cancelled through another coordinator; stopped its jobs here");
    drop(a);
  });

  /** Re-reads a workflow this node still owns (retrying while the store is unreachable) and resumes it. */
  async function reload(id: string): Promise<void> {
    // Bounded, so a coordinator whose store is closed does not retry forever.
    for (let tries = 0, delay = 200; tries < 30; tries++, delay = Math.min(delay * 2, 5_000)) {
      try {
        const record = await store.ownership!.claim(id, store.ownership!.nodeId);
        if (record) await adopt(record);
        return;
      } catch (err) {
        if (!(err instanceof StoreUnavailableError)) {
          logger.error({ err, workflowId: id }, "could not reload a workflow");
          return;
        }
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  async function adopt(record: WorkflowRecord): Promise<void> {
    const a = resume(record);
    if (!a) return;
    if (record.state === WorkflowState.PENDING) apply(a, { type: "start" });
    else await reattach(a);
  }

  function drop(a: Active): void {
    a.dropped = true;
    a.pending = undefined;
    if (active.get(a.engine.record.id) === a) active.delete(a.engine.record.id);
  }

  function activate(record: WorkflowRecord, plan: WorkflowPlan): Active {
    const previous = active.get(record.id);
    if (previous) drop(previous);
    const a: Active = { engine: createEngineState(record, plan), writing: Promise.resolve(), dropped: false };
    active.set(record.id, a);
    return a;
  }

  /** Builds the engine state of a stored workflow; undefined (and logged) if its definition no longer plans. */
  function resume(record: WorkflowRecord): Active | undefined {
    // Validated at submit time, perhaps under larger limits: plan it without limits.
    const { plan, problems } = validateAndPlan(record.definition, { maxSteps: Number.POSITIVE_INFINITY, maxPayloadBytes: Number.POSITIVE_INFINITY });
    if (!plan) {
      logger.error({ workflowId: record.id, problems }, "cannot resume a stored workflow: its definition does not plan");
      return undefined;
    }
    return activate(record, plan);
  }

  async function reattach(a: Active): Promise<void> {
    const wf = a.engine.record;
    const attempts: AttachedAttempt[] = [];
    for (let i = 0; i < wf.steps.length; i++) {
      const step = wf.steps[i]!;
      const last = step.attempts[step.attempts.length - 1];
      if (isTerminalStep(step.state) || !last || isTerminalStep(last.state)) continue;
      attempts.push({
        attemptId: last.attemptId,
        workflowId: wf.id,
        stepId: step.id,
        runner: wf.definition.steps[i]!.runner,
        ...(last.supervisor !== undefined ? { supervisor: last.supervisor } : {}),
      });
    }
    if (attempts.length === 0 || !pool) return;
    const unknown = await pool.attach(attempts);
    for (const attemptId of unknown) {
      const i = a.engine.byAttempt.get(attemptId);
      if (i === undefined || a.dropped) continue;
      const step = wf.steps[i]!;
      // Never acknowledged by any supervisor: send it now, under the same attempt id.
      if (step.state === StepState.READY) run(a, { type: "dispatch", step: i, attemptId, attempt: step.attempts.length });
      else apply(a, { type: "lost", attemptId, reason: "no supervisor knows the attempt after its coordinator changed" });
    }
  }

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
      const a = activate(record, plan);
      apply(a, { type: "start" });
      return created;
    },
    adopt,
    async cancel(id, reason) {
      let a = active.get(id);
      if (!a && store.ownership) {
        // Owned elsewhere: take it over and cancel from here. The old
        // owner's next commit fails its fencing check, so it lets go.
        const record = await store.ownership.claim(id, undefined, "cancel");
        if (record) a = resume(record);
      }
      if (!a) return false;
      apply(a, { type: "cancel", reason });
      await new Promise<void>((resolve) => queueMicrotask(resolve));
      await a.writing;
      return true;
    },
    owns(id) {
      return active.has(id);
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
