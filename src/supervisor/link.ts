// The supervisor's end of Link streams: every SupervisorService call
// multiplexed on one bidirectional stream per coordinator, plus heartbeats
// and credits. Each request is handed to the same functions the unary calls
// use (the LinkHost), so a message behaves exactly as the call does; this
// module only correlates answers by id, runs watches, answers pings, closes
// silent links and keeps each link's credits, which credits.ts decides.
import type { DescMessage, MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type {
  CancelJobsRequest,
  CancelJobsResponseSchema,
  DescribeSupervisorResponseSchema,
  DispatchJobsRequest,
  DispatchJobsResponseSchema,
  GetJobsRequest,
  GetJobsResponseSchema,
  LinkRequest,
  LinkResponseSchema,
  WatchJobEventsResponseSchema,
} from "../../gen/horus/coordinator/v1/supervisor_pb.js";
import { allocateCredits } from "./credits.js";
import { Fifo } from "./fifo.js";

type Init<T extends DescMessage> = MessageInitShape<T>;
export type LinkResponseInit = Init<typeof LinkResponseSchema>;

/** What a link needs of the supervisor: the unary calls' logic, and its runners' load. */
export interface LinkHost {
  name: string;
  instanceId: string;
  describe(): Init<typeof DescribeSupervisorResponseSchema>;
  dispatch(req: DispatchJobsRequest): Init<typeof DispatchJobsResponseSchema>;
  cancel(req: CancelJobsRequest): Init<typeof CancelJobsResponseSchema>;
  /** `json`: outputs as output_json, for a link whose coordinator reads it (LinkHello.json_values). */
  getJobs(req: GetJobsRequest, json: boolean): Init<typeof GetJobsResponseSchema>;
  /** As WatchJobEvents, ending when `signal` aborts or the supervisor closes its streams; `json` as for getJobs. */
  watch(afterSeq: bigint, signal: AbortSignal, json: boolean): AsyncIterable<Init<typeof WatchJobEventsResponseSchema>>;
  /** Each runner's capacity and the jobs held of it now (running and queued). */
  runners(): Iterable<{ name: string; capacity: number; held: number }>;
}

export interface LinkHubOptions {
  /**
   * A link that sends nothing at all (not even a ping) for this long is
   * closed with UNAVAILABLE (default 15,000 ms): its coordinator is gone or
   * cut off, and its credits go back to the others.
   */
  silenceLimitMs?: number;
  /** Clock, replaceable in tests. */
  now?: () => number;
}

export interface LinkHub {
  /** The Link method's implementation. */
  handle(requests: AsyncIterable<LinkRequest>, ctx: HandlerContext): AsyncIterable<LinkResponseInit>;
  /** A runner's load changed (a job accepted or finished): credits are looked at again this turn. */
  changed(): void;
  /** Ends every link once it has sent what it has (the supervisor is shutting down). */
  close(): void;
  /** Open links. */
  size(): number;
  /** Credit each open link holds per runner now (limit minus jobs received), for stats and tests. */
  credits(): Array<Record<string, number>>;
}

/** Responses queued on a link beyond which its watches wait for the coordinator to read. */
const HIGH_WATER = 64;

interface LinkState {
  push(msg: LinkResponseInit): void;
  /** Its coordinator reads output_json (said so in its hello). */
  json: boolean;
  /** Per runner: the cumulative limit granted, jobs received, and demand. */
  limit: Map<string, number>;
  received: Map<string, number>;
  demand: Map<string, number>;
  /**
   * Per runner: the highest limit the coordinator may still act on. Above
   * `limit` after a lowered limit not yet acknowledged (credit_ack): that
   * credit stays reserved, since jobs sent against it may be on the way.
   */
  peak: Map<string, number>;
}

export function createLinkHub(host: LinkHost, options: LinkHubOptions = {}): LinkHub {
  const silenceLimitMs = Math.max(1, options.silenceLimitMs ?? 15_000);
  const now = options.now ?? Date.now;
  const links = new Set<LinkState>();
  let closed = false;
  let rebalanceScheduled = false;
  /** Rotates which link gets the remainder when slots do not divide evenly. */
  let turn = 0;
  const closers = new Set<() => void>();

  function changed(): void {
    if (rebalanceScheduled || links.size === 0) return;
    rebalanceScheduled = true;
    // Once per turn of the event loop: a batch of finishes is one decision.
    setImmediate(rebalance);
  }

  function rebalance(): void {
    rebalanceScheduled = false;
    if (links.size === 0) return;
    const all = [...links];
    const updates = all.map(() => ({}) as Record<string, bigint>);
    turn++;
    for (const r of host.runners()) {
      const views = all.map((l) => ({ outstanding: outstanding(l, r.name), demand: l.demand.get(r.name) ?? 0 }));
      // Credit taken back but not yet acknowledged is as good as held.
      const reserved = all.reduce((n, l) => n + unacknowledged(l, r.name), 0);
      const next = allocateCredits({ capacity: r.capacity, held: r.held + reserved, links: views, start: turn });
      // Credit taken back is not given to anyone in the same round: the link
      // may be sending against it now. Only the cuts go out; what they free
      // is granted once the link acknowledged them (credit_ack).
      if (next.some((n, i) => n < views[i]!.outstanding)) next.forEach((n, i) => (next[i] = Math.min(n, views[i]!.outstanding)));
      all.forEach((l, i) => {
        const limit = (l.received.get(r.name) ?? 0) + next[i]!;
        if (limit !== (l.limit.get(r.name) ?? 0)) {
          l.limit.set(r.name, limit);
          l.peak.set(r.name, Math.max(l.peak.get(r.name) ?? 0, limit));
          updates[i]![r.name] = BigInt(limit);
        }
      });
    }
    all.forEach((l, i) => {
      if (Object.keys(updates[i]!).length > 0) l.push({ id: 0n, kind: { case: "credit", value: { limit: updates[i]! } } });
    });
  }

  /** Credit a link may still send against though its limit went below it: reserved until it acknowledges. */
  function unacknowledged(l: LinkState, runner: string): number {
    return Math.max(0, (l.peak.get(runner) ?? 0) - Math.max(l.limit.get(runner) ?? 0, l.received.get(runner) ?? 0));
  }

  function outstanding(l: LinkState, runner: string): number {
    return Math.max(0, (l.limit.get(runner) ?? 0) - (l.received.get(runner) ?? 0));
  }

  async function* handle(requests: AsyncIterable<LinkRequest>, ctx: HandlerContext): AsyncGenerator<LinkResponseInit> {
    const out = new Fifo<LinkResponseInit>();
    let wake: (() => void) | undefined;
    let drained: Array<() => void> = [];
    let ended = false;
    let failure: unknown;
    const rouse = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const end = (err?: unknown): void => {
      if (ended) return;
      ended = true;
      failure ??= err;
      rouse();
    };
    const state: LinkState = {
      push(msg) {
        if (ended) return;
        out.push(msg);
        rouse();
      },
      json: false,
      limit: new Map(),
      peak: new Map(),
      received: new Map(),
      demand: new Map(),
    };
    const watches = new Map<bigint, AbortController>();
    const onAbort = (): void => end();
    ctx.signal.addEventListener("abort", onAbort);
    closers.add(onAbort);
    let lastHeard = now();
    const silence = setInterval(() => {
      if (now() - lastHeard > silenceLimitMs) end(new ConnectError(`link closed: nothing received for ${silenceLimitMs} ms`, Code.Unavailable));
    }, Math.max(10, Math.floor(silenceLimitMs / 4)));
    silence.unref();

    const fail = (id: bigint, err: unknown): void => {
      const e = ConnectError.from(err);
      state.push({ id, kind: { case: "error", value: { code: e.code, message: e.rawMessage } } });
    };

    async function follow(id: bigint, afterSeq: bigint, controller: AbortController): Promise<void> {
      try {
        for await (const msg of host.watch(afterSeq, controller.signal, state.json)) {
          if (controller.signal.aborted || ended) return;
          state.push({ id, kind: { case: "events", value: msg } });
          // A coordinator that reads slowly holds the watch back, not the supervisor's memory.
          while (out.length > HIGH_WATER && !ended && !controller.signal.aborted) await new Promise<void>((r) => drained.push(r));
        }
      } catch (err) {
        if (!controller.signal.aborted) fail(id, err);
      } finally {
        if (watches.get(id) === controller) watches.delete(id);
      }
    }

    function onRequest(req: LinkRequest): void {
      const id = req.id;
      const kind = req.kind;
      try {
        switch (kind.case) {
          case "hello":
            state.json = kind.value.jsonValues;
            // json_values: this supervisor reads the jobs' input_json and inputs_json.
            state.push({ id, kind: { case: "hello", value: { name: host.name, instanceId: host.instanceId, silenceLimitMs, jsonValues: true } } });
            return;
          case "describe":
            state.push({ id, kind: { case: "describe", value: host.describe() } });
            return;
          case "dispatch": {
            for (const job of kind.value.jobs) state.received.set(job.runner, (state.received.get(job.runner) ?? 0) + 1);
            state.push({ id, kind: { case: "dispatch", value: host.dispatch(kind.value) } });
            changed();
            return;
          }
          case "cancel":
            state.push({ id, kind: { case: "cancel", value: host.cancel(kind.value) } });
            return;
          case "getJobs":
            state.push({ id, kind: { case: "getJobs", value: host.getJobs(kind.value, state.json) } });
            return;
          case "watch": {
            watches.get(id)?.abort();
            const controller = new AbortController();
            watches.set(id, controller);
            void follow(id, kind.value.afterSeq, controller);
            return;
          }
          case "ping":
            state.push({ id, kind: { case: "pong", value: {} } });
            return;
          case "demand":
            for (const [runner, n] of Object.entries(kind.value.waiting)) state.demand.set(runner, n);
            changed();
            return;
          case "creditAck":
            // Only the latest limit counts: an older one acknowledged while a newer went out keeps the reserve.
            for (const [runner, limit] of Object.entries(kind.value.limit)) if (Number(limit) === (state.limit.get(runner) ?? 0)) state.peak.set(runner, Number(limit));
            changed();
            return;
          case "end":
            watches.get(id)?.abort();
            watches.delete(id);
            return;
          default:
            fail(id, new ConnectError("link request has no known kind (hello, describe, dispatch, cancel, get_jobs, watch, ping, demand, credit_ack or end)", Code.InvalidArgument));
        }
      } catch (err) {
        fail(id, err);
      }
    }

    links.add(state);
    // A new link gets its share of an idle supervisor at once.
    changed();
    const reading = (async () => {
      try {
        for await (const req of requests) {
          lastHeard = now();
          onRequest(req);
          if (ended) return;
        }
        end();
      } catch (err) {
        end(err);
      }
    })();
    try {
      for (;;) {
        for (let msg = out.shift(); msg; msg = out.shift()) {
          yield msg;
          if (out.length <= HIGH_WATER && drained.length > 0) {
            const waiters = drained;
            drained = [];
            for (const w of waiters) w();
          }
        }
        if (ended || closed) break;
        await new Promise<void>((r) => (wake = r));
      }
      if (failure !== undefined && !ctx.signal.aborted) throw ConnectError.from(failure);
    } finally {
      ended = true;
      clearInterval(silence);
      ctx.signal.removeEventListener("abort", onAbort);
      closers.delete(onAbort);
      for (const c of watches.values()) c.abort();
      watches.clear();
      for (const w of drained) w();
      drained = [];
      links.delete(state);
      // Its credits go back to the others.
      changed();
      void reading;
    }
  }

  return {
    handle,
    changed,
    close() {
      closed = true;
      for (const c of [...closers]) c();
    },
    size: () => links.size,
    credits() {
      return [...links].map((l) => {
        const c: Record<string, number> = {};
        for (const r of l.limit.keys()) c[r] = outstanding(l, r);
        return c;
      });
    },
  };
}
