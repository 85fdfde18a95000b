// The origin ("http://host:port") a client used to reach the server, for
// documents that must carry absolute URLs (rpc.discover's servers). It comes
// from the Host header (HTTP/2: :authority), which only names a host and a
// port here, or else from the address the connection arrived at.
import type http from "node:http";
import type http2 from "node:http2";
import type { TLSSocket } from "node:tls";

// A host name, an IPv4 address or a bracketed IPv6 address, and an optional port.
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

/** Whether a Host header value is a plain host[:port] (no path, user or spaces). */
export function isPlainHost(host: string): boolean {
  return HOST.test(host);
}

export function requestOrigin(req: http.IncomingMessage | http2.Http2ServerRequest): string {
  const socket = req.socket as TLSSocket | undefined;
  const scheme = socket?.encrypted ? "https" : "http";
  const host = (req as http2.Http2ServerRequest).authority || req.headers.host;
  if (typeof host === "string" && isPlainHost(host)) return `${scheme}://${host}`;
  const address = socket?.localAddress ?? "127.0.0.1";
  return `${scheme}://${address.includes(":") ? `[${address}]` : address}:${socket?.localPort ?? 80}`;
}
