// Assembles a coordinator: store, executor, supervisor pool (remote URLs or
// an in-process reference supervisor), the service, and the one-port server.
import { Code, ConnectError, createRouterTransport, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter, createConnectTransport } from "@connectrpc/connect-node";
import { CoordinatorService } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { SupervisorService } from "../../gen/horus/coordinator/v1/supervisor_pb.js";
import { silentLogger, type Logger } from "../common/logger.js";
import { createSupervisorPool, type SupervisorEndpoint } from "../dispatch/pool.js";
import { createHorusServer, type HorusServer } from "../server/listen.js";
import { createMemoryStore } from "../store/memory/memory-store.js";
import type { Store } from "../store/store.js";
import { createSupervisor, type SupervisorOptions } from "../supervisor/index.js";
import type { ValidationLimits } from "../workflow/definition.js";
import { createExecutor } from "./executor.js";
import { createCoordinatorService } from "./service.js";

export interface CoordinatorOptions {
  /** TCP port; 0 picks a free one (default 9090). */
  port?: number;
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** Supervisor base URLs. When empty, a reference supervisor runs in this process. */
  supervisors?: string[];
  /** Options for the in-process supervisor (ignored when supervisors are given). */
  embeddedSupervisor?: SupervisorOptions;
  /** State backend (default: the in-process memory store). */
  store?: Store;
  /** Definition limits (steps per workflow, payload size). */
  limits?: Partial<ValidationLimits>;
  logger?: Logger;
  /** How long shutdown lets unary calls finish (default 10,000 ms). */
  drainTimeoutMs?: number;
}

export interface RunningCoordinator {
  /** Base URL clients use, e.g. http://127.0.0.1:9090. */
  url: string;
  port: number;
  server: HorusServer;
  store: Store;
  /** Graceful stop: open streams end with UNAVAILABLE, unary calls finish, then everything closes. */
  close(): Promise<void>;
}

export async function startCoordinator(options: CoordinatorOptions = {}): Promise<RunningCoordinator> {
  const logger = options.logger ?? silentLogger();
  const store = options.store ?? createMemoryStore();
  if (!store.durable) logger.warn("using the in-process store: workflow state does not survive a restart");
  const shutdown = new AbortController();
  const executor = createExecutor({ store, logger });

  const endpoints: SupervisorEndpoint[] = [];
  let embedded: ReturnType<typeof createSupervisor> | undefined;
  if (!options.supervisors || options.supervisors.length === 0) {
    embedded = createSupervisor({ name: "embedded", ...options.embeddedSupervisor });
    const impl = embedded.service;
    endpoints.push({ name: "embedded", transport: createRouterTransport(({ service }) => service(SupervisorService, impl)) });
    logger.info("no --supervisor given: running the reference supervisor in this process");
  } else {
    for (const url of options.supervisors) {
      endpoints.push({ name: url, transport: createConnectTransport({ baseUrl: url, httpVersion: "2", useBinaryFormat: true }) });
    }
  }
  const pool = createSupervisorPool({
    supervisors: endpoints,
    listener: executor.listener,
    onWarning: (msg, err) => logger.warn({ err }, msg),
  });
  executor.setPool(pool);

  const service = createCoordinatorService({ store, executor, shutdown: shutdown.signal, ...(options.limits ? { limits: options.limits } : {}) });
  const routes = (router: ConnectRouter) => router.service(CoordinatorService, service);
  const server = createHorusServer({
    handler: connectNodeAdapter({ routes, shutdownSignal: shutdown.signal }),
    ...(options.drainTimeoutMs !== undefined ? { drainTimeoutMs: options.drainTimeoutMs } : {}),
  });
  await pool.start();
  const address = await server.listen(options.port ?? 9090, options.host ?? "127.0.0.1");
  logger.info({ url: server.url(), store: store.kind, supervisors: pool.describe().map((s) => s.name) }, "coordinator listening");

  let closing: Promise<void> | undefined;
  return {
    url: server.url(),
    port: address.port,
    server,
    store,
    close() {
      closing ??= (async () => {
        shutdown.abort(new ConnectError("server is shutting down", Code.Unavailable));
        await server.close();
        await executor.drain();
        await pool.close();
        await embedded?.close();
        await store.close();
      })();
      return closing;
    },
  };
}
