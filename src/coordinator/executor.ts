// The executor carries out what the engine decides: it feeds inputs to the
// transition function, persists each delta through the store, and runs the
// resulting commands on the supervisor pool. Jobs go out while the commit
// that made them ready is written (pipelined); every other command runs
// only after its commit is stored.
//
// The parts with decisions of their own live in executor/: the commit queue
// (ordered, merged, lazy commits), the job-event translation (wire events to
// engine inputs) and the children of sub-workflow steps. This file wires
// them to the store, the pool and the engine.
import type { Logger } from "pino";
import { create } from "@bufbuild/protobuf";
import { JobSchema, type JobEvent } from "../../gen/horus/coordinator/v1/supervisor_pb.js";
import { msDuration, toValueMap, type JsonMap } from "../common/json.js";
import { setLazyField } from "../common/lazy-field.js";
import { attemptCommand, createEngineState, jobInput, pendingTimers, transition, type Command, type EngineInput, type EngineState } from "../engine/engine.js";
import { copyStep, type DomainEvent, type StepFailure, type WorkflowRecord } from "../engine/model.js";
import { DEFAULT_TRANSITION_BUDGET_MS, overTransitionBudget, quarantine } from "../engine/quarantine.js";
import { StepState, WorkflowState, isTerminalStep, isTerminalWorkflow, stepStateName, workflowStateName } from "../engine/states.js";
import type { AttachedAttempt, DispatchListener, SupervisorPool } from "../dispatch/pool.js";
import { LeaseLostError, StoreUnavailableError, type LogRecord, type Store, type WorkflowCommit } from "../store/store.js";
import type { ValidationLimits } from "../workflow/definition.js";
import { validateAndPlan, type WorkflowPlan } from "../workflow/plan.js";
import { createChildren, replanLimits, type Children, type ChildrenContext } from "./executor/children.js";
import { createCommitQueue, isUrgent, type CommitQueue, type PendingCommit } from "./executor/commit-queue.js";
import { jobEventEffect } from "./executor/job-events.js";
import { createTimerGroup, type TimerGroup } from "./timers.js";
import type { ExecutorHooks } from "../observability/executor-hooks.js";
import { StepFailureCode } from "../common/failure-codes.js";

export type { ExecutorHooks };

export interface ExecutorOptions {
  store: Store;
  logger: Logger;
  hooks?: ExecutorHooks;
  /** Clock, replaceable for tests. */
  now?: () => number;
  /** Largest step output accepted from a supervisor, as JSON bytes (default 4 MiB); a larger one fails the step OUTPUT_TOO_LARGE. */
  maxOutputBytes?: number;
  /** The CEL budget and sub-workflow depth that stored definitions are planned and run with (default DEFAULT_LIMITS'). */
  limits?: Partial<Pick<ValidationLimits, "celBudget" | "maxDepth">>;
  /**
   * Longest one transition of one workflow may hold the event loop, ms
   * (default DEFAULT_TRANSITION_BUDGET_MS); past it the workflow is
   * quarantined (engine/quarantine.ts).
   */
  transitionBudgetMs?: number;
}

interface Active {
  engine: EngineState;
  /** Its commits, written in order; dropped with the workflow. */
  commits: CommitQueue;
  /** Another coordinator took the workflow over: this copy is stale and ignored. */
  dropped: boolean;
  /** The engine's pending wakes (retries, timeouts). */
  timers: TimerGroup;
  /** Its sub-workflow steps' child workflows (started, followed, cancelled). */
  children: Children;
  /** Job stops sent for this workflow's cancellation, resolved once delivered (or given up). */
  stops: Array<Promise<void>>;
  /**
   * Taken over from another coordinator: until this time, a job is sent
   * only once no supervisor turns out to have its attempt already, since
   * the previous owner sent jobs before the commits that made them ready
   * were stored, and this one derives the same attempt ids again.
   */
  askFirstUntil?: number;
  /**
   * The workflow's inputs as a job carries them, converted once: they never
   * change, and a for_each over an input list would otherwise convert the
   * whole list for each of its instances.
   */
  jobInputs?: ReturnType<typeof toValueMap>;
}

export interface Executor {
  /** The pool's callbacks; wire them with setPool. */
  readonly listener: DispatchListener;
  setPool(pool: SupervisorPool): void;
  /** Stores a new workflow and starts it; returns its id (an existing one for a repeated idempotency key). */
  start(record: WorkflowRecord, plan: WorkflowPlan): Promise<{ id: string; existing: boolean }>;
  /** start for many: one store call creates them all (Store.createWorkflows), then each new one starts. Results in order. */
  startMany(items: ReadonlyArray<{ record: WorkflowRecord; plan: WorkflowPlan }>): Promise<Array<{ id: string; existing: boolean }>>;
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
  /**
   * Sends the job stops of a CANCELLED workflow again (idempotent): a
   * coordinator that died between storing a cancellation and reaching the
   * supervisors left them running, and the client's retried cancel lands here.
   */
  restop(record: WorkflowRecord): Promise<void>;
  /**
   * Runs a FAILED or CANCELLED workflow again from where it failed (the
   * engine's retryWorkflow). False when it is in another state or unknown.
   */
  retry(id: string): Promise<boolean>;
  /** Whether this coordinator is advancing the workflow. */
  owns(id: string): boolean;
  /**
   * Lets go of this coordinator's copy of a workflow, if it holds one: it is
   * about to be claimed from another owner, so the copy is stale, and it
   * must not commit under the fencing token the claim hands out.
   */
  forget(id: string): void;
  /** Number of workflows this coordinator is advancing. */
  activeCount(): number;
  /** Resolves when every queued commit has been written. */
  drain(): Promise<void>;
}

export function createExecutor(options: ExecutorOptions): Executor {
  const { store, logger } = options;
  const hooks = options.hooks ?? {};
  const now = options.now ?? Date.now;
  const maxOutputBytes = options.maxOutputBytes ?? 4 * 1024 * 1024;
  const replan = replanLimits(options.limits);
  const transitionBudgetMs = options.transitionBudgetMs ?? DEFAULT_TRANSITION_BUDGET_MS;
  const active = new Map<string, Active>();
  /** Copies whose final commit is being written: no longer active, but still to be dropped if the workflow is taken over meanwhile. */
  const finishing = new Map<string, Active>();
  let pool: SupervisorPool | undefined;

  function pendingOf(a: Active, urgent: boolean): PendingCommit {
    return a.commits.pending(urgent);
  }

  function apply(a: Active, input: EngineInput): void {
    if (a.dropped) return;
    let fx;
    const started = performance.now();
    try {
      fx = transition(a.engine, input, now());
    } catch (err) {
      // A bug or a record the engine cannot follow: the workflow is failed
      // and left alone, so neither this coordinator nor the next that would
      // take it over keeps failing on it.
      logger.error({ err, workflowId: a.engine.record.id, input: input.type }, "the engine failed on this workflow; quarantining it (FAILED, INTERNAL)");
      quarantineActive(a, `its "${input.type}" transition threw: ${(err as Error).message}`);
      return;
    }
    const p = pendingOf(a, isUrgent(input.type, fx.workflowChanged));
    for (const e of fx.events) p.events.push(e);
    for (const i of fx.changed) p.changed.add(i);
    if (fx.workflowChanged) p.header = true;
    for (const c of fx.commands) p.commands.push(c);
    const slow = overTransitionBudget(performance.now() - started, transitionBudgetMs, input.type);
    if (slow) {
      logger.error({ workflowId: a.engine.record.id, input: input.type }, `${slow}; quarantining it (FAILED, INTERNAL)`);
      quarantineActive(a, slow);
    }
  }

  /** Ends a workflow the engine failed on: FAILED with INTERNAL, running work stopped, stored like any commit. */
  function quarantineActive(a: Active, reason: string): void {
    const q = quarantine(a.engine.record, reason, now());
    if (q.events.length === 0) return;
    const p = pendingOf(a, true);
    // What the failed transitions asked for must not run: only stops do.
    p.commands = p.commands.filter((c) => c.type === "cancelJob" || c.type === "cancelChild");
    for (const e of q.events) p.events.push(e);
    for (const i of q.changed) p.changed.add(i);
    p.header = true;
    for (const s of q.stops) {
      p.commands.push(s.childWorkflowId ? { type: "cancelChild", attemptId: s.attemptId, workflowId: s.childWorkflowId } : { type: "cancelJob", attemptId: s.attemptId, ...(s.supervisor ? { supervisor: s.supervisor } : {}) });
    }
  }

  /** Quarantines a stored workflow that does not even load into the engine (we own it: just claimed). */
  async function quarantineStored(record: WorkflowRecord, reason: string): Promise<void> {
    logger.error({ workflowId: record.id, reason }, "cannot resume a stored workflow; quarantining it (FAILED, INTERNAL)");
    const q = quarantine(record, reason, now());
    if (q.events.length === 0) return;
    await store.commit(record.id, {
      header: { state: record.state, ...(record.startedAt !== undefined ? { startedAt: record.startedAt } : {}), finishedAt: record.finishedAt!, error: record.error! },
      steps: q.changed.map((index) => ({ index, record: copyStep(record.steps[index]!) })),
      events: q.events,
    });
    observe(record.id, q.events);
    for (const s of q.stops) {
      if (s.childWorkflowId) void cancelAnywhere(s.childWorkflowId, "parent workflow failed").catch(() => undefined);
      else if (pool) void pool.cancel(s.attemptId, "workflow failed");
    }
  }

  const childrenContext: ChildrenContext = { store, logger, now, start: (record, plan) => startWorkflow(record, plan), cancel: (id, reason) => cancelAnywhere(id, reason), limits: replan };

  /** Stores one commit of the workflow and runs its commands: jobs at once, the rest once stored (the commit queue's writer). */
  async function writeOne(a: Active, p: PendingCommit): Promise<void> {
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
    const commit = { ...(header ? { header } : {}), steps: steps.map((s) => ({ index: s.index, record: copyStep(s.record) })), events: p.events };
    const logs = p.logs;
    // Jobs go out while the commit that made them ready is written
    // (pipelined): a successor that never saw that commit derives the same
    // attempt ids and finds the jobs (askFirstUntil). Stops and timers wait
    // for the commit, so nothing the store does not know is ever undone.
    const commands = p.commands.filter((c) => c.type !== "dispatch");
    const sent: string[] = [];
    if (!a.dropped) {
      for (const c of p.commands) {
        if (c.type !== "dispatch") continue;
        run(a, c);
        sent.push(c.attemptId);
      }
    }
    const ending = isTerminalWorkflow(wf.state);
    if (ending) {
      active.delete(wf.id);
      release(a);
      // Still forgettable until its last commit is written (see below).
      finishing.set(wf.id, a);
    }
    try {
      await writeStored(a, wf, commit, logs, sent);
    } finally {
      if (ending && finishing.get(wf.id) === a) finishing.delete(wf.id);
    }
    if (!a.dropped) for (const c of commands) run(a, c);
  }

  async function writeStored(a: Active, wf: WorkflowRecord, commit: WorkflowCommit, logs: LogRecord[], sent: string[]): Promise<void> {
    if (logs.length > 0) await store.appendLogs(wf.id, logs);
    if (commit.events.length > 0 || commit.steps.length > 0 || commit.header) {
      try {
        // A copy dropped while this write waited (the workflow was taken
        // over, or taken back by this node: ownership.ts forgets the copy
        // before it claims) must not commit: the store would check it
        // against the ownership this node holds now, the new copy's.
        if (a.dropped) throw new LeaseLostError(`workflow ${wf.id}: this copy was dropped before its commit was written`);
        await store.commit(wf.id, commit);
      } catch (err) {
        if (err instanceof LeaseLostError && !err.reload) stopUnstored(sent);
        throw err;
      }
      if (commit.events.length > 0) observe(wf.id, commit.events);
    }
  }

  /**
   * Stops jobs sent ahead of a commit the store refused (fenced: it was not
   * applied). The new owner resumed from a record without them, so nobody
   * else would ever stop them. Superseded, not cancelled: if the new owner
   * derived the same attempt id and attached to one, it sees the attempt
   * lost and runs it again, instead of seeing its step cancelled.
   */
  function stopUnstored(attemptIds: readonly string[]): void {
    if (!pool) return;
    for (const id of attemptIds) void pool.cancel(id, "its workflow was taken over before this dispatch was stored", true).catch(() => undefined);
  }

  /** The store refused a commit: another node owns the workflow now, or the store lost it. Its commit queue let go already. */
  async function leaseLost(a: Active, err: LeaseLostError): Promise<void> {
    const id = a.engine.record.id;
    drop(a);
    if (err.reload && store.ownership) {
      logger.warn({ workflowId: id }, "the store lost writes of this workflow; reloading it and re-attaching its jobs");
      await reload(id);
      return;
    }
    if (err.gone) logger.error({ workflowId: id }, "workflow data lost: the store no longer has this workflow (deleted, expired, or the store restarted empty); dropping this copy");
    else logger.warn({ workflowId: id }, "workflow taken over by another coordinator; dropping this copy");
  }

  /** Structured log lines and hooks for the events of a stored commit. */
  function observe(workflowId: string, events: readonly DomainEvent[]): void {
    for (const e of events) {
      if (e.kind === "workflow") logger.info({ workflowId, state: workflowStateName(e.state), ...(e.error ? { error: e.error } : {}) }, "workflow state");
      else if (logger.isLevelEnabled("debug")) {
        logger.debug(
          { workflowId, stepId: e.stepId, attempt: e.attempt, state: stepStateName(e.state), ...(e.instance !== undefined ? { instance: e.instance } : {}), ...(e.supervisor ? { supervisor: e.supervisor } : {}), ...(e.error ? { error: e.error } : {}) },
          "step state",
        );
      }
    }
    hooks.committed?.(workflowId, events);
  }

  function run(a: Active, c: Command): void {
    switch (c.type) {
      case "cancelJob":
        if (pool) a.stops.push(pool.cancel(c.attemptId, "workflow cancelled"));
        return;
      case "dispatch":
        return dispatch(a, c);
      case "wake":
        a.timers.at(c.at, () => {
          if (active.get(a.engine.record.id) === a) apply(a, c.input);
        });
        return;
      case "startChild":
        return a.children.startChild(c);
      case "cancelChild":
        return a.children.cancelChild(c);
    }
  }

  function dispatch(a: Active, c: Extract<Command, { type: "dispatch" }>): void {
    const wf = a.engine.record;
    const def = a.engine.plan.steps[c.planIndex]!;
    // The supervisor's own limit is a backstop a little after the
    // coordinator's, so the coordinator's DEADLINE_EXCEEDED normally wins.
    const timeoutMs = c.timeoutMs ?? def.timeoutMs;
    hooks.dispatched?.(wf.id, wf.steps[c.step]!.id, def.runner);
    const job = create(JobSchema, {
      attemptId: c.attemptId,
      workflowId: wf.id,
      stepId: wf.steps[c.step]!.id,
      attempt: c.attempt,
      runner: def.runner,
      payload: def.payload,
      ...(timeoutMs !== undefined ? { timeout: msDuration(timeoutMs + 1_000) } : {}),
      // Names only: the supervisor holds the values.
      ...(def.secrets !== undefined ? { secrets: def.secrets } : {}),
    });
    // Converted to Values only if the job goes over the wire as Values
    // (lazy-field.ts); a link whose supervisor reads JSON sends the JSON.
    setLazyField(job, "input", jobInput(a.engine, c.step, c.extraInput), (json) => toValueMap(json as JsonMap));
    // The workflow's inputs: converted at most once per workflow, whatever the number of its jobs.
    setLazyField(job, "inputs", wf.inputs, () => (a.jobInputs ??= toValueMap(wf.inputs)));
    const route = {
      ...(def.supervisor !== undefined ? { supervisor: def.supervisor } : {}),
      ...(def.labels !== undefined ? { labels: def.labels } : {}),
      ...(def.secrets !== undefined ? { secrets: def.secrets } : {}),
    };
    if (!pool) return;
    const p = pool;
    if (a.askFirstUntil === undefined || now() > a.askFirstUntil) return p.dispatch(job, route);
    p.attach([{ attemptId: job.attemptId, workflowId: job.workflowId, stepId: job.stepId, runner: job.runner }]).then(
      (unknown) => {
        if (unknown.includes(job.attemptId) && !a.dropped) p.dispatch(job, route);
      },
      () => {
        if (!a.dropped) p.dispatch(job, route);
      },
    );
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
      // The engine decides (R10): sent again while never acknowledged, else lost.
      if (a) apply(a, { type: "unknownAttempt", attemptId, reason });
    },
    waiting(attemptId, reason) {
      const a = findByAttempt(attemptId);
      if (a) apply(a, { type: "waiting", attemptId, reason });
    },
    jobEvents(_supervisor, events: JobEvent[]) {
      for (const ev of events) {
        const a = active.get(ev.workflowId);
        if (!a) continue;
        const fx = jobEventEffect(ev, { maxOutputBytes, now: now(), attemptNumber: (attemptId) => attemptNumber(a, attemptId) });
        if (fx?.type === "input") apply(a, fx.input);
        else if (fx?.type === "log") pendingOf(a, false).logs.push(fx.log);
      }
    },
  };

  /** The number of the workflow's attempt, if current (log lines are stored under it), else 0. */
  function attemptNumber(a: Active, attemptId: string): number {
    const step = a.engine.byAttempt.get(attemptId);
    return step === undefined ? 0 : a.engine.record.steps[step]!.attempts.length;
  }

  // Another coordinator cancelled one of our workflows: only this one knows
  // where its jobs were sent, so stop them, then let the workflow go.
  store.ownership?.onNotice((id, notice) => {
    const a = active.get(id);
    if (!a || notice !== "cancel") return;
    for (const step of a.engine.record.steps) {
      const last = step.attempts[step.attempts.length - 1];
      if (last && !isTerminalStep(last.state) && step.state !== StepState.PENDING) void pool?.cancel(last.attemptId, "workflow cancelled");
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
    let a: Active | undefined;
    try {
      a = resume(record);
    } catch (err) {
      return quarantineStored(record, `its stored record does not load: ${(err as Error).message}`);
    }
    if (!a) return quarantineStored(record, "its stored definition does not plan");
    a.askFirstUntil = now() + ASK_FIRST_MS;
    if (record.state === WorkflowState.PENDING) return apply(a, { type: "start" });
    let timers: Command[];
    try {
      timers = pendingTimers(a.engine);
    } catch (err) {
      logger.error({ err, workflowId: record.id }, "could not resume a workflow; quarantining it (FAILED, INTERNAL)");
      return quarantineActive(a, `resuming it threw: ${(err as Error).message}`);
    }
    // Timers live in memory only: arm again what the stored state says is pending.
    for (const c of timers) run(a, c);
    await reattach(a);
  }

  function drop(a: Active): void {
    if (!a.dropped) hooks.dropped?.(a.engine.record.id);
    a.dropped = true;
    a.commits.drop();
    release(a);
    if (active.get(a.engine.record.id) === a) active.delete(a.engine.record.id);
  }

  /** Stops the timers and child watches of a workflow that ended or left. */
  function release(a: Active): void {
    a.timers.clear();
    a.children.release();
  }

  function activate(record: WorkflowRecord, plan: WorkflowPlan): Active {
    const previous = active.get(record.id);
    if (previous) drop(previous);
    const engine = createEngineState(record, plan);
    const parent = { engine, get dropped() { return a.dropped; }, apply: (input: EngineInput) => apply(a, input) };
    const commits = createCommitQueue({
      write: (p) => writeOne(a, p),
      leaseLost: (err) => leaseLost(a, err),
      failed: (err) => logger.error({ err, workflowId: record.id }, "could not store a workflow transition"),
    });
    const a: Active = { engine, commits, dropped: false, timers: createTimerGroup(now), children: createChildren(parent, childrenContext), stops: [] };
    active.set(record.id, a);
    return a;
  }

  /** Builds the engine state of a stored workflow; undefined (and logged) if its definition no longer plans. */
  function resume(record: WorkflowRecord): Active | undefined {
    const { plan, problems } = validateAndPlan(record.definition, replan);
    if (!plan) {
      logger.error({ workflowId: record.id, problems }, "cannot resume a stored workflow: its definition does not plan");
      return undefined;
    }
    return activate(record, plan);
  }

  /**
   * Stops, wherever they may still run, the attempts recorded lost: their
   * supervisor was declared down and the step ran again, and the node that
   * did so would have stopped the old copy when that supervisor came back,
   * but that node may be gone (which is why this workflow is resumed here).
   */
  function stopLostCopies(wf: WorkflowRecord): Promise<void> {
    if (!pool) return Promise.resolve();
    const lost: string[] = [];
    for (const step of wf.steps) for (const x of step.attempts) if (x.error?.code === StepFailureCode.ATTEMPT_LOST && !x.childWorkflowId) lost.push(x.attemptId);
    if (lost.length === 0) return Promise.resolve();
    return pool.stopEverywhere(lost, "the attempt was given up as lost and ran again", true).catch(() => undefined);
  }

  async function reattach(a: Active): Promise<void> {
    const wf = a.engine.record;
    const attempts: AttachedAttempt[] = [];
    for (let i = 0; i < wf.steps.length; i++) {
      const step = wf.steps[i]!;
      const last = step.attempts[step.attempts.length - 1];
      if (isTerminalStep(step.state) || !last || isTerminalStep(last.state)) continue;
      const cmd = attemptCommand(a.engine, i);
      if (cmd.type === "startChild") {
        // A sub-workflow step: follow its child, or ask for it again (same child by idempotency key).
        if (last.childWorkflowId) a.children.watchChild(last.attemptId, last.childWorkflowId);
        else run(a, cmd);
        continue;
      }
      attempts.push({
        attemptId: last.attemptId,
        workflowId: wf.id,
        stepId: step.id,
        runner: a.engine.plan.steps[cmd.type === "dispatch" ? cmd.planIndex : i]!.runner,
        ...(last.supervisor !== undefined ? { supervisor: last.supervisor } : {}),
      });
    }
    void stopLostCopies(wf);
    if (attempts.length === 0 || !pool) return;
    const unknown = await pool.attach(attempts);
    // The engine decides (R10): sent again while never acknowledged, else lost.
    for (const attemptId of unknown) apply(a, { type: "unknownAttempt", attemptId, reason: "no supervisor knows the attempt after its coordinator changed" });
  }

  function findByAttempt(attemptId: string): Active | undefined {
    // Attempt ids are "<workflow id>.<step id>.<n>" and workflow ids contain no dots.
    const dot = attemptId.indexOf(".");
    return dot > 0 ? active.get(attemptId.slice(0, dot)) : undefined;
  }

  /** Resolves once what was applied to the workflow so far is stored. */
  async function settle(a: Active): Promise<void> {
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    await a.commits.writing;
  }

  async function startWorkflow(record: WorkflowRecord, plan: WorkflowPlan): Promise<{ id: string; existing: boolean }> {
    const created = await store.createWorkflow(record);
    if (created.existing) return created;
    const a = activate(record, plan);
    apply(a, { type: "start" });
    return created;
  }

  async function cancelAnywhere(id: string, reason: string): Promise<boolean> {
    // A copy we hold may be stale: another coordinator can have taken the
    // workflow over (our lease lapsed while Redis was away) without our
    // knowing yet. Then the cancel's commit is fenced off and the copy
    // dropped, so the cancel did not happen: go again, through the store.
    for (let tries = 0; tries < 5; tries++) {
      let a = active.get(id);
      if (!a && store.ownership) {
        // Owned elsewhere: take it over and cancel from here. The old
        // owner's next commit fails its fencing check, so it lets go.
        const record = await store.ownership.claim(id, undefined, "cancel");
        if (record) a = resume(record);
      }
      if (!a) return false;
      apply(a, { type: "cancel", reason });
      // A cancel taken over here never re-attached the workflow: its lost
      // copies are stopped with the rest, and the answer waits for them too.
      a.stops.push(stopLostCopies(a.engine.record));
      await settle(a);
      if (!a.dropped) {
        await delivered(a.stops);
        return true;
      }
    }
    throw new StoreUnavailableError("the workflow kept changing owner while it was being cancelled; try again");
  }

  /**
   * Waits (a bounded time) until the stops of a cancellation reached the
   * supervisors, so a CancelWorkflow answered OK means the jobs were told;
   * one that fails because this coordinator died meanwhile is retried by
   * the client, and a cancel of a CANCELLED workflow sends the stops again.
   */
  async function delivered(stops: Array<Promise<void>>): Promise<void> {
    if (stops.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(stops), new Promise((r) => (timer = setTimeout(r, STOP_CONFIRM_MS)))]);
    clearTimeout(timer);
  }

  return {
    listener,
    async restop(record) {
      if (!pool || record.state !== WorkflowState.CANCELLED) return;
      const ids: string[] = [];
      for (const step of record.steps) {
        const last = step.attempts[step.attempts.length - 1];
        // Attempts the cancellation ended; not sub-workflows (their own cancel covers them).
        if (!last || last.state !== StepState.CANCELLED || last.childWorkflowId !== undefined || step.error?.code !== StepFailureCode.CANCELLED) continue;
        ids.push(last.attemptId);
      }
      // Whoever dispatched them is unknown here: every supervisor is asked, in batches.
      await delivered([...(ids.length > 0 ? [pool.stopEverywhere(ids, "workflow cancelled")] : []), stopLostCopies(record)]);
    },
    setPool(p) {
      pool = p;
    },
    start: startWorkflow,
    async startMany(items) {
      const created = await store.createWorkflows(items.map((i) => i.record));
      items.forEach(({ record, plan }, i) => {
        if (!created[i]!.existing) apply(activate(record, plan), { type: "start" });
      });
      return created;
    },
    adopt,
    async retry(id) {
      if (active.has(id)) return false;
      const record = store.ownership ? await store.ownership.reopen(id) : (await store.getWorkflow(id))?.record;
      if (!record || (record.state !== WorkflowState.FAILED && record.state !== WorkflowState.CANCELLED)) return false;
      const a = resume(record);
      if (!a) return false;
      apply(a, { type: "retryWorkflow" });
      await settle(a);
      return true;
    },
    cancel: cancelAnywhere,
    owns(id) {
      return active.has(id);
    },
    forget(id) {
      const a = active.get(id);
      if (a) drop(a);
      // A copy whose final commit is still being written is dropped too.
      const ending = finishing.get(id);
      if (ending) drop(ending);
    },
    activeCount() {
      return active.size;
    },
    async drain() {
      await new Promise<void>((resolve) => queueMicrotask(resolve));
      // Progress reports waiting for company are written now.
      for (const a of active.values()) a.commits.flush();
      await Promise.all([...active.values()].map((a) => a.commits.writing));
    },
  };
}

/** How long CancelWorkflow waits for its job stops to reach the supervisors before answering anyway. */
const STOP_CONFIRM_MS = 3_000;
/**
 * How long after a takeover jobs are looked for before they are sent: the
 * previous owner's unstored transitions are derived again from the job
 * results that re-attaching finds, within seconds.
 */
const ASK_FIRST_MS = 30_000;
