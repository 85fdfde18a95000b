// The one implementation of CoordinatorService. Every surface (Connect,
// gRPC, gRPC-web, and later JSON-RPC) calls these methods.
import { setImmediate as yieldToIo } from "node:timers/promises";
import { create, isMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  CoordinatorService,
  RunWorkflowResponseSchema,
  ValidateWorkflowResponseSchema,
  type SubmitWorkflowRequest,
  type SubmitWorkflowResponseSchema,
  type WatchWorkflowRequest,
  WatchWorkflowResponseSchema,
} from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { fromValueMap } from "../common/json.js";
import { STORE_UNAVAILABLE_HEADER } from "../common/store-unavailable.js";
import { truncateId } from "../common/truncate.js";
import { WorkflowState, isTerminalWorkflow, workflowStateName } from "../engine/states.js";
import { InvalidCursorError, StoreUnavailableError, type Store, type Unsubscribe } from "../store/store.js";
import type { Problem, ValidationLimits, WorkflowDefinition } from "../workflow/definition.js";
import { findTemplateCycle } from "../workflow/template-refs.js";
import { binaryWire, definitionToSpec, eventToProto, logToProto, planToProto, problemsToProto, summaryToProto, templateToProto, workflowToProto } from "./convert.js";
import type { CheckedDefinition, Definition } from "./check-definition.js";
import { checkedInWorker } from "./request-offload.js";
import { checkDefinitionOffThread, createDefinitionPool, type DefinitionPool } from "./definition-pool.js";
import type { Executor } from "./executor.js";
import { newWorkflowRecord } from "./records.js";
import { applyInputs } from "../workflow/inputs.js";
import { createListBatch, decideListSend } from "./list-batcher.js";
import { directlyEncodable, eventsMessage } from "./event-wire.js";
import { latestOnly } from "./watch-fold.js";
import { encodeWorkflow } from "./workflow-wire.js";
import { snapshotMessage } from "./snapshot-wire.js";
import type { RegistrySync } from "../dispatch/registry.js";
import { ts } from "../common/json.js";
import type { Scheduler } from "../schedule/scheduler.js";
import { scheduleMethods } from "./schedules.js";
import { runnerWarnings } from "./runner-warnings.js";

export interface CoordinatorServiceOptions {
  store: Store;
  executor: Executor;
  /** Limits for definitions (steps per workflow, payload size). */
  limits?: Partial<ValidationLimits>;
  /** Aborted when the server shuts down: open streams end with UNAVAILABLE. */
  shutdown?: AbortSignal;
  /** The supervisor pool's registrations and listing (RegisterSupervisor, ListSupervisors). */
  supervisors?: RegistrySync;
  /** Worker threads that read large definitions (default: a pool with its defaults, started on first use); share it with createRequestOffload. */
  definitions?: DefinitionPool;
  /**
   * How long WatchWorkflows gathers progress (workflows created, steps
   * changing) before sending it, ms (default 100). A workflow's end is
   * sent at once whatever this is, with the progress gathered so far.
   */
  listWindowMs?: number;
  /** Woken when a schedule is created, paused or resumed through this service. */
  scheduler?: Pick<Scheduler, "poke">;
}

/**
 * A watch that hears nothing for this long checks that its workflow still
 * exists, and reads its events again (ms): one deleted from the store, or
 * lost with a store that restarted empty, sends no notification, nor does a
 * change whose pub/sub message was lost, and its watchers would wait forever.
 */
const WATCH_EXISTS_CHECK_MS = 5_000;

/**
 * A batched WatchWorkflow gathers the events of this long into one message
 * (ms): a chain hop is well under a millisecond, so one message carries
 * many hops. Its end does not wait (the store's change feed says a change
 * ended the workflow).
 */
const WATCH_BATCH_MS = 20;

/** WatchWorkflows gathers progress for this long before sending it (ms); ends go at once (list-batcher.ts). */
const LIST_WINDOW_MS = 100;

export { checkDefinition, type CheckedDefinition } from "./check-definition.js";
export { checkDefinitionOffThread } from "./definition-pool.js";

const TEMPLATE_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

function invalid(problems: Problem[], what = "invalid workflow"): ConnectError {
  const shown = problems.slice(0, 20).map((p) => p.message);
  const more = problems.length > shown.length ? `; and ${problems.length - shown.length} more` : "";
  return new ConnectError(`${what}: ${shown.join("; ")}${more}`, Code.InvalidArgument, undefined, [
    { desc: ValidateWorkflowResponseSchema, value: { valid: false, problems: problemsToProto(problems) } },
  ]);
}

/** Most definitions one SubmitWorkflows call takes (the proto's max_items; checked here for callers that skip validation). */
const MAX_BATCH_SUBMISSIONS = 1000;

/** How long SubmitWorkflows reads definitions on the main thread before letting other requests in (ms). */
const BATCH_SLICE_MS = 10;

/** A problem of the batch's definition `index`, saying which one in its field and message. */
function inBatch(index: number, p: Problem): Problem {
  const at = `workflows[${index}]`;
  return { stepId: p.stepId, field: p.field ? `${at}.${p.field}` : at, message: `${at}: ${p.message}` };
}

type SubmitWorkflowResponseInit = MessageInitShape<typeof SubmitWorkflowResponseSchema>;
type WatchWorkflowResponseInit = MessageInitShape<typeof WatchWorkflowResponseSchema>;
/** What following a workflow needs of WatchWorkflow's request (RunWorkflow makes one). */
type FollowRequest = Pick<WatchWorkflowRequest, "workflowId" | "cursor" | "batch" | "outputs" | "latestOnly">;

/**
 * A watch message as RunWorkflow's: the same fields under the same numbers.
 * Fields pre-encoded as unknown ones (event-wire.ts) are kept, which
 * Connect's own conversion of a message of another type would drop.
 */
function asRunResponse(msg: WatchWorkflowResponseInit): MessageInitShape<typeof RunWorkflowResponseSchema> {
  if (!isMessage(msg, WatchWorkflowResponseSchema)) return msg as MessageInitShape<typeof RunWorkflowResponseSchema>;
  const run = create(RunWorkflowResponseSchema, { kind: msg.kind, cursor: msg.cursor } as MessageInitShape<typeof RunWorkflowResponseSchema>);
  if (msg.$unknown) run.$unknown = msg.$unknown;
  return run;
}

function requireId(id: string): void {
  if (!id) throw new ConnectError("workflow_id is required", Code.InvalidArgument);
}


/** Waits for a store notification, the client going away, or shutdown. */
function waiter(store: Store, kinds: Array<"events" | "logs">, id: string, signals: AbortSignal[]) {
  let dirty = true;
  let wake: (() => void) | undefined;
  const unsubscribes = kinds.map((kind) =>
    store.subscribe(kind, id, () => {
      dirty = true;
      wake?.();
    }),
  );
  const onAbort = () => wake?.();
  for (const s of signals) s.addEventListener("abort", onAbort);
  return {
    /** Settles once every notification is sure to come: await it before the first read (Unsubscribe.ready). */
    ready: Promise.all(unsubscribes.map((u) => u.ready)),
    /** True once, after each notification (and initially). */
    take(): boolean {
      const was = dirty;
      dirty = false;
      return was;
    },
    /** Resolves on a notification or an abort, or after `timeoutMs` when given. */
    async wait(timeoutMs?: number): Promise<void> {
      if (dirty || signals.some((s) => s.aborted)) return;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        wake = resolve;
        if (timeoutMs !== undefined) timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
      wake = undefined;
    },
    close() {
      for (const u of unsubscribes) u();
      for (const s of signals) s.removeEventListener("abort", onAbort);
    },
  };
}

function checkAborted(ctx: HandlerContext, shutdown: AbortSignal | undefined): boolean {
  if (shutdown?.aborted) throw new ConnectError("server is shutting down", Code.Unavailable);
  return ctx.signal.aborted;
}

function cursorError(err: unknown): never {
  if (err instanceof InvalidCursorError) throw new ConnectError(err.message, Code.InvalidArgument);
  throw err;
}

function storeDown(err: unknown): never {
  if (err instanceof StoreUnavailableError) {
    throw new ConnectError(`the coordinator's store is unavailable: ${err.message}`, Code.Unavailable, new Headers({ [STORE_UNAVAILABLE_HEADER]: "1" }));
  }
  throw err;
}

async function* mapStream<T>(stream: AsyncIterable<T>): AsyncIterable<T> {
  try {
    yield* stream;
  } catch (err) {
    storeDown(err);
  }
}

/**
 * Wraps every method so a store outage reaches clients as UNAVAILABLE
 * (retryable) instead of INTERNAL, for unary and streaming methods alike.
 */
function withStoreErrors<T extends object>(impl: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(impl)) {
    wrapped[name] = (...args: unknown[]) => {
      const result: unknown = (fn as (...a: unknown[]) => unknown).apply(impl, args);
      if (result !== null && typeof result === "object" && Symbol.asyncIterator in result) return mapStream(result as AsyncIterable<unknown>);
      return Promise.resolve(result).catch(storeDown);
    };
  }
  return wrapped as T;
}

export function createCoordinatorService(options: CoordinatorServiceOptions): ServiceImpl<typeof CoordinatorService> {
  return withStoreErrors(createService(options));
}

function createService(options: CoordinatorServiceOptions): ServiceImpl<typeof CoordinatorService> {
  const { store, executor, limits, shutdown, supervisors } = options;
  const listWindowMs = options.listWindowMs ?? LIST_WINDOW_MS;
  const definitions = options.definitions ?? createDefinitionPool();
  const signals = (ctx: HandlerContext) => (shutdown ? [ctx.signal, shutdown] : [ctx.signal]);
  /** The request's definition checked: in a worker already when the request was large (request-offload.ts), else here (or in a worker for large YAML). */
  const checkRequest = async (definition: Definition, ctx: HandlerContext): Promise<CheckedDefinition> =>
    checkedInWorker(ctx, limits) ?? (await checkDefinitionOffThread(definition, limits, definitions));
  /** Runners no supervisor offers (runner-warnings.ts); none when this service has no pool to ask. */
  const warningsFor = (definition: WorkflowDefinition, pool = supervisors?.list()): string[] => (pool ? runnerWarnings(definition, pool) : []);

  /** SubmitWorkflow's work, shared with RunWorkflow. */
  async function submitOne(req: SubmitWorkflowRequest, ctx: HandlerContext): Promise<SubmitWorkflowResponseInit & { workflowId: string }> {
    const checked = await checkRequest(req.definition, ctx);
    if (!checked.plan || !checked.parsed.definition) throw invalid(checked.problems);
    const given = applyInputs(checked.parsed.definition.inputs, fromValueMap(req.inputs));
    if (given.problems.length > 0) throw invalid(given.problems, "invalid inputs");
    const record = newWorkflowRecord({
      definition: checked.parsed.definition,
      plan: checked.plan,
      inputs: given.inputs,
      now: Date.now(),
      ...(req.idempotencyKey ? { idempotencyKey: req.idempotencyKey } : {}),
    });
    const { id, existing } = await executor.start(record, checked.plan);
    return { workflowId: id, existing, plan: planToProto(checked.plan.levels), warnings: warningsFor(checked.parsed.definition) };
  }

  /** WatchWorkflow's stream, shared with RunWorkflow. */
  async function* follow(req: FollowRequest, ctx: HandlerContext): AsyncGenerator<WatchWorkflowResponseInit> {
    requireId(req.workflowId);
    const wire = { binary: binaryWire(ctx.requestHeader), outputs: req.outputs };
    const w = waiter(store, ["events"], req.workflowId, signals(ctx));
    // Batched: wait out the window unless the change feed says the workflow ended.
    let ended = false;
    let endNow: (() => void) | undefined;
    const unsubscribe: Unsubscribe = req.batch
      ? store.subscribeChanges((id, terminal) => {
          if (id !== req.workflowId || !terminal) return;
          ended = true;
          endNow?.();
        })
      : () => {};
    const gather = () =>
      ended
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const timer = setTimeout(done, WATCH_BATCH_MS);
            function done() {
              clearTimeout(timer);
              endNow = undefined;
              resolve();
            }
            endNow = done;
          });
    try {
      await Promise.all([w.ready, unsubscribe.ready]);
      const got = await store.getWorkflow(req.workflowId);
      if (!got) throw new ConnectError(`workflow ${truncateId(req.workflowId)} not found`, Code.NotFound);
      let cursor = req.cursor;
      if (!cursor) {
        cursor = got.cursor;
        // A binary client's snapshot is written straight from the record
        // (workflow-wire.ts); a JSON client's, or a record that writer
        // leaves alone, is built by protobuf-es.
        const bytes = wire.binary ? encodeWorkflow(got.record, wire) : undefined;
        yield bytes ? snapshotMessage(bytes, cursor) : { kind: { case: "snapshot", value: workflowToProto(got.record, wire) }, cursor };
        if (isTerminalWorkflow(got.record.state)) return;
      }
      const endedBefore = isTerminalWorkflow(got.record.state);
      for (;;) {
        if (checkAborted(ctx, shutdown)) return;
        if (!w.take()) {
          await w.wait(WATCH_EXISTS_CHECK_MS);
          if (!w.take()) {
            if (checkAborted(ctx, shutdown)) return;
            if ((await store.summaries([req.workflowId])).length === 0) {
              throw new ConnectError(`workflow ${truncateId(req.workflowId)} no longer exists: its data is gone from the store (deleted, expired, or the store restarted empty)`, Code.NotFound);
            }
            // And read: a notification lost on the way (a pub/sub message
            // dropped with a connection) delays a watcher by this long at
            // most, rather than leaving it waiting for the next change.
          }
        }
        if (req.batch) {
          await gather();
          if (checkAborted(ctx, shutdown)) return;
        }
        for (;;) {
          const events = await store.readEvents(req.workflowId, cursor, 1000).catch(cursorError);
          if (req.batch) {
            const end = events.findIndex((e) => e.kind === "workflow" && isTerminalWorkflow(e.state));
            const sent = end < 0 ? events : events.slice(0, end + 1);
            if (sent.length > 0) {
              cursor = sent[sent.length - 1]!.cursor;
              const shown = req.latestOnly ? latestOnly(sent) : sent;
              yield wire.binary && shown.every(directlyEncodable)
                ? eventsMessage(req.workflowId, shown, req.outputs, cursor)
                : { kind: { case: "events", value: { events: shown.map((e) => eventToProto(req.workflowId, e, wire)) } }, cursor };
            }
            if (end >= 0) return;
          } else {
            for (const e of events) {
              cursor = e.cursor;
              yield { kind: { case: "event", value: eventToProto(req.workflowId, e, wire) }, cursor };
              if (e.kind === "workflow" && isTerminalWorkflow(e.state)) return;
            }
          }
          if (events.length < 1000) break;
        }
        // Resumed after the final event: nothing more will come.
        if (endedBefore) return;
      }
    } finally {
      unsubscribe();
      w.close();
    }
  }

  return {
    ...scheduleMethods({ store, executor, definitions, ...(limits ? { limits } : {}), ...(options.scheduler ? { scheduler: options.scheduler } : {}) }),

    submitWorkflow: (req, ctx) => submitOne(req, ctx),

    async submitWorkflows(req) {
      const n = req.workflows.length;
      if (n === 0) throw new ConnectError("workflows: at least one submission is required", Code.InvalidArgument);
      if (n > MAX_BATCH_SUBMISSIONS) throw new ConnectError(`workflows: at most ${MAX_BATCH_SUBMISSIONS} submissions per call, got ${n}; split the batch`, Code.InvalidArgument);
      // Every definition is checked before any is stored: an invalid one
      // fails the whole call and nothing is created. One at a time: a batch of large YAML documents then takes one place
      // in the worker pool's queue, never all of them (which refuses more).
      // Small ones are read on this thread; a batch of many gives other
      // requests a turn every BATCH_SLICE_MS instead of holding the thread
      // for all of them (1,000 definitions can be 4 MiB of YAML).
      const checked: CheckedDefinition[] = [];
      let slice = performance.now();
      for (const w of req.workflows) {
        checked.push(await checkDefinitionOffThread(w.definition, limits, definitions));
        if (performance.now() - slice > BATCH_SLICE_MS) {
          await yieldToIo();
          slice = performance.now();
        }
      }
      // Inputs are checked (and defaults filled in) only for definitions that are valid.
      const given = req.workflows.map((w, i) => (checked[i]!.parsed.definition ? applyInputs(checked[i]!.parsed.definition!.inputs, fromValueMap(w.inputs)) : undefined));
      const problems = checked.flatMap((c, i) => (c.plan && c.parsed.definition ? given[i]!.problems : c.problems).map((p) => inBatch(i, p)));
      if (problems.length > 0) throw invalid(problems, `invalid workflows (nothing was submitted)`);
      const now = Date.now();
      const items = req.workflows.map((w, i) => {
        const { plan, parsed } = checked[i]!;
        const record = newWorkflowRecord({
          definition: parsed.definition!,
          plan: plan!,
          inputs: given[i]!.inputs,
          now,
          ...(w.idempotencyKey ? { idempotencyKey: w.idempotencyKey } : {}),
        });
        return { record, plan: plan! };
      });
      const created = await executor.startMany(items);
      const pool = supervisors?.list();
      return {
        workflows: created.map((c, i) => ({ workflowId: c.id, existing: c.existing, plan: planToProto(items[i]!.plan.levels), warnings: warningsFor(items[i]!.record.definition, pool) })),
      };
    },

    async validateWorkflow(req, ctx) {
      const checked = await checkRequest(req.definition, ctx);
      return {
        valid: checked.problems.length === 0,
        problems: problemsToProto(checked.problems),
        ...(checked.plan ? { plan: planToProto(checked.plan.levels) } : {}),
        ...(checked.parsed.definition ? { spec: definitionToSpec(checked.parsed.definition) } : {}),
      };
    },

    async getWorkflow(req, ctx) {
      requireId(req.workflowId);
      const got = await store.getWorkflow(req.workflowId);
      if (!got) throw new ConnectError(`workflow ${truncateId(req.workflowId)} not found`, Code.NotFound);
      return { workflow: workflowToProto(got.record, { binary: binaryWire(ctx.requestHeader) }) };
    },

    async listWorkflows(req) {
      if (req.pageSize < 0) throw new ConnectError("page_size must not be negative", Code.InvalidArgument);
      const pageSize = Math.min(req.pageSize || 50, 1000);
      const page = await store
        .listWorkflows({ states: req.states.filter((s) => s !== WorkflowState.UNSPECIFIED), name: req.name, pageSize, pageToken: req.pageToken })
        .catch(cursorError);
      return { workflows: page.items.map(summaryToProto), nextPageToken: page.nextPageToken };
    },

    async cancelWorkflow(req) {
      requireId(req.workflowId);
      const got = await store.getWorkflow(req.workflowId);
      if (!got) throw new ConnectError(`workflow ${truncateId(req.workflowId)} not found`, Code.NotFound);
      if (isTerminalWorkflow(got.record.state)) {
        // Cancelled already: send its job stops again, in case the coordinator
        // that cancelled it died before they reached the supervisors.
        if (got.record.state === WorkflowState.CANCELLED) await executor.restop(got.record);
        return { state: got.record.state };
      }
      await executor.cancel(req.workflowId, req.reason || "cancelled by request");
      const after = await store.getWorkflow(req.workflowId);
      return { state: after?.record.state ?? WorkflowState.CANCELLED };
    },

    async retryWorkflow(req) {
      requireId(req.workflowId);
      const got = await store.getWorkflow(req.workflowId);
      if (!got) throw new ConnectError(`workflow ${truncateId(req.workflowId)} not found`, Code.NotFound);
      const state = got.record.state;
      if (state !== WorkflowState.FAILED && state !== WorkflowState.CANCELLED) {
        throw new ConnectError(`workflow ${truncateId(req.workflowId)} is ${workflowStateName(state)}; only FAILED or CANCELLED workflows can be retried`, Code.FailedPrecondition);
      }
      if (!(await executor.retry(req.workflowId))) throw new ConnectError(`workflow ${truncateId(req.workflowId)} changed state meanwhile; try again`, Code.Aborted);
      const after = await store.getWorkflow(req.workflowId);
      return { state: after?.record.state ?? WorkflowState.RUNNING };
    },

    async registerWorkflowTemplate(req, ctx) {
      if (!TEMPLATE_NAME.test(req.name)) {
        throw new ConnectError(`template name must be 1-128 letters, digits, "_", "-" or ".", got "${truncateId(req.name)}"`, Code.InvalidArgument);
      }
      const checked = await checkRequest(req.definition, ctx);
      if (!checked.plan || !checked.parsed.definition) throw invalid(checked.problems);
      // W5: a template that would run itself again is rejected here, with the path.
      const latest = (await store.getTemplate(req.name))?.version ?? 0;
      const cycle = await findTemplateCycle(req.name, checked.parsed.definition, latest, async (name, version) => (await store.getTemplate(name, version))?.definition);
      if (cycle) {
        throw invalid([{ stepId: cycle.stepId, field: cycle.field, message: `step "${cycle.stepId}": template "${req.name}" would run itself: ${cycle.path.join(" -> ")}` }]);
      }
      const t = await store.putTemplate(req.name, checked.parsed.definition, Date.now());
      return { template: templateToProto(t), existing: t.existing };
    },

    async getWorkflowTemplate(req) {
      if (!req.name) throw new ConnectError("name is required", Code.InvalidArgument);
      if (req.version < 0) throw new ConnectError("version must not be negative", Code.InvalidArgument);
      const t = await store.getTemplate(req.name, req.version);
      if (!t) throw new ConnectError(`template "${truncateId(req.name)}"${req.version ? ` version ${req.version}` : ""} not found`, Code.NotFound);
      return { template: templateToProto(t) };
    },

    async listWorkflowTemplates() {
      return { templates: (await store.listTemplates()).map(templateToProto) };
    },

    watchWorkflow: (req, ctx) => follow(req, ctx),

    async *runWorkflow(req, ctx) {
      if (!req.submit) throw new ConnectError("submit: the submission is required", Code.InvalidArgument);
      const submitted = await submitOne(req.submit, ctx);
      yield { kind: { case: "submitted", value: submitted } };
      for await (const msg of follow({ workflowId: submitted.workflowId, cursor: "", batch: req.batch, outputs: req.outputs, latestOnly: req.latestOnly }, ctx)) yield asRunResponse(msg);
    },

    async *watchWorkflows(req, ctx) {
      const pageSize = Math.min(req.pageSize || 50, 1000);
      const sigs = signals(ctx);
      const batch = createListBatch(Date.now);
      /** Set while the loop waits: `progress` tells whether a change that does not end a workflow should wake it. */
      let waiting: { wake: () => void; progress: boolean } | undefined;
      const onAbort = () => waiting?.wake();
      for (const s of sigs) s.addEventListener("abort", onAbort);
      // Subscribed before the snapshot is read, so no change falls in between.
      const unsubscribe: Unsubscribe = req.follow
        ? store.subscribeChanges((id, terminal) => {
            batch.add(id, terminal);
            if (waiting && (terminal || waiting.progress)) waiting.wake();
          })
        : () => {};
      try {
        await unsubscribe.ready;
        const page = await store.listWorkflows({ states: [], name: "", pageSize, pageToken: "" });
        yield { workflows: page.items.map(summaryToProto), snapshot: true };
        if (!req.follow) return;
        for (;;) {
          if (checkAborted(ctx, shutdown)) return;
          const decision = decideListSend(batch.state, Date.now(), listWindowMs);
          if (decision.kind !== "soon") {
            // Idle: any change wakes the loop. In a window: only an end (or the window's timer) does.
            await new Promise<void>((resolve) => {
              const timer = decision.kind === "at" ? setTimeout(resolve, decision.at - Date.now()) : undefined;
              waiting = { wake: () => (clearTimeout(timer), resolve()), progress: decision.kind === "idle" };
            });
            waiting = undefined;
            continue;
          }
          // Changes of the same turn of the event loop share one message.
          await yieldToIo();
          if (checkAborted(ctx, shutdown)) return;
          const items = await store.summaries(batch.take(1000));
          if (items.length > 0) yield { workflows: items.map(summaryToProto), snapshot: false };
        }
      } finally {
        unsubscribe();
        for (const s of sigs) s.removeEventListener("abort", onAbort);
      }
    },

    async registerSupervisor(req) {
      if (!supervisors) throw new ConnectError("this coordinator does not take supervisor registrations", Code.FailedPrecondition);
      const { leaseMs } = await supervisors.register({ name: req.name, url: req.url, runners: req.runners, labels: req.labels });
      return { leaseMs: BigInt(leaseMs) };
    },

    async listSupervisors() {
      return {
        supervisors: (supervisors?.list() ?? []).map((s) => ({
          name: s.name,
          url: s.url,
          source: s.source,
          health: s.health,
          labels: s.labels,
          secrets: s.secrets,
          inFlight: s.inFlight,
          runners: s.runners,
          lastSeen: ts(s.lastSeen),
          ...(s.leaseExpiresAt !== undefined ? { leaseExpiresAt: ts(s.leaseExpiresAt) } : {}),
        })),
      };
    },

    async *getWorkflowLogs(req, ctx) {
      requireId(req.workflowId);
      // Woken by new lines, and by workflow events so the stream ends with the workflow.
      const w = waiter(store, ["logs", "events"], req.workflowId, signals(ctx));
      try {
        // Notifications are taken before each read of the state: one that
        // comes while the state is being read wakes the next wait, instead of
        // being cleared after a read that missed it (the stream then never
        // saw the workflow end).
        await w.ready;
        w.take();
        const got = await store.getWorkflow(req.workflowId);
        if (!got) throw new ConnectError(`workflow ${truncateId(req.workflowId)} not found`, Code.NotFound);
        let cursor = req.cursor;
        // Read the state before the lines: a workflow seen ended has all its
        // lines stored, so the read that follows gets the last of them.
        let state = got.record.state;
        for (;;) {
          if (checkAborted(ctx, shutdown)) return;
          const ended = !req.follow || isTerminalWorkflow(state);
          for (;;) {
            const lines = await store.readLogs(req.workflowId, { after: cursor, stepId: req.stepId, limit: 500 }).catch(cursorError);
            if (lines.length === 0) break;
            cursor = lines[lines.length - 1]!.cursor;
            yield { lines: lines.map(logToProto) };
            if (lines.length < 500) break;
          }
          if (ended) return;
          await w.wait();
          w.take();
          state = (await store.getWorkflow(req.workflowId))?.record.state ?? WorkflowState.CANCELLED;
        }
      } finally {
        w.close();
      }
    },
  };
}
