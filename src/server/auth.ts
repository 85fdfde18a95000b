// Bearer-token authentication and role-based authorization, one module for
// every surface of a server:
//   Connect, gRPC, gRPC-web   `interceptor` (runs before request validation)
//   JSON-RPC (HTTP and WS)    `check(service, method, headers)` per call, from the bridge
//   WebSocket upgrade         `authenticate(headers)` before the socket is accepted
//   plain HTTP routes         `authorize(req, res, route)` (dashboard, /metrics, anything new)
//
// Tokens come from a file (`TOKEN [ROLE]` per line, role defaulting to
// admin) or an environment variable with the same lines; never from argv.
// Token values are compared by their SHA-256 digest and never logged or
// echoed: errors name the line number or the role, not the token.
//
// Roles, each including the one below it:
//   viewer    read and watch (Get/List/Watch/Logs/Validate, templates, supervisors, schedules, reflection)
//   operator  + SubmitWorkflow(s), RunWorkflow, CancelWorkflow, RetryWorkflow, RegisterWorkflowTemplate, and changing schedules
//   admin     everything, RegisterSupervisor included
// and one outside that order:
//   register  only RegisterSupervisor (the supervisors' registration token)
// Health (grpc.health.v1) is open so load balancers can probe it.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type http from "node:http";
import type http2 from "node:http2";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

export const ROLES = ["viewer", "operator", "admin", "register"] as const;
export type Role = (typeof ROLES)[number];

/** Who a token belongs to; `id` is a digest prefix, safe to log and to key limits by. */
export interface Principal {
  role: Role;
  id: string;
}

/**
 * The cookie a signed-in dashboard carries its token in (see login.ts); it
 * counts where an Authorization header is absent.
 */
export const TOKEN_COOKIE = "horus_token";

/** The anonymous principal of a server without tokens (open, on loopback only). */
export const ANONYMOUS: Principal = { role: "admin", id: "anonymous" };

const VIEWER_METHODS = new Set([
  "GetWorkflow",
  "ListWorkflows",
  "WatchWorkflow",
  "WatchWorkflows",
  "GetWorkflowLogs",
  "ValidateWorkflow",
  "ListWorkflowTemplates",
  "GetWorkflowTemplate",
  "ListSupervisors",
  "ListSchedules",
]);
const OPERATOR_METHODS = new Set([
  "SubmitWorkflow",
  "SubmitWorkflows",
  "RunWorkflow",
  "CancelWorkflow",
  "RetryWorkflow",
  "RegisterWorkflowTemplate",
  "CreateSchedule",
  "PauseSchedule",
  "ResumeSchedule",
  "DeleteSchedule",
  "TriggerSchedule",
]);

/** Services anyone may call without a token. */
const OPEN_SERVICES = new Set(["grpc.health.v1.Health"]);
/** Services every role may read (reflection describes the API, like rpc.discover). */
const READ_SERVICES = new Set(["grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]);

/**
 * The least a method needs. CoordinatorService methods are listed; every
 * other method of a guarded service (a new one, SupervisorService) is admin
 * only until it is listed here.
 */
export function requiredRole(service: string, method: string): Role | "open" {
  if (OPEN_SERVICES.has(service)) return "open";
  if (READ_SERVICES.has(service)) return "viewer";
  if (service === "horus.coordinator.v1.CoordinatorService") {
    if (VIEWER_METHODS.has(method)) return "viewer";
    if (OPERATOR_METHODS.has(method)) return "operator";
    if (method === "RegisterSupervisor") return "register";
  }
  if (service === "jsonrpc" && method === "rpc.discover") return "viewer";
  return "admin";
}

/** Whether `role` may call what needs `needed`. */
export function allows(role: Role, needed: Role | "open"): boolean {
  if (needed === "open" || role === "admin") return true;
  if (role === "register" || needed === "register") return role === needed;
  const rank = { viewer: 0, operator: 1 } as const;
  return rank[role] >= rank[needed as "viewer" | "operator"];
}

function digest(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export class TokenFileError extends Error {
  override name = "TokenFileError";
}

/**
 * Parses token lines: `TOKEN [ROLE]`, blank lines and `#` comments skipped.
 * `source` names the file or variable in errors (never the token itself).
 */
export function parseTokens(text: string, source: string, defaultRole: Role = "admin"): Map<string, Principal> {
  const out = new Map<string, Principal>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const parts = line.split(/\s+/);
    if (parts.length > 2) throw new TokenFileError(`${source} line ${i + 1}: expected "TOKEN [ROLE]", got ${parts.length} fields`);
    const role = (parts[1] ?? defaultRole) as Role;
    if (!ROLES.includes(role)) throw new TokenFileError(`${source} line ${i + 1}: unknown role "${parts[1]}" (use ${ROLES.join(", ")})`);
    if (parts[0]!.length < 16) throw new TokenFileError(`${source} line ${i + 1}: a token must be at least 16 characters`);
    const d = digest(parts[0]!);
    out.set(d, { role, id: `${role}:${d.slice(0, 8)}` });
  });
  return out;
}

/** A token file's text; a missing or unreadable file is a clear error that names the file, never its content. */
function readTokenText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TokenFileError(`cannot read token file ${file}: ${code === "ENOENT" ? "no such file" : code ?? String(err)}`);
  }
}

/** Reads token lines from a file; a missing or unreadable file is a clear error. */
export function readTokenFile(file: string, defaultRole: Role = "admin"): Map<string, Principal> {
  const text = readTokenText(file);
  const tokens = parseTokens(text, file, defaultRole);
  if (tokens.size === 0) throw new TokenFileError(`token file ${file} holds no tokens`);
  return tokens;
}

/** The first token of a file (for clients: the CLI, a supervisor's registration, a coordinator calling supervisors). */
export function readSingleToken(file: string): string {
  const text = readTokenText(file);
  const first = text.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== "" && !l.startsWith("#"));
  if (!first) throw new TokenFileError(`token file ${file} holds no token`);
  return first.split(/\s+/)[0]!;
}

export interface AuthOptions {
  /** Accepted tokens by digest (parseTokens/readTokenFile). Empty or absent: no authentication. */
  tokens?: Map<string, Principal>;
  /** Serve GET /metrics without a token (default false: viewer needed). */
  publicMetrics?: boolean;
}

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

export interface Auth {
  /** False when no tokens are configured: every call is allowed (the server then binds to loopback only). */
  readonly enabled: boolean;
  /** The caller behind an Authorization header; UNAUTHENTICATED when missing or unknown (ANONYMOUS when auth is off). */
  authenticate(headers: Headers | http.IncomingHttpHeaders): Principal;
  /** Authenticates and checks the role for one method; throws UNAUTHENTICATED or PERMISSION_DENIED. */
  check(service: string, method: string, headers: Headers | http.IncomingHttpHeaders): Principal;
  /** For Connect, gRPC and gRPC-web: put it before request validation. */
  interceptor: Interceptor;
  /**
   * For plain HTTP routes (dashboard, /metrics): true when the request may
   * go on; otherwise it has answered 401 or 403 with a JSON error. Route
   * "metrics" is open with `publicMetrics`.
   */
  authorize(req: Req, res: Res, route?: string, needed?: Role): boolean;
  /** Whether the request carries a valid token (always false without tokens): such a connection outranks anonymous ones at the connection cap. */
  hasValidToken(req: Req): boolean;
}

/** The dashboard's token cookie as an Authorization value, when present. */
function cookieBearer(cookie: string | undefined): string | undefined {
  if (!cookie) return undefined;
  for (const part of cookie.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0 || part.slice(0, eq).trim() !== TOKEN_COOKIE) continue;
    try {
      const token = decodeURIComponent(part.slice(eq + 1).trim());
      return token ? `Bearer ${token}` : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function headerValue(headers: Headers | http.IncomingHttpHeaders, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function createAuth(options: AuthOptions = {}): Auth {
  const tokens = options.tokens ?? new Map<string, Principal>();
  const enabled = tokens.size > 0;

  function authenticate(headers: Headers | http.IncomingHttpHeaders): Principal {
    if (!enabled) return ANONYMOUS;
    const value = headerValue(headers, "authorization") ?? cookieBearer(headerValue(headers, "cookie"));
    if (!value) throw new ConnectError("authentication required: send Authorization: Bearer <token>", Code.Unauthenticated);
    const m = /^Bearer\s+(\S+)\s*$/i.exec(value);
    if (!m) throw new ConnectError("authentication required: the Authorization header must be Bearer <token>", Code.Unauthenticated);
    const p = tokens.get(digest(m[1]!));
    if (!p) throw new ConnectError("invalid token", Code.Unauthenticated);
    return p;
  }

  function check(service: string, method: string, headers: Headers | http.IncomingHttpHeaders): Principal {
    const needed = requiredRole(service, method);
    if (needed === "open" || !enabled) return ANONYMOUS;
    const p = authenticate(headers);
    if (!allows(p.role, needed)) {
      throw new ConnectError(`permission denied: ${method} needs the ${needed} role, this token has ${p.role}`, Code.PermissionDenied);
    }
    return p;
  }

  const interceptor: Interceptor = (next) => async (req) => {
    check(req.service.typeName, req.method.name, req.header);
    return next(req);
  };

  function authorize(req: Req, res: Res, route?: string, needed: Role = "viewer"): boolean {
    if (!enabled || (route === "metrics" && options.publicMetrics)) return true;
    try {
      const p = authenticate(req.headers as http.IncomingHttpHeaders);
      if (allows(p.role, needed)) return true;
      send(res, 403, { code: "permission_denied", message: `permission denied: needs the ${needed} role` });
    } catch (err) {
      send(res, 401, { code: "unauthenticated", message: (err as ConnectError).rawMessage }, { "www-authenticate": 'Bearer realm="horus"' });
    }
    return false;
  }

  function hasValidToken(req: Req): boolean {
    if (!enabled) return false;
    try {
      authenticate(req.headers as http.IncomingHttpHeaders);
      return true;
    } catch {
      return false;
    }
  }

  return { enabled, authenticate, check, interceptor, authorize, hasValidToken };
}

function send(res: Res, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  (res as http.ServerResponse).writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)), ...extra });
  (res as http.ServerResponse).end(text);
}

/** Whether a host to bind is loopback-only (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The rule for servers: without tokens, bind to loopback only unless
 * `insecure` says otherwise. Returns a warning to log, or throws.
 */
export function checkBinding(host: string, authEnabled: boolean, insecure: boolean | undefined, what: string): string | undefined {
  if (authEnabled) return undefined;
  if (isLoopbackHost(host)) return `no tokens configured: the ${what} is open to anyone on this machine and listens on loopback (${host}) only; use --token-file or HORUS_TOKENS to require tokens`;
  if (!insecure) throw new TokenFileError(`refusing to listen on ${host} without tokens: configure --token-file (or HORUS_TOKENS), or pass --insecure to serve without authentication`);
  return `--insecure: the ${what} listens on ${host} WITHOUT authentication; anyone who can reach it can run code`;
}
