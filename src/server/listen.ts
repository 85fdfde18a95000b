// One port for every protocol: Connect and gRPC-web over HTTP/1.1, and
// Connect, gRPC and gRPC-web over cleartext HTTP/2 (h2c). Node's http2
// `allowHTTP1` needs TLS, so each new connection's first bytes are peeked:
// the HTTP/2 client preface starts with "PRI ", anything else is HTTP/1.x.
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";

export type RequestHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

export interface ServerOptions {
  handler: RequestHandler;
  /** HTTP/1.1 upgrade requests (WebSocket); without it they are refused. */
  upgrade?: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;
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
}

const PREFACE = Buffer.from("PRI ");

export function createHorusServer(options: ServerOptions): HorusServer {
  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
  let active = 0;
  let idle: (() => void) | undefined;
  const counted: RequestHandler = (req, res) => {
    active++;
    res.once("close", () => {
      active--;
      if (active === 0) idle?.();
    });
    options.handler(req, res);
  };
  const h1 = http.createServer(counted as http.RequestListener);
  if (options.upgrade) h1.on("upgrade", options.upgrade);
  const h2 = http2.createServer({}, counted as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void);
  const sessions = new Set<http2.Http2Session>();
  h2.on("session", (s) => {
    sessions.add(s);
    s.once("close", () => sessions.delete(s));
  });
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
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
        h2.emit("connection", socket);
      } else {
        h1.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("data", onData);
  });
  // With TLS, ALPN picks HTTP/2 or HTTP/1.1 (allowHTTP1), so no peeking is needed.
  const secure = options.tls
    ? http2.createSecureServer({ cert: options.tls.cert, key: options.tls.key, allowHTTP1: true }, counted as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void)
    : undefined;
  if (secure) {
    if (options.upgrade) secure.on("upgrade", options.upgrade);
    secure.on("session", (s) => {
      sessions.add(s);
      s.once("close", () => sessions.delete(s));
    });
    secure.on("connection", (socket: net.Socket) => {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
    });
    // A client that fails the handshake must not crash or stall the server.
    secure.on("tlsClientError", (_err, socket) => socket.destroy());
  }
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
      for (const s of sockets) s.destroy();
      await stopped;
    },
    inFlight() {
      return active;
    },
  };
}
