// POST /rpc: JSON-RPC 2.0 over HTTP/1.1 or HTTP/2. The body must be sent as
// application/json (or application/json-rpc): those are not a "simple"
// content type, so a browser asks the server (a CORS preflight) before a
// page on another origin may send one. text/plain, forms and beacons need
// no preflight and are answered 415 without being read. The answer is
// application/json, and a request of only notifications is answered 204.
import type http from "node:http";
import type http2 from "node:http2";
import type { JsonRpcBridge } from "./bridge.js";
import { INVALID_REQUEST } from "./errors.js";
import { requestOrigin } from "../request-origin.js";

export interface JsonRpcHttpOptions {
  /** Largest request body in bytes (default 4 MiB). */
  maxBodyBytes?: number;
}

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

function send(res: Res, status: number, body?: unknown, extra: Record<string, string> = {}): void {
  const text = body === undefined ? "" : JSON.stringify(body);
  (res as http.ServerResponse).writeHead(status, {
    ...(body === undefined ? {} : { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) }),
    ...extra,
  });
  (res as http.ServerResponse).end(text);
}

/** Media types /rpc accepts (parameters such as charset are ignored). */
export const JSON_RPC_CONTENT_TYPES = ["application/json", "application/json-rpc"] as const;

/** Whether a Content-Type header names a type /rpc accepts. */
export function isJsonContentType(header: string | undefined): boolean {
  const type = (header ?? "").split(";")[0]!.trim().toLowerCase();
  return (JSON_RPC_CONTENT_TYPES as readonly string[]).includes(type);
}

export function createJsonRpcHttpHandler(bridge: JsonRpcBridge, options: JsonRpcHttpOptions = {}): (req: Req, res: Res) => void {
  const max = options.maxBodyBytes ?? 4 * 1024 * 1024;
  return (req, res) => {
    if (req.method !== "POST") {
      send(res, 405, { jsonrpc: "2.0", id: null, error: { code: INVALID_REQUEST, message: "JSON-RPC requests are POSTed to /rpc" } }, { allow: "POST" });
      return;
    }
    if (!isJsonContentType(req.headers["content-type"])) {
      const message = `JSON-RPC requests must be sent with Content-Type: application/json (got ${JSON.stringify(req.headers["content-type"] ?? "none")})`;
      send(res, 415, { jsonrpc: "2.0", id: null, error: { code: INVALID_REQUEST, message } }, { "accept-post": JSON_RPC_CONTENT_TYPES.join(", ") });
      return;
    }
    const client = new AbortController();
    res.once("close", () => client.abort());
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > max && !tooBig) {
        tooBig = true;
        send(res, 413, { jsonrpc: "2.0", id: null, error: { code: INVALID_REQUEST, message: `request body over ${max} bytes`, data: { max_bytes: max } } }, { connection: "close" });
        req.resume();
      }
      if (!tooBig) chunks.push(chunk);
    });
    req.on("error", () => client.abort());
    req.on("end", () => {
      if (tooBig) return;
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string" && !k.startsWith(":")) headers.set(k, v);
      bridge
        .handleText(Buffer.concat(chunks).toString("utf8"), { protocol: "jsonrpc-http", url: req.url ?? "/rpc", origin: requestOrigin(req), headers, signal: client.signal })
        .then(
          (answer) => (answer === undefined ? send(res, 204) : send(res, 200, answer)),
          // The bridge turns method errors into responses; this is a bug of ours.
          () => send(res, 500, { jsonrpc: "2.0", id: null, error: { code: -32603, message: "internal error" } }),
        );
    });
  };
}
