// When a connection has to go: the decisions of listen.ts's sweeper, as pure
// functions of what is known about a connection and the clock. Node's own
// header and request timeouts do not apply here (they are checked only for
// http.Servers that listen() themselves, and these ones are handed sockets),
// and nothing at all watches a connection before its protocol is known or
// an HTTP/2 session without streams, so every deadline is kept here.

export interface ConnectionLimits {
  /**
   * Most open connections (default 10,000). Past it, the oldest connection
   * that is neither running a request nor trusted (it presented a valid
   * token) is closed to make room; when there is none, the new one is.
   */
  maxConnections?: number;
  /**
   * A new connection's first request head (or the HTTP/2 preface and first
   * stream, or the TLS handshake), and any later request head once its
   * first byte arrived, must be complete within this (default 20,000 ms).
   */
  headersTimeoutMs?: number;
  /** A request body must have fully arrived this long after its head (default 60,000 ms). */
  bodyTimeoutMs?: number;
  /**
   * A connection with no request in progress is closed after this: HTTP/1.1
   * keep-alive (advertised in Keep-Alive: timeout=) and HTTP/2 sessions
   * without streams (GOAWAY) alike (default 60,000 ms).
   */
  idleTimeoutMs?: number;
  /** HTTP/2 sessions are sent a PING this often (default 30,000 ms)... */
  pingIntervalMs?: number;
  /** ...and closed when one is not answered within this (default 20,000 ms): a peer that vanished with streams open. */
  pingTimeoutMs?: number;
}

export const DEFAULT_CONNECTION_LIMITS: Required<ConnectionLimits> = {
  maxConnections: 10_000,
  headersTimeoutMs: 20_000,
  bodyTimeoutMs: 60_000,
  idleTimeoutMs: 60_000,
  pingIntervalMs: 30_000,
  pingTimeoutMs: 20_000,
};

/** What the sweeper knows about one connection. Times are ms on one clock. */
export interface ConnectionView {
  /** "pending" until the protocol is known; "upgraded" once a WebSocket took it (its own protocol then). */
  protocol: "pending" | "h1" | "h2" | "upgraded";
  openedAt: number;
  /** Requests (HTTP/2: streams) started on it so far. */
  served: number;
  /** Requests in progress now. */
  active: number;
  /** When the oldest request in progress whose body has not fully arrived got its head; none: undefined. */
  oldestBodySince?: number | undefined;
  /** Since when no request has been in progress (undefined while one is). */
  idleSince?: number | undefined;
  /** HTTP/1.1: when bytes of the next request were first seen after going idle. */
  headStartedAt?: number | undefined;
  /** HTTP/2: when the unanswered PING was sent; undefined when none is outstanding. */
  pingSentAt?: number | undefined;
  /** HTTP/2: when the last PING was sent (or the session opened). */
  lastPingAt?: number | undefined;
  /** It presented a valid token: never evicted for a newcomer. */
  trusted: boolean;
}

export type ConnectionAction =
  | { kind: "keep" }
  | { kind: "ping" }
  /** `graceful`: an HTTP/2 GOAWAY (nothing is in flight); otherwise the socket is destroyed. */
  | { kind: "close"; reason: string; graceful: boolean };

const KEEP: ConnectionAction = { kind: "keep" };

/** What to do with a connection now. */
export function connectionAction(c: ConnectionView, now: number, limits: Required<ConnectionLimits>): ConnectionAction {
  if (c.protocol === "upgraded") return KEEP;
  if (c.pingSentAt !== undefined && now - c.pingSentAt > limits.pingTimeoutMs) return { kind: "close", reason: "PING not answered", graceful: false };
  if (c.oldestBodySince !== undefined && now - c.oldestBodySince > limits.bodyTimeoutMs) return { kind: "close", reason: "request body timeout", graceful: false };
  if (c.active === 0) {
    if (c.served === 0) {
      if (now - c.openedAt > limits.headersTimeoutMs) return { kind: "close", reason: "no request within the headers timeout", graceful: false };
    } else if (c.headStartedAt !== undefined) {
      if (now - c.headStartedAt > limits.headersTimeoutMs) return { kind: "close", reason: "request headers timeout", graceful: false };
    } else if (c.idleSince !== undefined && now - c.idleSince > limits.idleTimeoutMs) {
      return { kind: "close", reason: "idle timeout", graceful: c.protocol === "h2" };
    }
  }
  if (c.protocol === "h2" && c.pingSentAt === undefined && now - (c.lastPingAt ?? c.openedAt) >= limits.pingIntervalMs) return { kind: "ping" };
  return KEEP;
}

/**
 * Whether a connection may be closed for a newcomer at the cap: it is not
 * trusted and runs no request (it may be idle, or still sending a head or a
 * body, which is what a connection held open by an attacker looks like).
 */
export function evictable(c: ConnectionView): boolean {
  if (c.trusted || c.protocol === "upgraded") return false;
  const readingBodies = c.oldestBodySince !== undefined;
  return c.active === 0 || (readingBodies && c.protocol === "h1");
}

/** The first evictable connection of `conns` (given oldest first), if any. */
export function pickEviction<K>(conns: Iterable<[K, ConnectionView]>): K | undefined {
  for (const [k, c] of conns) if (evictable(c)) return k;
  return undefined;
}
