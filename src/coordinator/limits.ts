// Per-client limits on the one CoordinatorService implementation, so every
// surface (Connect, gRPC, gRPC-web, JSON-RPC over HTTP and WebSocket) counts
// the same way. A client is its token (auth.ts Principal id); without
// tokens every caller is "anonymous" and shares one allowance.
//   - submissions per token per second (a token bucket; each definition of
//     a SubmitWorkflows call counts, and a RunWorkflow or TriggerSchedule call): RESOURCE_EXHAUSTED
//   - concurrent streams per token: RESOURCE_EXHAUSTED. Every server-streaming
//     method counts (found from the descriptor, so a new one counts too),
//     whichever surface opened it: WebSocket subscriptions are streams.
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { CoordinatorService } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { ANONYMOUS, type Auth } from "../server/auth.js";

export interface ClientLimits {
  /**
   * Submissions per second per token, with bursts of twice that (default
   * 200; 0: no limit). A SubmitWorkflows call counts each of its
   * definitions; one with more than a burst is refused (INVALID_ARGUMENT).
   */
  submitsPerSecond?: number;
  /** Open streams (WatchWorkflow, WatchWorkflows, GetWorkflowLogs, any streaming method) per token (default 256; 0: no limit). */
  maxStreamsPerClient?: number;
}

export const DEFAULT_CLIENT_LIMITS: Required<ClientLimits> = { submitsPerSecond: 200, maxStreamsPerClient: 256 };

type Impl = ServiceImpl<typeof CoordinatorService>;

export function withClientLimits(impl: Impl, auth: Auth | undefined, limits: ClientLimits = {}): Impl {
  const rate = limits.submitsPerSecond ?? DEFAULT_CLIENT_LIMITS.submitsPerSecond;
  const maxStreams = limits.maxStreamsPerClient ?? DEFAULT_CLIENT_LIMITS.maxStreamsPerClient;
  const buckets = new Map<string, { tokens: number; at: number }>();
  const streams = new Map<string, number>();

  const clientOf = (ctx: HandlerContext): string => {
    if (!auth?.enabled) return ANONYMOUS.id;
    try {
      return auth.authenticate(ctx.requestHeader).id;
    } catch {
      return ANONYMOUS.id;
    }
  };

  /** Takes `count` submissions (a SubmitWorkflows call takes one per definition) from the client's bucket, or refuses them all. */
  function takeSubmit(client: string, count = 1): void {
    if (rate <= 0) return;
    const now = Date.now();
    const burst = rate * 2;
    if (count > burst) {
      // More than a full bucket: waiting would never help.
      throw new ConnectError(`a batch of ${count} submissions is more than this server's burst of ${burst} per token (--max-submit-rate ${rate}, bursts of twice that); split it into smaller SubmitWorkflows calls`, Code.InvalidArgument);
    }
    const b = buckets.get(client) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    if (b.tokens < count) {
      buckets.set(client, b);
      throw new ConnectError(`submission rate limit reached: at most ${rate} per second per token (--max-submit-rate; each definition of a SubmitWorkflows call counts as one); retry later`, Code.ResourceExhausted);
    }
    b.tokens -= count;
    buckets.set(client, b);
    // Full buckets carry no information: forget them so idle clients cost nothing.
    if (buckets.size > 10_000) for (const [k, v] of buckets) if (v.tokens + ((now - v.at) / 1000) * rate >= burst) buckets.delete(k);
  }

  function stream<Req, Res>(fn: (req: Req, ctx: HandlerContext) => AsyncIterable<Res>) {
    return async function* (req: Req, ctx: HandlerContext): AsyncIterable<Res> {
      const client = clientOf(ctx);
      const open = streams.get(client) ?? 0;
      if (maxStreams > 0 && open >= maxStreams) {
        throw new ConnectError(`too many open streams: at most ${maxStreams} open streams (watches, followed logs, subscriptions) per client (--max-streams-per-client); close one first`, Code.ResourceExhausted);
      }
      streams.set(client, open + 1);
      try {
        yield* fn(req, ctx);
      } finally {
        const n = (streams.get(client) ?? 1) - 1;
        if (n <= 0) streams.delete(client);
        else streams.set(client, n);
      }
    };
  }

  const limited: Record<string, unknown> = {
    ...impl,
    submitWorkflow(req: Parameters<NonNullable<Impl["submitWorkflow"]>>[0], ctx: HandlerContext) {
      takeSubmit(clientOf(ctx));
      return impl.submitWorkflow!(req, ctx);
    },
    submitWorkflows(req: Parameters<NonNullable<Impl["submitWorkflows"]>>[0], ctx: HandlerContext) {
      takeSubmit(clientOf(ctx), req.workflows.length);
      return impl.submitWorkflows!(req, ctx);
    },
    async *runWorkflow(req: Parameters<NonNullable<Impl["runWorkflow"]>>[0], ctx: HandlerContext) {
      takeSubmit(clientOf(ctx));
      yield* impl.runWorkflow!(req, ctx);
    },
    // Starts a workflow on request, as SubmitWorkflow does.
    triggerSchedule(req: Parameters<NonNullable<Impl["triggerSchedule"]>>[0], ctx: HandlerContext) {
      takeSubmit(clientOf(ctx));
      return impl.triggerSchedule!(req, ctx);
    },
  };
  for (const m of CoordinatorService.methods) {
    // Around the submission limit where a method has one (RunWorkflow): a stream refused costs no submission.
    const fn = limited[m.localName];
    if (m.methodKind === "server_streaming" && typeof fn === "function") {
      const own = fn === (impl as Record<string, unknown>)[m.localName];
      limited[m.localName] = stream((fn as (req: unknown, ctx: HandlerContext) => AsyncIterable<unknown>).bind(own ? impl : limited));
    }
  }
  return limited as Impl;
}
