// CORS for browser clients on other origins (`--cors-origin`). Connect and
// gRPC-web need their own request headers allowed and their status headers
// exposed, or a browser hides the error from the client: the lists come from
// @connectrpc/connect's `cors` helper so they follow the protocols.
import type http from "node:http";
import type http2 from "node:http2";
import { cors as connectCors } from "@connectrpc/connect";
import type { RequestHandler } from "./listen.js";

export interface CorsOptions {
  /** Origins allowed to call from a browser, e.g. "https://app.example.com"; "*" allows any. */
  origins: string[];
  /** Request headers browsers may send besides the protocols' own and Authorization. */
  allowedHeaders?: string[];
  /** Response headers scripts may read besides the protocols' own. */
  exposedHeaders?: string[];
  /** How long a browser may cache a preflight answer, in seconds (default 7,200). */
  maxAgeSeconds?: number;
}

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

/** Wraps `handler`: answers preflights, and marks allowed cross-origin responses. */
export function withCors(handler: RequestHandler, options: CorsOptions): RequestHandler {
  const any = options.origins.includes("*");
  const allowed = new Set(options.origins);
  const allowHeaders = [...new Set([...connectCors.allowedHeaders, "Authorization", ...(options.allowedHeaders ?? [])])].join(", ");
  const exposeHeaders = [...new Set([...connectCors.exposedHeaders, ...(options.exposedHeaders ?? [])])].join(", ");
  const allowMethods = [...new Set([...connectCors.allowedMethods, "POST", "OPTIONS"])].join(", ");
  const maxAge = String(options.maxAgeSeconds ?? 7200);

  return (req: Req, res: Res) => {
    const origin = req.headers.origin;
    const ok = typeof origin === "string" && (any || allowed.has(origin));
    const set = (name: string, value: string) => (res as http.ServerResponse).setHeader(name, value);
    // The answer depends on Origin: shared caches must keep one per origin.
    set("Vary", "Origin");
    if (ok) {
      set("Access-Control-Allow-Origin", origin);
      set("Access-Control-Expose-Headers", exposeHeaders);
    }
    if (req.method === "OPTIONS" && req.headers["access-control-request-method"]) {
      if (ok) {
        set("Access-Control-Allow-Methods", allowMethods);
        set("Access-Control-Allow-Headers", allowHeaders);
        set("Access-Control-Max-Age", maxAge);
      }
      (res as http.ServerResponse).writeHead(ok ? 204 : 403);
      (res as http.ServerResponse).end();
      return;
    }
    handler(req, res);
  };
}
