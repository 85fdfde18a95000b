// Assembles a coordinator: store, executor, supervisor pool (remote URLs or
// an in-process reference supervisor), the service, and the one-port server.
import { setMaxListeners } from "node:events";
import { Code, ConnectError } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { CoordinatorService } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { SupervisorService } from "../../gen/horus/coordinator/v1/supervisor_pb.js";
import { silentLogger, type Logger } from "../common/logger.js";
import { createInProcessTransport } from "../dispatch/in-process.js";
import { SUPERVISOR_BINARY_OPTIONS } from "../common/depth.js";
import { createSupervisorPool, type SupervisorEndpoint } from "../dispatch/pool.js";
import { startRegistrySync } from "../dispatch/registry.js";
import type { CorsOptions } from "../server/cors.js";
import { createHorusServer, type HorusServer } from "../server/listen.js";
import { createSurfaces } from "../server/surfaces.js";
import { checkBinding, createAuth, type Principal } from "../server/auth.js";
import type { ConnectionLimits } from "../server/connection-policy.js";
import { allowedHostNames } from "../server/request-policy.js";
import { withClientLimits, type ClientLimits } from "./limits.js";
import { bearerToken } from "../../clients/api/src/token.js";
import type { Store } from "../store/store.js";
import { openStore, type StoreChoice } from "./store-choice.js";
import { createSupervisor, type SupervisorOptions } from "../supervisor/index.js";
import type { ValidationLimits } from "../workflow/definition.js";
import { dashboardPage, type DashboardOptions } from "../dashboard/serve.js";
import { metricsPage } from "../observability/http.js";
import { createMetrics, type CoordinatorMetrics, type MetricsOptions } from "../observability/metrics.js";
import { createExecutor } from "./executor.js";
import { startOwnershipLoop } from "./ownership.js";
import { createCoordinatorService } from "./service.js";
import { createDefinitionPool, type DefinitionPoolOptions } from "./definition-pool.js";
import { createRequestOffload } from "./request-offload.js";
import { startScheduler, type Scheduler } from "../schedule/scheduler.js";
import { createScheduleRuns, workflowRunning } from "./schedules.js";

/** Where state lives (`store`, `redis`, `memory`, `maxLogLinesPerStep`) is StoreChoice's part; openStore decides. */
export interface CoordinatorOptions extends StoreChoice {
  /** TCP port; 0 picks a free one (default 9090). */
  port?: number;
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** Supervisor base URLs. When empty, a reference supervisor runs in this process (unless `embedded` is false). */
  supervisors?: string[];
  /** Run the in-process supervisor when no URLs are given (default true); false: only registered supervisors. */
  embedded?: boolean;
  /** A supervisor silent this long is down and its jobs run elsewhere (default 5,000 ms). */
  supervisorTimeoutMs?: number;
  /** A step no supervisor can serve fails NO_SUPERVISOR after waiting this long (default 60,000 ms). */
  unroutableTimeoutMs?: number;
  /** Lease of a RegisterSupervisor registration; supervisors renew it every third (default 10,000 ms). */
  registrationLeaseMs?: number;
  /** Options for the in-process supervisor (ignored when supervisors are given). */
  embeddedSupervisor?: SupervisorOptions;
  /**
   * With a shared store: how long this coordinator's lease on its workflows
   * lasts unrenewed (default 6,000 ms; renewed every third of it). A dead
   * coordinator's workflows are taken over within about 1.33x this.
   */
  leaseMs?: number;
  /** Definition limits (steps per workflow, payload size, CEL budget, sub-workflow depth). */
  limits?: Partial<ValidationLimits>;
  /** The worker threads that read large definitions (YAML, and large request messages). */
  definitions?: DefinitionPoolOptions;
  /** Longest one workflow transition may take, ms (default 10,000); past it the workflow is quarantined (FAILED, INTERNAL). */
  transitionBudgetMs?: number;
  /** How long WatchWorkflows gathers progress before sending it, ms (default 100); a workflow's end is sent at once. */
  listWindowMs?: number;
  logger?: Logger;
  /** How long shutdown lets unary calls finish (default 10,000 ms). */
  drainTimeoutMs?: number;
  /** Browser origins allowed to call (Connect, gRPC-web, JSON-RPC); none when absent. */
  cors?: CorsOptions;
  /** GET /metrics; `processMetrics: false` leaves out prom-client's process metrics. */
  metrics?: MetricsOptions;
  /** The dashboard at / (default on; false: no dashboard). */
  dashboard?: boolean | DashboardOptions;
  /** How often the schedules are read again for changes made through other coordinators, ms (default 1,000). */
  scheduleRefreshMs?: number;
  /** Security: tokens and roles, TLS, per-client limits (see docs/security.md). */
  security?: CoordinatorSecurity;
}

export interface CoordinatorSecurity {
  /** Accepted client tokens (src/server/auth.ts); none: open, and only a loopback host is allowed. */
  tokens?: Map<string, Principal>;
  /** Listen on a non-loopback host without tokens. */
  insecure?: boolean;
  /** GET /metrics without a token. */
  publicMetrics?: boolean;
  /** Serve TLS (HTTP/2 and HTTP/1.1 by ALPN) with this PEM certificate and key. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** PEM CA certificates to trust when calling https:// supervisors. */
  ca?: string | Buffer;
  /** Token sent to supervisors: by supervisor URL, "*" for any other. */
  supervisorTokens?: Record<string, string>;
  /** Largest request in bytes, on every surface (default 4 MiB). */
  maxRequestBytes?: number;
  /** Largest step output accepted from supervisors, JSON bytes (default 4 MiB). */
  maxOutputBytes?: number;
  /** Submissions per second and open streams per token. */
  clientLimits?: ClientLimits;
  /**
   * Host names to answer as besides loopback, the bound host and the TLS
   * certificate's names ("*": any); a request naming another is refused 421.
   */
  allowedHosts?: string[];
  /** Header, body and idle timeouts, HTTP/2 PINGs, and the connection cap. */
  connections?: ConnectionLimits;
}

export interface RunningCoordinator {
  /** Base URL clients use, e.g. http://127.0.0.1:9090. */
  url: string;
  port: number;
  server: HorusServer;
  store: Store;
  /** This coordinator's metrics (its own registry). */
  metrics: CoordinatorMetrics;
  /** Graceful stop: open streams end with UNAVAILABLE, unary calls finish, then everything closes. */
  close(): Promise<void>;
}

export async function startCoordinator(options: CoordinatorOptions = {}): Promise<RunningCoordinator> {
  const logger = options.logger ?? silentLogger();
  const metrics = createMetrics(options.metrics);
  // Every store call is timed (horus_store_operation_duration_seconds).
  const store = metrics.instrumentStore(await openStore(options, logger));
  if (!store.durable) logger.warn("using the in-process store: workflow state does not survive a restart");
  const security = options.security ?? {};
  const auth = createAuth({ ...(security.tokens ? { tokens: security.tokens } : {}), ...(security.publicMetrics ? { publicMetrics: true } : {}) });
  const bindWarning = checkBinding(options.host ?? "127.0.0.1", auth.enabled, security.insecure, "coordinator");
  const shutdown = new AbortController();
  // Every open stream (watches, followed logs, the dashboard's list) listens
  // for shutdown: more than Node's default 10 is normal, not a leak.
  setMaxListeners(0, shutdown.signal);
  const executor = createExecutor({
    store,
    logger,
    hooks: metrics.executorHooks,
    ...(security.maxOutputBytes !== undefined ? { maxOutputBytes: security.maxOutputBytes } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.transitionBudgetMs !== undefined ? { transitionBudgetMs: options.transitionBudgetMs } : {}),
  });

  const endpoints: SupervisorEndpoint[] = [];
  let embedded: ReturnType<typeof createSupervisor> | undefined;
  const transportFor = (url: string) => {
    const token = security.supervisorTokens?.[url] ?? security.supervisorTokens?.["*"];
    return createConnectTransport({
      baseUrl: url,
      httpVersion: "2",
      useBinaryFormat: true,
      binaryOptions: SUPERVISOR_BINARY_OPTIONS,
      // No gzip from supervisors: their messages (job events with outputs)
      // cross a LAN or loopback, where compressing costs more than it saves,
      // and Node's zlib runs on the thread pool, adding a hop of latency.
      acceptCompression: [],
      ...(token ? { interceptors: [bearerToken(token)] } : {}),
      ...(security.ca ? { nodeOptions: { ca: security.ca } } : {}),
    });
  };
  if ((!options.supervisors || options.supervisors.length === 0) && options.embedded !== false) {
    embedded = createSupervisor({ name: "embedded", logger: logger.child({ supervisor: "embedded" }), ...options.embeddedSupervisor });
    const impl = embedded.service;
    // Called directly, without protobuf encoding (see in-process.ts).
    endpoints.push({ name: "embedded", source: "embedded", transport: createInProcessTransport(SupervisorService, impl) });
    logger.info("no --supervisor given: running the reference supervisor in this process");
  } else {
    for (const url of options.supervisors ?? []) endpoints.push({ name: url, url, source: "static", transport: transportFor(url) });
  }
  const pool = createSupervisorPool({
    supervisors: endpoints,
    listener: executor.listener,
    onWarning: (msg, err) => logger.warn({ err }, msg),
    onInfo: (msg) => logger.info(msg),
    ...(options.supervisorTimeoutMs !== undefined ? { supervisorTimeoutMs: options.supervisorTimeoutMs } : {}),
    ...(options.unroutableTimeoutMs !== undefined ? { unroutableTimeoutMs: options.unroutableTimeoutMs } : {}),
  });
  executor.setPool(pool);
  metrics.setSources({ supervisors: () => pool.describe(), waiting: () => pool.waitingCount(), activeWorkflows: () => executor.activeCount() });
  const registry = startRegistrySync({
    registry: store.supervisors,
    pool,
    transportFor,
    onWarning: (msg, err) => logger.warn({ err }, msg),
    ...(options.registrationLeaseMs !== undefined ? { leaseMs: options.registrationLeaseMs } : {}),
  });

  // Large definitions are read in these workers, whether the service finds YAML in a request or the server a large request message.
  const definitions = createDefinitionPool(options.definitions);
  let scheduler: Scheduler | undefined;
  const service = withClientLimits(createCoordinatorService({ store, executor, supervisors: registry, shutdown: shutdown.signal, definitions, scheduler: { poke: () => scheduler?.poke() }, ...(options.limits ? { limits: options.limits } : {}), ...(options.listWindowMs !== undefined ? { listWindowMs: options.listWindowMs } : {}) }), auth, security.clientLimits);
  // Connect, gRPC, gRPC-web, JSON-RPC (HTTP and WebSocket), health and
  // reflection, all calling this one `service`.
  const surfaces = createSurfaces({
    service: CoordinatorService,
    impl: service,
    probe: () => store.ping(),
    shutdown: shutdown.signal,
    ...(options.cors ? { cors: options.cors } : {}),
    // GET /metrics and the dashboard at /, on the same port.
    pages: [metricsPage(metrics), ...(options.dashboard === false ? [] : [dashboardPage(options.dashboard === true ? {} : options.dashboard)])],
    auth,
    ...(security.maxRequestBytes !== undefined ? { maxRequestBytes: security.maxRequestBytes } : {}),
    largeRequests: createRequestOffload({ pool: definitions, ...(options.limits ? { limits: options.limits } : {}) }),
    allowedHosts: allowedHostNames({ bound: options.host ?? "127.0.0.1", ...(security.tls ? { tlsCert: security.tls.cert } : {}), extra: security.allowedHosts ?? [] }),
  });
  const server = createHorusServer({
    ...(security.tls ? { tls: security.tls } : {}),
    handler: surfaces.handler,
    upgrade: surfaces.upgrade,
    acceptsUpgrade: surfaces.acceptsUpgrade,
    trusted: surfaces.trusted,
    ...(security.connections ? { limits: security.connections } : {}),
    ...(options.drainTimeoutMs !== undefined ? { drainTimeoutMs: options.drainTimeoutMs } : {}),
  });
  // Registered supervisors already in the store join before the first dispatch.
  await registry.sync();
  await pool.start();
  // With a shared store: register, then resume what restarted or dead coordinators left running.
  const ownership = store.ownership
    ? startOwnershipLoop({ ownership: store.ownership, executor, logger, ...(options.leaseMs !== undefined ? { leaseMs: options.leaseMs } : {}) })
    : undefined;
  // The port opens before anything is taken over: a workflow that breaks
  // its takeover must not keep a coordinator from serving.
  await ownership?.registered;
  const address = await server.listen(options.port ?? 9090, options.host ?? "127.0.0.1");
  if (bindWarning) logger.warn(bindWarning);
  logger.info({ url: server.url(), auth: auth.enabled ? `${security.tokens!.size} tokens` : "off", tls: !!security.tls, store: store.kind, node: store.ownership?.nodeId, supervisors: pool.describe().map((s) => s.name) }, "coordinator listening");
  await ownership?.ready;
  // Every coordinator runs the schedules' timer: a tick's run has an idempotency key, so it starts once between them.
  scheduler = startScheduler({
    schedules: store.schedules,
    start: createScheduleRuns({ store, executor, definitions, ...(options.limits ? { limits: options.limits } : {}) }),
    running: (id) => workflowRunning(store, id),
    cancel: async (id, reason) => void (await executor.cancel(id, reason)),
    logger,
    ...(options.scheduleRefreshMs !== undefined ? { refreshMs: options.scheduleRefreshMs } : {}),
  });

  let closing: Promise<void> | undefined;
  return {
    url: server.url(),
    port: address.port,
    server,
    store,
    metrics,
    close() {
      closing ??= (async () => {
        shutdown.abort(new ConnectError("server is shutting down", Code.Unavailable));
        await scheduler?.stop();
        await surfaces.close();
        await server.close();
        await definitions.close();
        await ownership?.stop();
        // Bounded: with the store down, queued commits would wait for it forever.
        await Promise.race([executor.drain(), new Promise((r) => setTimeout(r, options.drainTimeoutMs ?? 10_000).unref())]);
        await ownership?.release();
        registry.stop();
        await pool.close();
        await embedded?.close();
        await store.close();
      })();
      return closing;
    },
  };
}
