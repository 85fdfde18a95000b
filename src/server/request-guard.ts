// The HTTP shell of request-policy.ts: reads the facts off a request and
// answers a refused one with its status and one line, before any handler
// sees it (so no body, token or preflight of a refused request is read).
import type http from "node:http";
import type http2 from "node:http2";
import type { Duplex } from "node:stream";
import type { RequestHandler } from "./listen.js";
import { checkRequest, type RequestFacts, type RequestPolicy, type Verdict } from "./request-policy.js";

function header(h: http.IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** What the policy looks at; over HTTP/2 the host is `:authority`. */
export function requestFacts(req: http.IncomingMessage | http2.Http2ServerRequest): RequestFacts {
  const h = req.headers as http.IncomingHttpHeaders;
  return { host: header(h, ":authority") ?? header(h, "host"), origin: header(h, "origin"), cookie: header(h, "cookie"), authorization: h.authorization !== undefined };
}

/** Wraps `handler`: refused requests get 403 or 421 and one line of text. */
export function withRequestPolicy(handler: RequestHandler, policy: RequestPolicy): RequestHandler {
  return (req, res) => {
    const verdict = checkRequest(policy, requestFacts(req));
    if (verdict.ok) return handler(req, res);
    const text = `${verdict.reason}\n`;
    (res as http.ServerResponse).writeHead(verdict.status, { "content-type": "text/plain; charset=utf-8", "content-length": String(Buffer.byteLength(text)), "cache-control": "no-store" });
    res.end(text);
  };
}

const STATUS_TEXT: Record<number, string> = { 403: "Forbidden", 421: "Misdirected Request" };

/** For an upgrade request: the verdict, having answered a refused one on the raw socket. */
export function checkUpgrade(policy: RequestPolicy, req: http.IncomingMessage, socket: Duplex): Verdict {
  const verdict = checkRequest(policy, requestFacts(req));
  if (!verdict.ok) {
    const text = `${verdict.reason}\n`;
    socket.end(`HTTP/1.1 ${verdict.status} ${STATUS_TEXT[verdict.status]}\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
  }
  return verdict;
}
