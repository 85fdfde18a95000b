// Serves a reference supervisor on its own port (`horus supervisor`), with
// the same one-port server as the coordinator.
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { SUPERVISOR_BINARY_OPTIONS } from "../common/depth.js";
import { SupervisorService } from "../../gen/horus/coordinator/v1/supervisor_pb.js";
import { silentLogger, type Logger } from "../common/logger.js";
import { createSupervisor, type SupervisorOptions } from "../supervisor/index.js";
import { createHorusServer } from "./listen.js";
import type { ConnectionLimits } from "./connection-policy.js";
import { withRequestPolicy } from "./request-guard.js";
import { allowedHostNames, normalizeHostName } from "./request-policy.js";
import { startRegistration } from "../supervisor/register.js";
import { checkBinding, createAuth, type Principal } from "./auth.js";

const LINK_PATH = `/${SupervisorService.typeName}/${SupervisorService.method.link.name}`;

export interface SupervisorServerOptions {
  /** TCP port; 0 picks a free one (default 8080). */
  port?: number;
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  supervisor?: SupervisorOptions;
  /** Coordinator URLs to register with (RegisterSupervisor, renewed as a heartbeat). */
  register?: string[];
  /** The URL coordinators reach this supervisor at (default: the one it listens on). */
  advertiseUrl?: string;
  logger?: Logger;
  /** Security: the tokens coordinators must present, TLS, and what registration sends. */
  security?: SupervisorSecurity;
}

export interface SupervisorSecurity {
  /** Tokens accepted from coordinators (admin role); none: open, loopback only unless `insecure`. */
  tokens?: Map<string, Principal>;
  insecure?: boolean;
  /** Serve TLS (HTTP/2 and HTTP/1.1 by ALPN) with this PEM certificate and key. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** PEM CA certificates to trust when registering with https:// coordinators. */
  ca?: string | Buffer;
  /** Bearer token for RegisterSupervisor (a coordinator token with the register or admin role). */
  registrationToken?: string;
  /** Largest request in bytes (default 16 MiB: jobs carry their inputs). */
  maxRequestBytes?: number;
  /**
   * Without tokens: host names coordinators may call this supervisor by,
   * besides loopback, the bound host, the TLS certificate's names and the
   * advertised URL's host (DNS rebinding; with tokens any name is answered).
   */
  allowedHosts?: string[];
  /** Header, body and idle timeouts, HTTP/2 PINGs, and the connection cap. */
  connections?: ConnectionLimits;
}

export interface RunningSupervisor {
  url: string;
  port: number;
  name: string;
  close(): Promise<void>;
}

export async function startSupervisorServer(options: SupervisorServerOptions = {}): Promise<RunningSupervisor> {
  const logger = options.logger ?? silentLogger();
  const security = options.security ?? {};
  const auth = createAuth(security.tokens ? { tokens: security.tokens } : {});
  const bindWarning = checkBinding(options.host ?? "127.0.0.1", auth.enabled, security.insecure, "supervisor");
  const supervisor = createSupervisor({ logger, ...(options.supervisor ?? {}) });
  const shutdown = new AbortController();
  const routes = (router: ConnectRouter) => router.service(SupervisorService, supervisor.service);
  // No browser ever calls a supervisor: any Origin is refused. Without
  // tokens a page could still reach a loopback supervisor through a rebound
  // name, so then the Host must be one of its own names.
  const advertised = options.advertiseUrl ? [normalizeHostName(new URL(options.advertiseUrl).hostname)] : [];
  const allowedHosts = auth.enabled
    ? new Set(["*"])
    : allowedHostNames({ bound: options.host ?? "127.0.0.1", ...(security.tls ? { tlsCert: security.tls.cert } : {}), extra: [...advertised, ...(security.allowedHosts ?? [])] });
  const connect = connectNodeAdapter({
    routes,
    shutdownSignal: shutdown.signal,
    interceptors: [auth.interceptor],
    readMaxBytes: security.maxRequestBytes ?? 16 * 1024 * 1024,
    binaryOptions: SUPERVISOR_BINARY_OPTIONS,
  });
  const server = createHorusServer({
    handler: withRequestPolicy(connect, { allowedHosts, corsOrigins: [] }),
    ...(security.tls ? { tls: security.tls } : {}),
    ...(security.connections ? { limits: security.connections } : {}),
    trusted: (req) => auth.hasValidToken(req),
    // A Link stays open as long as its coordinator runs; the supervisor
    // closes one that goes silent (linkSilenceLimitMs) instead.
    streamingBody: (req) => req.url === LINK_PATH,
  });
  const address = await server.listen(options.port ?? 8080, options.host ?? "127.0.0.1");
  if (bindWarning) logger.warn(bindWarning);
  logger.info({ url: server.url(), name: supervisor.name, auth: auth.enabled, tls: !!security.tls }, "supervisor listening");
  const stats = supervisor.stats();
  const registration =
    options.register && options.register.length > 0
      ? startRegistration({
          coordinators: options.register,
          name: supervisor.name,
          url: options.advertiseUrl ?? server.url(),
          runners: Object.entries(stats.runners).map(([name, r]) => ({ name, capacity: r.capacity })),
          labels: { ...options.supervisor?.labels },
          onWarning: (msg) => logger.warn(msg),
          onInfo: (msg) => logger.info(msg),
          ...(security.registrationToken ? { token: security.registrationToken } : {}),
          ...(security.ca ? { ca: security.ca } : {}),
        })
      : undefined;
  let closing: Promise<void> | undefined;
  return {
    url: server.url(),
    port: address.port,
    name: supervisor.name,
    close() {
      closing ??= (async () => {
        registration?.stop();
        shutdown.abort(new ConnectError("supervisor is shutting down", Code.Unavailable));
        await supervisor.close();
        await server.close();
      })();
      return closing;
    },
  };
}
