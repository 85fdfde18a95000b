// The coordinator's end of a supervisor Link: the calls the pool makes on a
// SupervisorService client (describe, dispatch, cancel, get jobs, watch
// events), multiplexed on one long-lived bidirectional stream per
// supervisor instead of one HTTP/2 request each. A unary DispatchJobs costs
// 2.6-4 ms on loopback even when empty; a message on an open stream costs a
// fraction of that (bench/link.ts measures both).
//
// The object returned has the same methods and call options as
// `createClient(SupervisorService, transport)`, so the pool swaps one for
// the other. The stream is opened by the first call and again by the first
// call after it broke; when it breaks, every call in flight on it fails
// UNAVAILABLE (watches too), which the pool already handles as a failed
// call: it reconciles by attempt id with GetJobs and resumes the event
// watch from its last sequence number. A supervisor that does not offer
// Link (UNIMPLEMENTED: an older one, or the in-process transport) is
// called with the unary calls instead, transparently.
//
// Besides the calls: pings with a pong deadline (a link whose supervisor
// stopped answering is torn down within pongTimeoutMs, failing its calls
// as above), the credits the supervisor grants per runner, and the demand
// this coordinator reports so credits go where jobs wait.
//
// Values travel as JSON bytes on a link whose supervisor reads them (its
// hello answer says json_values): each job's input and its workflow's
// inputs go as input_json / inputs_json, and the hello asks for outputs as
// output_json. The unary calls keep the Value fields.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type CallOptions, type Client, type Transport } from "@connectrpc/connect";
import {
  SupervisorService,
  type DispatchJobsRequestSchema,
  type DispatchJobsResponse,
  type LinkHelloResponse,
  type LinkRequestSchema,
  type LinkResponse,
  type WatchJobEventsRequestSchema,
  type WatchJobEventsResponse,
} from "../../gen/horus/coordinator/v1/supervisor_pb.js";
import { encodeJson } from "../common/json-bytes.js";
import { fromValueMap, type JsonMap } from "../common/json.js";
import { jsonOf } from "../common/lazy-field.js";

/** The SupervisorService calls the pool makes. */
export type SupervisorCalls = Pick<Client<typeof SupervisorService>, "describeSupervisor" | "dispatchJobs" | "cancelJobs" | "getJobs" | "watchJobEvents">;

export interface SupervisorLinkOptions {
  /** This coordinator's node id, sent in the hello (the supervisor may log it). */
  nodeId?: string;
  /** A readable name of this coordinator, sent in the hello. */
  nodeName?: string;
  /** How often an open link is pinged (default 1,000 ms). */
  pingEveryMs?: number;
  /**
   * A ping not answered within this tears the link down (default 5,000
   * ms, the pool's default supervisor timeout): its calls fail UNAVAILABLE
   * and the next call opens a new one.
   */
  pongTimeoutMs?: number;
  /** How long opening may take, hello answered included, before calls waiting on it fail UNAVAILABLE (default 5,000 ms). */
  openTimeoutMs?: number;
  /**
   * After a supervisor answered Link UNIMPLEMENTED, unary calls are used
   * for this long before Link is tried again, so a supervisor upgraded in
   * place gets linked (default 60,000 ms).
   */
  retryLinkAfterMs?: number;
  /**
   * A stream with no call and no watch on it for this long is closed
   * (default 30,000 ms), so a supervisor that left the pool does not keep
   * a stream and its pings; the next call opens one again.
   */
  idleCloseMs?: number;
  /**
   * Job inputs and step outputs travel as JSON bytes on a link whose
   * supervisor reads them (default true); false sends and asks for the
   * google.protobuf.Value fields only, as a coordinator before them did.
   */
  jsonValues?: boolean;
  /** Clock, replaceable in tests. */
  now?: () => number;
}

export type LinkMode = "idle" | "link" | "unary";

export interface SupervisorLink extends SupervisorCalls {
  /** "link" while a stream is open, "unary" while the supervisor does not offer Link, "idle" otherwise. */
  mode(): LinkMode;
  /**
   * Jobs of `runner` this coordinator may send now within the credit the
   * supervisor granted this link; undefined when no link is open or the
   * supervisor granted nothing for that runner yet (then place by capacity
   * as without a link). A job sent without credit is still accepted.
   */
  credits(runner: string): number | undefined;
  /**
   * Called when the credit of a runner changes (a grant arrived, or the
   * link closed: then with undefined). Returns a function that removes it.
   */
  onCredits(listener: (runner: string, credits: number | undefined) => void): () => void;
  /** Jobs of `runner` this coordinator waits to place on this supervisor; sent on the link (coalesced per turn). */
  setDemand(runner: string, waiting: number): void;
  /** Ends the stream (calls in flight fail UNAVAILABLE); a later call opens a new one. */
  close(): void;
}

type RequestInit = MessageInitShape<typeof LinkRequestSchema>;
type Kind = NonNullable<LinkResponse["kind"]["case"]>;

interface Pending {
  expect: Kind;
  resolve(value: unknown): void;
  reject(err: ConnectError): void;
}

interface WatchSink {
  push(msg: WatchJobEventsResponse): void;
  fail(err: ConnectError): void;
}

interface Stream {
  /** Settles when the hello is answered; rejects FALLBACK when the supervisor has no Link. */
  ready: Promise<void>;
  isReady: boolean;
  broken: boolean;
  abort: AbortController;
  out: RequestInit[];
  wake: (() => void) | undefined;
  pending: Map<bigint, Pending>;
  watches: Map<bigint, WatchSink>;
  /** Per runner: the cumulative limit granted and the jobs sent on this stream. */
  limit: Map<string, number>;
  sent: Map<string, number>;
  /** Workflows whose inputs a job on this stream carried: later jobs of theirs leave them out. */
  inputsSent: Set<string>;
  /** The supervisor reads input_json and inputs_json (its hello answer said json_values). */
  json: boolean;
  /** The open deadline and the ping interval. */
  timers: Array<ReturnType<typeof setTimeout>>;
  /** When a call or watch was last in flight on it. */
  lastBusy: number;
  /** The deadline of the ping in flight. */
  pongTimer?: ReturnType<typeof setTimeout> | undefined;
}

type DispatchInit = MessageInitShape<typeof DispatchJobsRequestSchema>;
type JobInit = NonNullable<DispatchInit["jobs"]>[number];

/** How a supervisor's refusal of a job whose left-out inputs it no longer keeps begins. */
const INPUTS_UNKNOWN = "inputs unknown";
/** Workflows remembered per stream as having had their inputs sent; past it the memory starts over. */
const MAX_INPUTS_SENT = 100_000;

/**
 * The jobs as sent on a stream: the first job of a workflow on it carries
 * the workflow's inputs, later ones leave them out (Job.inputs_omitted); on
 * a stream whose supervisor reads JSON, input and inputs go as JSON bytes.
 * The jobs given are not changed (the pool keeps them to send again).
 */
function onTheWire(s: { inputsSent: Set<string>; json: boolean }, jobs: JobInit[], omitInputs: boolean): JobInit[] {
  let out = jobs;
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i]!;
    const omit = omitInputs && !job.inputsOmitted && hasInputs(job, s.json) && !firstOfWorkflow(s, job.workflowId ?? "");
    if (!omit && !s.json) continue;
    if (out === jobs) out = jobs.slice();
    if (!s.json) {
      out[i] = { ...job, inputs: {}, inputsOmitted: true };
      continue;
    }
    out[i] = asJson(job, omit);
  }
  return out;
}

/** Whether a job carries its workflow's inputs; read as JSON when `json`, so a lazy Value map is not converted for nothing. */
function hasInputs(job: JobInit, json: boolean): boolean {
  if (json) return (job.inputsJson?.length ?? 0) > 0 || !isEmpty(jsonOf(job, "inputs", valueMapJson) as JsonMap);
  return job.inputs !== undefined && !isEmpty(job.inputs);
}

/** True the first time a workflow's job goes on this stream; it then carries the inputs. */
function firstOfWorkflow(s: { inputsSent: Set<string> }, workflowId: string): boolean {
  if (s.inputsSent.has(workflowId)) return false;
  if (s.inputsSent.size >= MAX_INPUTS_SENT) s.inputsSent.clear();
  s.inputsSent.add(workflowId);
  return true;
}

/**
 * A shallow copy of a job with its input and inputs as JSON bytes and the
 * Value maps empty. Copied key by key, never spread: a spread would read the
 * lazy Value fields (lazy-field.ts) and convert what this avoids converting.
 */
function asJson(job: JobInit, omitInputs: boolean): JobInit {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(job)) if (key !== "input" && key !== "inputs") out[key] = (job as Record<string, unknown>)[key];
  const copy = out as JobInit;
  copy.input = {};
  copy.inputs = {};
  if (!job.inputJson?.length) {
    const input = jsonOf(job, "input", valueMapJson) as JsonMap;
    copy.inputJson = isEmpty(input) ? new Uint8Array(0) : encodeJson(input);
  }
  if (omitInputs) {
    copy.inputsOmitted = true;
    copy.inputsJson = new Uint8Array(0);
  } else if (!job.inputsJson?.length) {
    const inputs = jsonOf(job, "inputs", valueMapJson) as JsonMap;
    copy.inputsJson = isEmpty(inputs) ? new Uint8Array(0) : encodeJson(inputs);
  }
  return copy;
}

function valueMapJson(map: JobInit["input"]): JsonMap {
  return map ? fromValueMap(map as Parameters<typeof fromValueMap>[0]) : {};
}

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

/** Rejection of `ready` when the supervisor does not offer Link. */
const FALLBACK = Symbol("fallback to unary calls");

export function createSupervisorLink(transport: Transport, options: SupervisorLinkOptions = {}): SupervisorLink {
  const unary = createClient(SupervisorService, transport);
  const pingEveryMs = Math.max(1, options.pingEveryMs ?? 1_000);
  const pongTimeoutMs = Math.max(1, options.pongTimeoutMs ?? 5_000);
  const openTimeoutMs = Math.max(1, options.openTimeoutMs ?? 5_000);
  const retryLinkAfterMs = options.retryLinkAfterMs ?? 60_000;
  const idleCloseMs = options.idleCloseMs ?? 30_000;
  const now = options.now ?? Date.now;
  const jsonValues = options.jsonValues ?? true;
  const listeners = new Set<(runner: string, credits: number | undefined) => void>();
  const demand = new Map<string, number>();
  const demandDirty = new Set<string>();
  let demandScheduled = false;
  let stream: Stream | undefined;
  let unaryUntil = 0;
  let nextId = 1n;

  function send(s: Stream, req: RequestInit): void {
    if (s.broken) return;
    s.out.push(req);
    const w = s.wake;
    s.wake = undefined;
    w?.();
  }

  async function* outbound(s: Stream): AsyncGenerator<RequestInit> {
    for (;;) {
      while (s.out.length > 0) yield s.out.shift()!;
      if (s.broken) return;
      await new Promise<void>((r) => (s.wake = r));
    }
  }

  function open(): Stream {
    let readyResolve!: () => void;
    let readyReject!: (err: unknown) => void;
    const s: Stream = {
      ready: new Promise<void>((res, rej) => {
        readyResolve = res;
        readyReject = rej;
      }),
      isReady: false,
      broken: false,
      abort: new AbortController(),
      out: [],
      wake: undefined,
      pending: new Map(),
      watches: new Map(),
      limit: new Map(),
      sent: new Map(),
      inputsSent: new Set(),
      json: false,
      timers: [],
      lastBusy: now(),
    };
    // Callers observe `ready` themselves; this keeps an unobserved rejection quiet.
    s.ready.catch(() => {});
    const helloId = nextId++;
    s.pending.set(helloId, {
      expect: "hello",
      resolve: (hello) => {
        s.json = jsonValues && (hello as LinkHelloResponse).jsonValues;
        s.isReady = true;
        readyResolve();
        startPings(s);
      },
      reject: (err) => readyReject(err),
    });
    send(s, { id: helloId, kind: { case: "hello", value: { nodeId: options.nodeId ?? "", nodeName: options.nodeName ?? "", jsonValues } } });
    if (demand.size > 0) send(s, { id: 0n, kind: { case: "demand", value: { waiting: Object.fromEntries(demand) } } });
    const openTimer = setTimeout(() => {
      if (!s.isReady) breakStream(s, new ConnectError(`supervisor link: no answer to hello within ${openTimeoutMs} ms`, Code.Unavailable));
    }, openTimeoutMs);
    openTimer.unref?.();
    s.timers.push(openTimer);
    void read(s, readyReject);
    return s;
  }

  async function read(s: Stream, readyReject: (err: unknown) => void): Promise<void> {
    try {
      for await (const msg of unary.link(outbound(s), { signal: s.abort.signal })) {
        if (s.broken) return;
        onResponse(s, msg);
      }
      breakStream(s, new ConnectError("supervisor link: the supervisor ended the stream", Code.Unavailable));
    } catch (err) {
      const e = ConnectError.from(err);
      if (!s.isReady && e.code === Code.Unimplemented) {
        // An older supervisor, or a transport without bidi streams: use the unary calls.
        unaryUntil = now() + retryLinkAfterMs;
        readyReject(FALLBACK);
        breakStream(s, e);
        return;
      }
      breakStream(s, e);
    }
  }

  function onResponse(s: Stream, msg: LinkResponse): void {
    const kind = msg.kind;
    if (kind.case === "credit") {
      const lowered: Record<string, bigint> = {};
      for (const [runner, limit] of Object.entries(kind.value.limit)) {
        if (Number(limit) < (s.limit.get(runner) ?? 0)) lowered[runner] = limit;
        s.limit.set(runner, Number(limit));
        notify(runner, creditOf(s, runner));
      }
      // Applied: nothing more goes out beyond these, so the supervisor may give the rest to others.
      if (Object.keys(lowered).length > 0) send(s, { id: 0n, kind: { case: "creditAck", value: { limit: lowered } } });
      return;
    }
    if (kind.case === "events") {
      s.watches.get(msg.id)?.push(kind.value);
      return;
    }
    if (kind.case === "error") {
      const err = new ConnectError(kind.value.message, kind.value.code as Code);
      const watch = s.watches.get(msg.id);
      if (watch) {
        s.watches.delete(msg.id);
        watch.fail(err);
        return;
      }
      const p = s.pending.get(msg.id);
      if (p) {
        s.pending.delete(msg.id);
        p.reject(err);
      }
      return;
    }
    const p = s.pending.get(msg.id);
    if (!p || kind.case === undefined) return;
    s.pending.delete(msg.id);
    if (kind.case !== p.expect) p.reject(new ConnectError(`supervisor link: expected a ${p.expect} answer, got ${kind.case}`, Code.Internal));
    else p.resolve(kind.value);
  }

  function startPings(s: Stream): void {
    let waiting: ReturnType<typeof setTimeout> | undefined;
    const ping = setInterval(() => {
      if (s.broken) return;
      if (s.watches.size > 0 || s.pending.size > (waiting ? 1 : 0)) s.lastBusy = now();
      else if (now() - s.lastBusy > idleCloseMs) return breakStream(s, new ConnectError(`supervisor link: closed after ${idleCloseMs} ms without calls`, Code.Unavailable));
      if (waiting) return;
      const id = nextId++;
      waiting = setTimeout(() => {
        breakStream(s, new ConnectError(`supervisor link: no pong within ${pongTimeoutMs} ms`, Code.Unavailable));
      }, pongTimeoutMs);
      waiting.unref?.();
      s.pongTimer = waiting;
      s.pending.set(id, {
        expect: "pong",
        resolve: () => {
          clearTimeout(waiting);
          waiting = undefined;
          s.pongTimer = undefined;
        },
        reject: () => {},
      });
      send(s, { id, kind: { case: "ping", value: {} } });
    }, pingEveryMs);
    ping.unref?.();
    s.timers.push(ping as unknown as ReturnType<typeof setTimeout>);
  }

  /** Tears a stream down: its calls and watches fail UNAVAILABLE, its credits are gone. */
  function breakStream(s: Stream, cause: ConnectError): void {
    if (s.broken) return;
    s.broken = true;
    if (stream === s) stream = undefined;
    // clearTimeout clears intervals too.
    for (const t of s.timers) clearTimeout(t);
    if (s.pongTimer) clearTimeout(s.pongTimer);
    s.abort.abort();
    const w = s.wake;
    s.wake = undefined;
    w?.();
    const err = cause.code === Code.Unavailable ? cause : new ConnectError(`supervisor link broke: ${cause.rawMessage}`, Code.Unavailable, undefined, undefined, cause);
    const pending = [...s.pending.values()];
    s.pending.clear();
    for (const p of pending) {
      // The hello's waiters get the original error (e.g. UNAUTHENTICATED says more than UNAVAILABLE).
      if (p.expect === "hello") p.reject(cause);
      else p.reject(err);
    }
    const watches = [...s.watches.values()];
    s.watches.clear();
    for (const w of watches) w.fail(err);
    for (const runner of s.limit.keys()) notify(runner, undefined);
  }

  function current(): Stream | undefined {
    if (now() < unaryUntil) return undefined;
    stream ??= open();
    return stream;
  }

  function creditOf(s: Stream, runner: string): number | undefined {
    const limit = s.limit.get(runner);
    return limit === undefined ? undefined : Math.max(0, limit - (s.sent.get(runner) ?? 0));
  }

  function notify(runner: string, credits: number | undefined): void {
    for (const l of listeners) l(runner, credits);
  }

  /** A call's options as a signal and a deadline, with cleanup. */
  function guard(opts: CallOptions | undefined, reject: (err: ConnectError) => void): () => void {
    const signal = opts?.signal;
    const onAbort = () => reject(new ConnectError("the operation was aborted", Code.Canceled, undefined, undefined, signal?.reason));
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (opts?.timeoutMs !== undefined && opts.timeoutMs > 0) {
      timer = setTimeout(() => reject(new ConnectError(`the operation timed out after ${opts.timeoutMs} ms`, Code.DeadlineExceeded)), opts.timeoutMs);
    }
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
    return () => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
  }

  /** A unary-style call on the link, or on the unary client when the supervisor has no Link. */
  function call<T>(kind: "describe" | "dispatch" | "cancel" | "getJobs", value: object, opts: CallOptions | undefined, viaUnary: (opts: CallOptions | undefined) => Promise<T>, omitInputs = true): Promise<T> {
    const s = current();
    if (!s) return viaUnary(opts);
    const started = now();
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      let id: bigint | undefined;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        release();
        if (id !== undefined) s.pending.delete(id);
        fn();
      };
      const release = guard(opts, (err) => settle(() => reject(err)));
      s.ready.then(
        () => {
          if (settled) return;
          if (s.broken) return settle(() => reject(new ConnectError("supervisor link broke", Code.Unavailable)));
          id = nextId++;
          s.lastBusy = now();
          s.pending.set(id, {
            expect: kind,
            resolve: (v) => settle(() => resolve(v as T)),
            reject: (err) => settle(() => reject(err)),
          });
          if (kind === "dispatch") {
            const jobs = (value as DispatchInit).jobs ?? [];
            for (const job of jobs) {
              const r = job.runner ?? "";
              s.sent.set(r, (s.sent.get(r) ?? 0) + 1);
            }
            value = { jobs: onTheWire(s, jobs, omitInputs) };
          }
          send(s, { id, kind: { case: kind, value } } as RequestInit);
          if (kind === "dispatch") for (const r of s.limit.keys()) notify(r, creditOf(s, r));
        },
        (err: unknown) => {
          if (settled) return;
          if (err === FALLBACK) {
            // What is left of the caller's deadline goes to the unary call.
            settled = true;
            release();
            const left = opts?.timeoutMs !== undefined ? { ...opts, timeoutMs: Math.max(1, opts.timeoutMs - (now() - started)) } : opts;
            viaUnary(left).then(resolve, reject);
            return;
          }
          settle(() => reject(ConnectError.from(err)));
        },
      );
    });
  }

  async function* watch(req: MessageInitShape<typeof WatchJobEventsRequestSchema>, opts?: CallOptions): AsyncGenerator<WatchJobEventsResponse> {
    const s = current();
    if (!s) {
      yield* unary.watchJobEvents(req, opts);
      return;
    }
    const queue: WatchJobEventsResponse[] = [];
    let failure: ConnectError | undefined;
    let wake: (() => void) | undefined;
    const rouse = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const release = guard(opts, (err) => {
      failure ??= err;
      rouse();
    });
    let id: bigint | undefined;
    try {
      try {
        await Promise.race([s.ready, new Promise<void>((_, rej) => (wake = () => rej(failure)))]);
      } catch (err) {
        if (err === FALLBACK && !failure) {
          release();
          yield* unary.watchJobEvents(req, opts);
          return;
        }
        throw failure ?? ConnectError.from(err);
      }
      wake = undefined;
      if (failure) throw failure;
      if (s.broken) throw new ConnectError("supervisor link broke", Code.Unavailable);
      id = nextId++;
      s.lastBusy = now();
      s.watches.set(id, {
        push(msg) {
          queue.push(msg);
          rouse();
        },
        fail(err) {
          failure ??= err;
          rouse();
        },
      });
      send(s, { id, kind: { case: "watch", value: req } });
      for (;;) {
        while (queue.length > 0) yield queue.shift()!;
        if (failure) throw failure;
        await new Promise<void>((r) => (wake = r));
      }
    } finally {
      release();
      if (id !== undefined && s.watches.delete(id)) send(s, { id, kind: { case: "end", value: {} } });
    }
  }

  /**
   * Dispatches; jobs refused because the supervisor no longer kept their
   * workflow's inputs are sent once more with them.
   */
  async function dispatch(req: DispatchInit, opts?: CallOptions): Promise<DispatchJobsResponse> {
    const res = await call<DispatchJobsResponse>("dispatch", req, opts, (o) => unary.dispatchJobs(req, o));
    const again = res.acks.filter((a) => !a.accepted && a.reason.startsWith(INPUTS_UNKNOWN));
    if (again.length === 0) return res;
    const ids = new Set(again.map((a) => a.attemptId));
    const jobs = (req.jobs ?? []).filter((j) => ids.has(j.attemptId ?? ""));
    for (const j of jobs) stream?.inputsSent.delete(j.workflowId ?? "");
    // All in full this time: none can be refused for its inputs again.
    const retry = await call<DispatchJobsResponse>("dispatch", { jobs }, opts, (o) => unary.dispatchJobs({ jobs }, o), false);
    const byId = new Map(retry.acks.map((a) => [a.attemptId, a]));
    res.acks = res.acks.map((a) => byId.get(a.attemptId) ?? a);
    return res;
  }

  function flushDemand(): void {
    demandScheduled = false;
    const s = stream;
    if (!s || s.broken || demandDirty.size === 0) return demandDirty.clear();
    const waiting: Record<string, number> = {};
    for (const r of demandDirty) waiting[r] = demand.get(r) ?? 0;
    demandDirty.clear();
    send(s, { id: 0n, kind: { case: "demand", value: { waiting } } });
  }

  return {
    describeSupervisor: (req, opts) => call("describe", req ?? {}, opts, (o) => unary.describeSupervisor(req, o)),
    dispatchJobs: (req, opts) => dispatch(req, opts),
    cancelJobs: (req, opts) => call("cancel", req, opts, (o) => unary.cancelJobs(req, o)),
    getJobs: (req, opts) => call("getJobs", req, opts, (o) => unary.getJobs(req, o)),
    watchJobEvents: (req, opts) => watch(req, opts),
    mode: () => (now() < unaryUntil ? "unary" : stream?.isReady ? "link" : "idle"),
    credits(runner) {
      const s = stream;
      return s && s.isReady && !s.broken ? creditOf(s, runner) : undefined;
    },
    onCredits(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    setDemand(runner, waiting) {
      const n = Math.max(0, Math.floor(waiting));
      if ((demand.get(runner) ?? 0) === n) return;
      if (n === 0) demand.delete(runner);
      else demand.set(runner, n);
      demandDirty.add(runner);
      if (!demandScheduled) {
        demandScheduled = true;
        setImmediate(flushDemand);
      }
    },
    close() {
      if (stream) breakStream(stream, new ConnectError("supervisor link closed", Code.Unavailable));
    },
  };
}
