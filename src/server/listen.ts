// One port for every protocol: Connect and gRPC-web over HTTP/1.1, and
// Connect, gRPC and gRPC-web over cleartext HTTP/2 (h2c). Node's http2
// `allowHTTP1` needs TLS, so each new connection's first bytes are peeked:
// the HTTP/2 client preface starts with "PRI ", anything else is HTTP/1.x.
// Every connection is watched by one sweeper (connection-policy.ts decides):
// header, body and idle timeouts, HTTP/2 PINGs, and a cap on connections.
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import { connectionAction, DEFAULT_CONNECTION_LIMITS, pickEviction, type ConnectionLimits, type ConnectionView } from "./connection-policy.js";

export type RequestHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

export interface ServerOptions {
  handler: RequestHandler;
  /**
   * HTTP/1.1 upgrade requests that `acceptsUpgrade` takes (a WebSocket).
   * Every other upgrade request (h2c, or an Upgrade header on any other
   * route) is served as an ordinary HTTP/1.1 request, as if the Upgrade
   * and HTTP2-Settings headers were absent.
   */
  upgrade?: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Which upgrade requests `upgrade` takes (default: none). */
  acceptsUpgrade?: (req: http.IncomingMessage) => boolean;
  /** Whether a request carries a valid token: its connection is then never closed to make room at the cap. */
  trusted?: (req: http.IncomingMessage | http2.Http2ServerRequest) => boolean;
  /** Timeouts and the connection cap (connection-policy.ts has the defaults). */
  limits?: ConnectionLimits;
  /**
   * HTTP/2 requests whose body is a long-lived stream that keeps its own
   * heartbeat (a supervisor's Link): the body timeout does not apply to
   * them, as they would otherwise be cut once it ran out.
   */
  streamingBody?: (req: http2.Http2ServerRequest) => boolean;
  /** How long close() lets in-flight requests finish before cutting connections (default 10,000 ms). */
  drainTimeoutMs?: number;
  /**
   * PEM certificate (chain) and key: serve TLS, HTTP/2 and HTTP/1.1 chosen
   * by ALPN on the same port (instead of the cleartext preface peek).
   */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

export interface HorusServer {
  /** Listens on port (0 for any free one) and host; resolves with the bound address. */
  listen(port: number, host?: string): Promise<AddressInfo>;
  /** The base URL, e.g. http://127.0.0.1:9090, once listening. */
  url(): string;
  /**
   * Stops accepting connections, waits for in-flight requests (up to the
   * drain timeout), then closes every connection.
   */
  close(): Promise<void>;
  /** Requests being served now. */
  inFlight(): number;
  /** Open connections now. */
  connections(): number;
}

type AnyRequest = http.IncomingMessage | http2.Http2ServerRequest;

/** A connection as the sweeper sees it, plus the handles to act on it. */
interface Conn extends ConnectionView {
  socket: net.Socket;
  session?: http2.Http2Session;
  /** Requests in progress and when their head arrived. */
  requests: Map<AnyRequest, number>;
  bytesAtIdle: number;
}

/** Whether all of a request's body has arrived (HTTP/2: or it had none). */
function bodyDone(req: AnyRequest): boolean {
  return req.complete || req.readableEnded || (req as http2.Http2ServerRequest).stream?.endAfterHeaders === true;
}

/**
 * The request head of a declined upgrade, without Upgrade, HTTP2-Settings
 * and their Connection tokens: parsed again, it is the same request as if
 * the client had never asked to upgrade.
 */
export function headWithoutUpgrade(req: http.IncomingMessage): Buffer {
  const drop = new Set(["upgrade", "http2-settings"]);
  const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    const value = req.rawHeaders[i + 1]!;
    const lower = name.toLowerCase();
    if (drop.has(lower)) continue;
    if (lower === "connection") {
      const kept = value.split(",").map((t) => t.trim()).filter((t) => t !== "" && !drop.has(t.toLowerCase()));
      if (kept.length > 0) lines.push(`${name}: ${kept.join(", ")}`);
      continue;
    }
    lines.push(`${name}: ${value}`);
  }
  return Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
}

const PREFACE = Buffer.from("PRI ");

export function createHorusServer(options: ServerOptions): HorusServer {
  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
  const limits: Required<ConnectionLimits> = { ...DEFAULT_CONNECTION_LIMITS, ...options.limits };
  let active = 0;
  let idle: (() => void) | undefined;

  // Connections oldest first (Map order), and the state of each by every
  // object a request can lead back to: the TCP socket, the TLS socket, the
  // HTTP/2 session.
  const conns = new Map<net.Socket, Conn>();
  const stateOf = new WeakMap<object, Conn>();
  const connOf = (req: AnyRequest): Conn | undefined =>
    stateOf.get((req as http2.Http2ServerRequest).stream?.session ?? req.socket);

  /** A new connection: tracked, or refused (or room made) at the cap. */
  function admit(socket: net.Socket): Conn | undefined {
    if (conns.size >= limits.maxConnections) {
      const victim = pickEviction(conns);
      if (victim === undefined) {
        socket.destroy();
        return undefined;
      }
      drop(conns.get(victim)!);
    }
    const now = Date.now();
    const c: Conn = { socket, protocol: "pending", openedAt: now, served: 0, active: 0, idleSince: now, trusted: false, requests: new Map(), bytesAtIdle: 0 };
    conns.set(socket, c);
    stateOf.set(socket, c);
    // A peer that vanished without a FIN is found by TCP keepalive even
    // while a long response (a watch) is open on it.
    socket.setKeepAlive(true, 30_000);
    socket.once("close", () => conns.delete(socket));
    return c;
  }

  function drop(c: Conn): void {
    conns.delete(c.socket);
    c.session?.destroy();
    c.socket.destroy();
  }

  const counted: RequestHandler = (req, res) => {
    active++;
    const c = connOf(req);
    if (c) {
      c.served++;
      c.active++;
      c.idleSince = undefined;
      c.headStartedAt = undefined;
      if (!(req.httpVersionMajor === 2 && options.streamingBody?.(req as http2.Http2ServerRequest))) c.requests.set(req, Date.now());
      if (!c.trusted && options.trusted?.(req)) c.trusted = true;
    }
    res.once("close", () => {
      active--;
      if (c) {
        c.active--;
        c.requests.delete(req);
        if (c.active === 0) {
          c.idleSince = Date.now();
          c.bytesAtIdle = c.socket.bytesRead;
        }
      }
      if (active === 0) idle?.();
    });
    options.handler(req, res);
  };

  const h1 = http.createServer(counted as http.RequestListener);
  // Advertised as Keep-Alive: timeout=…; the sweeper enforces it.
  h1.keepAliveTimeout = limits.idleTimeoutMs;
  /** Upgrade requests: the accepted ones go to `upgrade`, the rest are parsed again as plain requests. */
  const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    if (options.upgrade && options.acceptsUpgrade?.(req)) {
      const c = stateOf.get(socket);
      if (c) {
        c.protocol = "upgraded";
        if (options.trusted?.(req)) c.trusted = true;
      }
      options.upgrade(req, socket, head);
      return;
    }
    socket.unshift(Buffer.concat([headWithoutUpgrade(req), head]));
    h1.emit("connection", socket);
  };
  h1.on("upgrade", onUpgrade);

  // The session event comes synchronously from emit("connection") (and,
  // with TLS, from the secureConnection listener), so the connection being
  // handed over is known here.
  let handing: Conn | undefined;
  const onSession = (s: http2.Http2Session) => {
    sessions.add(s);
    s.once("close", () => sessions.delete(s));
    const c = handing;
    if (!c) return;
    c.protocol = "h2";
    c.session = s;
    c.lastPingAt = Date.now();
    stateOf.set(s, c);
  };
  const h2 = http2.createServer({}, counted as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void);
  const sessions = new Set<http2.Http2Session>();
  h2.on("session", onSession);
  const tcp = net.createServer({ noDelay: true }, (socket) => {
    const c = admit(socket);
    if (!c) return;
    socket.on("error", () => socket.destroy());
    let seen = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, PREFACE.length);
      const isH2 = seen.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (isH2 && seen.length < PREFACE.length) return; // need more bytes to decide
      socket.off("data", onData);
      socket.pause();
      socket.unshift(seen);
      if (isH2) {
        // The HTTP/2 session takes the bytes already buffered (socket.read)
        // and then reads the handle itself; resuming here would drop data.
        handing = c;
        h2.emit("connection", socket);
        handing = undefined;
      } else {
        c.protocol = "h1";
        h1.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("data", onData);
  });
  // With TLS, ALPN picks HTTP/2 or HTTP/1.1 (allowHTTP1), so no peeking is needed.
  const secure = options.tls
    ? http2.createSecureServer({ cert: options.tls.cert, key: options.tls.key, allowHTTP1: true, handshakeTimeout: limits.headersTimeoutMs }, counted as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void)
    : undefined;
  if (secure) {
    secure.on("upgrade", onUpgrade);
    secure.on("session", onSession);
    secure.on("connection", (socket: net.Socket) => {
      admit(socket);
    });
    // Ahead of http2's own listener, which creates the session (or the HTTP/1.1 parser).
    secure.prependListener("secureConnection", (tlsSocket: TLSSocket) => {
      const c = conns.get((tlsSocket as unknown as { _parent?: net.Socket })._parent ?? (tlsSocket as unknown as net.Socket));
      if (!c) return;
      stateOf.set(tlsSocket, c);
      c.protocol = tlsSocket.alpnProtocol === "h2" ? "h2" : "h1";
      handing = c;
    });
    secure.on("secureConnection", () => (handing = undefined));
    // A client that fails the handshake must not crash or stall the server.
    secure.on("tlsClientError", (_err, socket) => socket.destroy());
  }

  const sweep = () => {
    const now = Date.now();
    for (const c of conns.values()) {
      let oldest: number | undefined;
      for (const [req, at] of c.requests) if (!bodyDone(req) && (oldest === undefined || at < oldest)) oldest = at;
      c.oldestBodySince = oldest;
      if (c.protocol === "h1" && c.active === 0 && c.served > 0 && c.headStartedAt === undefined && c.socket.bytesRead > c.bytesAtIdle) c.headStartedAt = now;
      const action = connectionAction(c, now, limits);
      if (action.kind === "ping") {
        c.lastPingAt = now;
        const s = c.session;
        if (!s || s.closed || s.destroyed) continue;
        c.pingSentAt = now;
        try {
          s.ping(() => (c.pingSentAt = undefined));
        } catch {
          // too many unanswered pings or a closing session: the timeout decides
        }
      } else if (action.kind === "close") {
        if (action.graceful && c.session) c.session.close();
        else drop(c);
      }
    }
  };
  const tick = Math.max(20, Math.min(1000, Math.floor(Math.min(limits.headersTimeoutMs, limits.bodyTimeoutMs, limits.idleTimeoutMs, limits.pingTimeoutMs) / 4)));
  const sweeper = setInterval(sweep, tick);
  sweeper.unref();

  const listener: net.Server = secure ?? tcp;
  let address: AddressInfo | undefined;

  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        listener.once("error", reject);
        listener.listen(port, host, () => {
          listener.off("error", reject);
          address = listener.address() as AddressInfo;
          resolve(address);
        });
      });
    },
    url() {
      if (!address) throw new Error("server is not listening");
      const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
      return `${secure ? "https" : "http"}://${host === "0.0.0.0" || host === "[::]" ? "127.0.0.1" : host}:${address.port}`;
    },
    async close() {
      clearInterval(sweeper);
      const stopped = new Promise<void>((resolve) => listener.close(() => resolve()));
      if (active > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, drainTimeoutMs);
          idle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      for (const s of sessions) s.close();
      h1.closeIdleConnections();
      h1.closeAllConnections();
      for (const c of conns.values()) c.socket.destroy();
      await stopped;
    },
    inFlight() {
      return active;
    },
    connections() {
      return conns.size;
    },
  };
}
