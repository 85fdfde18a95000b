// The standard gRPC health service (grpc.health.v1.Health), so load
// balancers, Kubernetes probes and grpc-health-probe can ask whether this
// coordinator can do its work. Every check makes a real round trip to the
// store: a coordinator whose Redis is unreachable is NOT_SERVING even though
// its port still answers.
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";

export interface HealthOptions {
  /** Full names of the services reported besides "" (the server as a whole). */
  services: string[];
  /** Resolves when the server can serve; rejects when it cannot (e.g. the store's ping). */
  probe: () => Promise<void>;
  /** How often an open Watch re-probes to notice a change (default 5,000 ms). */
  watchIntervalMs?: number;
  /** Aborted on shutdown: everything reports NOT_SERVING from then on. */
  shutdown?: AbortSignal;
}

export { Health, Status as ServingStatus };

export function createHealthService(options: HealthOptions): ServiceImpl<typeof Health> {
  const known = new Set(["", ...options.services]);
  const interval = options.watchIntervalMs ?? 5_000;

  async function status(): Promise<Status> {
    if (options.shutdown?.aborted) return Status.NOT_SERVING;
    try {
      await options.probe();
      return Status.SERVING;
    } catch {
      return Status.NOT_SERVING;
    }
  }

  return {
    async check(req) {
      if (!known.has(req.service)) throw new ConnectError(`unknown service "${req.service}"`, Code.NotFound);
      return { status: await status() };
    },

    async list() {
      const s = await status();
      return { statuses: Object.fromEntries([...known].map((name) => [name, { status: s }])) };
    },

    // Sends the status now and again whenever it changes, as the protocol
    // asks; an unknown service is SERVICE_UNKNOWN rather than an error.
    async *watch(req, ctx) {
      if (!known.has(req.service)) {
        yield { status: Status.SERVICE_UNKNOWN };
        return;
      }
      let last: Status | undefined;
      const signals = options.shutdown ? [ctx.signal, options.shutdown] : [ctx.signal];
      for (;;) {
        const s = await status();
        if (s !== last) yield { status: s };
        last = s;
        if (signals.some((x) => x.aborted)) return;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, interval);
          function done() {
            clearTimeout(timer);
            for (const x of signals) x.removeEventListener("abort", done);
            resolve();
          }
          for (const x of signals) x.addEventListener("abort", done, { once: true });
        });
      }
    },
  };
}
