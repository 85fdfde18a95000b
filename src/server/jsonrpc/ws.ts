// JSON-RPC 2.0 over WebSocket at /rpc/ws. Every method works as over HTTP;
// the streaming ones (watch_workflow, get_workflow_logs) are subscriptions:
// the call answers {"subscription": "<id>"} at once, then each message comes
// as a notification
//   {"jsonrpc":"2.0","method":"subscription","params":{"subscription":"<id>","result":{...}}}
// and the last one carries "done": true, or "error" when the stream failed.
// "unsubscribe" with {"subscription": "<id>"} stops one early; closing the
// socket stops them all.
import type http from "node:http";
import type { Duplex } from "node:stream";
import type { JsonValue } from "@bufbuild/protobuf";
import { WebSocketServer, type WebSocket } from "ws";
import type { CallInfo, JsonRpcBridge, JsonRpcResponse } from "./bridge.js";
import { INVALID_PARAMS, JsonRpcError, toJsonRpcError } from "./errors.js";
import { requestOrigin } from "../request-origin.js";

export interface JsonRpcWebSocketOptions {
  /** Largest message in bytes (default 4 MiB); a bigger one closes the socket with 1009. */
  maxMessageBytes?: number;
  /** Most open subscriptions per socket (default 100). */
  maxSubscriptions?: number;
  /** Aborted on shutdown: sockets are closed with 1001 (going away). */
  shutdown?: AbortSignal;
}

export interface JsonRpcWebSocketServer {
  /** Takes over an HTTP/1.1 upgrade request for /rpc/ws. */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Open sockets. */
  clients(): number;
  close(): Promise<void>;
}

export function createJsonRpcWebSocketServer(bridge: JsonRpcBridge, options: JsonRpcWebSocketOptions = {}): JsonRpcWebSocketServer {
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes ?? 4 * 1024 * 1024 });
  const maxSubs = options.maxSubscriptions ?? 100;
  options.shutdown?.addEventListener("abort", () => {
    for (const ws of wss.clients) ws.close(1001, "server is shutting down");
  });

  function serve(ws: WebSocket, req: http.IncomingMessage): void {
    const gone = new AbortController();
    const subscriptions = new Map<string, AbortController>();
    let next = 0;
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
    ws.on("close", () => {
      gone.abort();
      for (const s of subscriptions.values()) s.abort();
    });
    ws.on("error", () => ws.terminate());

    const send = (value: unknown) =>
      new Promise<void>((resolve) => {
        if (ws.readyState !== ws.OPEN) return resolve();
        // Waiting for each frame to be written keeps a slow reader from piling up memory.
        ws.send(JSON.stringify(value), () => resolve());
      });
    const notify = (params: Record<string, unknown>) => send({ jsonrpc: "2.0", method: "subscription", params });

    ws.on("message", async (data, isBinary) => {
      const text = isBinary ? Buffer.from(data as Buffer).toString("utf8") : String(data);
      const starts: Array<() => void> = [];
      const call: CallInfo = {
        protocol: "jsonrpc-ws",
        url: req.url ?? "/rpc/ws",
        origin: requestOrigin(req),
        headers,
        signal: gone.signal,
        subscribe(_method, open: (signal: AbortSignal) => AsyncIterable<JsonValue>) {
          if (subscriptions.size >= maxSubs) throw new JsonRpcError(INVALID_PARAMS, `at most ${maxSubs} subscriptions per connection`);
          const id = `s${++next}`;
          const stop = new AbortController();
          subscriptions.set(id, stop);
          // Runs once the answer with the id is sent, so notifications never come first.
          starts.push(async () => {
            // The handler sees this signal as its client going away, so an
            // unsubscribe ends a watch that is waiting for the next event.
            const it = open(AbortSignal.any([gone.signal, stop.signal]))[Symbol.asyncIterator]();
            try {
              for (;;) {
                const r = await it.next();
                if (r.done || stop.signal.aborted) break;
                await notify({ subscription: id, result: r.value });
              }
              if (!stop.signal.aborted) await notify({ subscription: id, done: true });
            } catch (err) {
              if (!stop.signal.aborted) await notify({ subscription: id, error: toJsonRpcError(err) });
            } finally {
              subscriptions.delete(id);
            }
          });
          return { subscription: id };
        },
      };
      const unsub = tryUnsubscribe(text, subscriptions);
      const answer: JsonRpcResponse | JsonRpcResponse[] | undefined = unsub ?? (await bridge.handleText(text, call));
      if (answer !== undefined) await send(answer);
      for (const start of starts) start();
    });
  }

  wss.on("connection", serve);

  return {
    handleUpgrade(req, socket, head) {
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
    },
    clients() {
      return wss.clients.size;
    },
    close() {
      for (const ws of wss.clients) ws.terminate();
      return new Promise((resolve) => wss.close(() => resolve()));
    },
  };
}

/** "unsubscribe" is answered here: it is about this socket, not the service. */
function tryUnsubscribe(text: string, subscriptions: Map<string, AbortController>): JsonRpcResponse | undefined {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!msg || typeof msg !== "object" || Array.isArray(msg) || (msg as { method?: unknown }).method !== "unsubscribe") return undefined;
  const r = msg as { id?: string | number | null; params?: { subscription?: unknown } };
  const id = r.id ?? null;
  const sub = typeof r.params?.subscription === "string" ? r.params.subscription : undefined;
  if (!sub) return { jsonrpc: "2.0", id, error: { code: INVALID_PARAMS, message: 'params.subscription (a string) is required', data: { field: "subscription" } } };
  const s = subscriptions.get(sub);
  s?.abort();
  subscriptions.delete(sub);
  return { jsonrpc: "2.0", id, result: s !== undefined };
}
