// Which requests a browser may have sent on someone else's behalf. Two
// attacks reach a server on loopback from a web page:
//   - cross-site requests: a page on another origin POSTs a "simple" request
//     (text/plain, a form, a beacon) or opens a WebSocket; the browser sends
//     it without asking, and only hides the answer. Browsers name the page
//     in `Origin`, so a request whose Origin is not this server's own and
//     not allowed by --cors-origin is refused before anything is decoded.
//   - DNS rebinding: a page on attacker.example whose name re-resolves to
//     127.0.0.1 is same-origin with itself, so Origin cannot tell; its
//     requests name attacker.example in `Host` (`:authority` over HTTP/2),
//     which is not one of the names this server answers as.
// Requests without Origin (curl, grpcio, the CLI, servers) are not from a
// page and pass the Origin rule; requests without Host cannot come from a
// browser either. Pure functions: surfaces.ts applies them.
import { X509Certificate } from "node:crypto";
import { networkInterfaces } from "node:os";
import { TOKEN_COOKIE } from "./auth.js";

export interface RequestPolicy {
  /**
   * Host names (no port) this server answers as, lowercase, IPv6 without
   * brackets; "*" answers any (no DNS-rebinding protection).
   */
  allowedHosts: ReadonlySet<string>;
  /** Origins allowed besides the server's own (--cors-origin); "*" allows any. */
  corsOrigins: readonly string[];
}

export interface RequestFacts {
  /** The Host header, or HTTP/2 `:authority`. */
  host?: string | undefined;
  origin?: string | undefined;
  /** The Cookie header: the dashboard's sign-in cookie is only taken from this server's own pages. */
  cookie?: string | undefined;
  /** Whether an Authorization header is present (then the cookie is not what authenticates). */
  authorization?: boolean;
}

export type Verdict = { ok: true } | { ok: false; status: 403 | 421; reason: string };

const OK: Verdict = { ok: true };

/** The names every server answers as: loopback, which no other machine can name. */
export const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "::1"] as const;

/** "Example.COM." and "[::1]" as compared: lowercase, no trailing dot, no brackets. */
export function normalizeHostName(name: string): string {
  let n = name.trim().toLowerCase();
  if (n.startsWith("[") && n.endsWith("]")) n = n.slice(1, -1);
  if (n.endsWith(".")) n = n.slice(0, -1);
  return n;
}

/** Splits an authority ("host:port", "[v6]:port", "host") into name and port; undefined when malformed. */
export function parseAuthority(authority: string): { name: string; port?: number } | undefined {
  const a = authority.trim();
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s/@]+)(?::(\d{1,5}))?$/.exec(a);
  if (!m) return undefined;
  return { name: normalizeHostName(m[1]!), ...(m[2] !== undefined ? { port: Number(m[2]) } : {}) };
}

export interface AllowedHostsInput {
  /** The bound --host; a wildcard (0.0.0.0, ::) adds this machine's interface addresses instead. */
  bound?: string;
  /** PEM certificate: its subject alternative names (DNS and IP) are added. */
  tlsCert?: string | Buffer;
  /** --allowed-host names; "*" allows any. */
  extra?: readonly string[];
}

/** The names a server answers as (see docs/security.md, "Host names"). */
export function allowedHostNames(input: AllowedHostsInput): Set<string> {
  const out = new Set<string>(LOOPBACK_NAMES);
  const bound = input.bound !== undefined ? normalizeHostName(input.bound) : undefined;
  if (bound === "0.0.0.0" || bound === "::") {
    // An address is not a name a rebinding page can use (it would be the
    // page's own origin), so this machine's addresses are safe to answer
    // as; names (its host name, a DNS name) still need --allowed-host.
    for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) out.add(normalizeHostName(i.address.split("%")[0]!));
  } else if (bound) out.add(bound);
  if (input.tlsCert) for (const n of certificateNames(input.tlsCert)) out.add(n);
  for (const n of input.extra ?? []) out.add(n === "*" ? "*" : normalizeHostName(n));
  return out;
}

/** DNS and IP subject alternative names of a PEM certificate (the first of a chain). */
export function certificateNames(pem: string | Buffer): string[] {
  let san: string | undefined;
  try {
    san = new X509Certificate(pem).subjectAltName;
  } catch {
    return [];
  }
  const names: string[] = [];
  for (const part of (san ?? "").split(/,\s*/)) {
    const m = /^(DNS|IP Address):(.+)$/.exec(part.trim());
    if (m) names.push(normalizeHostName(m[2]!));
  }
  return names;
}

function hasTokenCookie(cookie: string | undefined): boolean {
  if (!cookie) return false;
  return cookie.split(";").some((part) => part.split("=")[0]!.trim() === TOKEN_COOKIE);
}

/**
 * Whether `origin` is the page of this very server: same name and port as
 * the Host the request was sent to (a Host without a port matches the
 * origin's default port). The scheme is not compared: a TLS-terminating
 * proxy serves https pages from an http backend, and no one else can serve
 * pages on this host and port.
 */
export function isOwnOrigin(origin: string, host: string | undefined): boolean {
  if (!host) return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return false;
  const h = parseAuthority(host);
  if (!h) return false;
  const defaultPort = url.protocol === "https:" ? 443 : 80;
  const originPort = url.port === "" ? defaultPort : Number(url.port);
  return normalizeHostName(url.hostname) === h.name && (h.port ?? defaultPort) === originPort;
}

/** The policy's verdict on one request (every surface, WebSocket upgrades included). */
export function checkRequest(policy: RequestPolicy, req: RequestFacts): Verdict {
  if (req.host !== undefined && !policy.allowedHosts.has("*")) {
    const h = parseAuthority(req.host);
    if (!h) return { ok: false, status: 421, reason: "malformed Host header" };
    if (!policy.allowedHosts.has(h.name)) {
      return { ok: false, status: 421, reason: `this server does not answer as "${h.name}" (start it with --allowed-host ${h.name} to allow that name)` };
    }
  }
  const origin = req.origin;
  if (origin === undefined) return OK;
  if (isOwnOrigin(origin, req.host)) return OK;
  // A signed-in browser sends the cookie to every port of the same site
  // (SameSite ignores ports), so the cookie speaks only for the dashboard,
  // which is this server's own origin; allowed origins send tokens.
  if (hasTokenCookie(req.cookie) && !req.authorization) {
    return { ok: false, status: 403, reason: `origin ${origin} may not use the dashboard's sign-in cookie; send an Authorization header` };
  }
  if (policy.corsOrigins.includes("*") || policy.corsOrigins.includes(origin)) return OK;
  return { ok: false, status: 403, reason: `origin ${origin} is not allowed (start the server with --cors-origin ${origin} to allow it)` };
}
