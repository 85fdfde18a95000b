// Every surface of the coordinator on one port, all backed by the one
// CoordinatorService implementation:
//   Connect, gRPC, gRPC-web   the service, grpc.health.v1.Health, grpc.reflection.v1 + v1alpha
//   POST /rpc                 JSON-RPC 2.0 (rpc.discover: the OpenRPC document)
//   GET /rpc/ws (upgrade)     JSON-RPC over WebSocket, streaming methods as subscriptions
// Requests are validated against their proto constraints on every path.
// Before any of that, every request (WebSocket upgrades included) passes the
// Host and Origin policy of request-policy.ts.
import { readFileSync } from "node:fs";
import type http from "node:http";
import type http2 from "node:http2";
import type { Duplex } from "node:stream";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import { BINARY_READ_OPTIONS, JSON_READ_OPTIONS } from "../common/depth.js";
import { handleLogin } from "./login.js";
import { createAuth, type Auth } from "./auth.js";
import { withCors, type CorsOptions } from "./cors.js";
import { createHealthService, Health } from "./health.js";
import { createJsonRpcBridge, type JsonRpcBridge } from "./jsonrpc/bridge.js";
import { createJsonRpcHttpHandler } from "./jsonrpc/http.js";
import { createJsonRpcWebSocketServer } from "./jsonrpc/ws.js";
import type { RequestHandler } from "./listen.js";
import { createRpcAdapter } from "./rpc-adapter.js";
import { checkUpgrade, withRequestPolicy } from "./request-guard.js";
import { LOOPBACK_NAMES, type RequestPolicy } from "./request-policy.js";
import { createReflectionServices, ReflectionV1, ReflectionV1alpha } from "./reflection.js";
import { createRequestValidation } from "./validation.js";
import { binaryParseErrorsAsInvalidArgument } from "./parse-errors.js";
import { offloadLargeRequests, type LargeRequestOffload } from "./large-requests.js";

export interface SurfacesOptions<S extends DescService> {
  service: S;
  /** The one implementation every surface calls. */
  impl: ServiceImpl<S>;
  /** Health: resolves when the server can serve (the store's ping). */
  probe: () => Promise<void>;
  /** Aborted on shutdown: streams end with UNAVAILABLE, health turns NOT_SERVING, sockets close. */
  shutdown: AbortSignal;
  /** Browser origins allowed to call; no CORS headers at all when absent. */
  cors?: CorsOptions;
  /** Title shown by rpc.discover (default "Horus Coordinator"). */
  title?: string;
  /**
   * Plain HTTP pages on the same port (GET /metrics, the dashboard), tried
   * before the RPC routes: each returns true when it answered the request.
   */
  pages?: Array<(req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => boolean>;
  /** Bearer tokens and roles on every surface (auth.ts); absent: open. */
  auth?: Auth;
  /** Largest request message or JSON-RPC body in bytes (default 4 MiB). */
  maxRequestBytes?: number;
  /**
   * Host names this server answers as (request-policy.ts allowedHostNames;
   * default: the loopback names). A request naming another is refused 421.
   */
  allowedHosts?: ReadonlySet<string>;
  /** Methods whose large request messages are decoded off the main thread (large-requests.ts). */
  largeRequests?: LargeRequestOffload;
}

export interface Surfaces {
  /** For createHorusServer: every HTTP request on the port. */
  handler: RequestHandler;
  /** For createHorusServer: the HTTP/1.1 upgrades taken (a WebSocket at /rpc/ws); others are served as plain requests. */
  acceptsUpgrade(req: http.IncomingMessage): boolean;
  /** For createHorusServer: HTTP/1.1 upgrades (WebSocket at /rpc/ws). */
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  /** For createHorusServer: whether a request carries a valid token (its connection is then never evicted). */
  trusted(req: http.IncomingMessage | http2.Http2ServerRequest): boolean;
  bridge: JsonRpcBridge;
  /** The auth in force, for plain HTTP routes: `if (!surfaces.auth.authorize(req, res, "metrics")) return;`. */
  auth: Auth;
  close(): Promise<void>;
}

/** The package version, for rpc.discover (read once; the file is found from here in src/ and dist/src/). */
function packageVersion(): string {
  for (let dir = new URL("./", import.meta.url); dir.pathname !== "/"; dir = new URL("../", dir)) {
    try {
      const pkg = JSON.parse(readFileSync(new URL("package.json", dir), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "horus-coordinator" && pkg.version) return pkg.version;
    } catch {
      // not here: look one folder up
    }
  }
  return "0.0.0";
}

export function createSurfaces<S extends DescService>(options: SurfacesOptions<S>): Surfaces {
  const validation = createRequestValidation();
  const auth = options.auth ?? createAuth();
  const maxRequestBytes = options.maxRequestBytes ?? 4 * 1024 * 1024;
  const health = createHealthService({ services: [options.service.typeName], probe: options.probe, shutdown: options.shutdown });
  const reflection = createReflectionServices({ services: [options.service, Health] });
  const admits = (method: DescMethod, header: Headers) => {
    try {
      auth.check(method.parent.typeName, method.name, header);
      return true;
    } catch {
      return false;
    }
  };
  const routes = (router: ConnectRouter) => {
    binaryParseErrorsAsInvalidArgument(
      router
        .service(options.service, options.impl)
        .service(Health, health)
        .service(ReflectionV1, reflection.v1)
        .service(ReflectionV1alpha, reflection.v1alpha),
    );
    // Outermost: a large message is taken over before anything decodes it.
    if (options.largeRequests) offloadLargeRequests(router, options.largeRequests, { maxBytes: maxRequestBytes, admits });
  };
  // connectNodeAdapter plus gRPC-web text mode and UNIMPLEMENTED for unknown methods.
  const connect = createRpcAdapter({ routes, shutdownSignal: options.shutdown, interceptors: [auth.interceptor, validation.interceptor], readMaxBytes: maxRequestBytes, binaryOptions: BINARY_READ_OPTIONS, jsonOptions: JSON_READ_OPTIONS });

  const bridge = createJsonRpcBridge({
    service: options.service,
    impl: options.impl as ServiceImpl<DescService>,
    validation,
    authorize: (service, method, call) => void auth.check(service, method, call.headers),
    shutdown: options.shutdown,
    ...(options.largeRequests ? { offload: options.largeRequests } : {}),
    info: { title: options.title ?? "Horus Coordinator", version: packageVersion(), description: `JSON-RPC 2.0 bridge to ${options.service.typeName}` },
  });
  const jsonrpc = createJsonRpcHttpHandler(bridge, { maxBodyBytes: maxRequestBytes });
  const ws = createJsonRpcWebSocketServer(bridge, { shutdown: options.shutdown, maxMessageBytes: maxRequestBytes });
  // Connect paths are /<service type name>/<Method>; their interceptor checks tokens.
  const rpcPrefixes = [options.service.typeName, Health.typeName, ReflectionV1.typeName, ReflectionV1alpha.typeName].map((n) => `/${n}/`);

  const policy: RequestPolicy = { allowedHosts: options.allowedHosts ?? new Set(LOOPBACK_NAMES), corsOrigins: options.cors?.origins ?? [] };

  const routed: RequestHandler = (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (handleLogin(auth, req, res, path ?? "/")) return;
    if (path === "/rpc") jsonrpc(req, res);
    else if (rpcPrefixes.some((p) => path.startsWith(p))) connect(req, res);
    // Any other route (dashboard, /metrics, unknown paths) needs a token too.
    else if (auth.authorize(req, res, path === "/metrics" ? "metrics" : path)) {
      if (!options.pages?.some((page) => page(req, res))) connect(req, res);
    }
  };
  const corsed = options.cors ? withCors(routed, options.cors) : routed;
  // The policy comes first, so nothing (a preflight, a body, a token) is
  // read from a request a foreign page or name sent.
  const handler = withRequestPolicy(corsed, policy);

  return {
    handler,
    bridge,
    auth,
    acceptsUpgrade(req) {
      return (req.url ?? "/").split("?")[0] === "/rpc/ws" && /^websocket$/i.test(String(req.headers.upgrade ?? "").trim());
    },
    upgrade(req, socket, head) {
      // Browsers send no preflight for WebSockets: the policy is what keeps
      // other origins and rebound names out (tools send no Origin).
      if (!checkUpgrade(policy, req, socket).ok) return;
      // The token is checked here, before the socket opens, and again per call (its role).
      try {
        auth.authenticate(req.headers);
      } catch {
        socket.end(`HTTP/1.1 401 Unauthorized\r\nwww-authenticate: Bearer realm="horus"\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
        return;
      }
      ws.handleUpgrade(req, socket, head);
    },
    trusted: (req) => auth.hasValidToken(req),
    close: () => ws.close(),
  };
}
