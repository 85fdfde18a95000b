// GET /metrics on the coordinator's port, in the Prometheus text format.
import type http from "node:http";
import type http2 from "node:http2";
import type { CoordinatorMetrics } from "./metrics.js";

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

/** A page for createSurfaces({ pages }): answers GET/HEAD /metrics, leaves every other request alone. */
export function metricsPage(metrics: CoordinatorMetrics): (req: Req, res: Res) => boolean {
  return (req, res) => {
    if ((req.url ?? "/").split("?")[0] !== "/metrics" || (req.method !== "GET" && req.method !== "HEAD")) return false;
    metrics.render().then(
      ({ contentType, body }) => {
        (res as http.ServerResponse).writeHead(200, { "content-type": contentType, "cache-control": "no-store" });
        if (req.method === "HEAD") res.end();
        else res.end(body);
      },
      (err: unknown) => {
        (res as http.ServerResponse).writeHead(500, { "content-type": "text/plain" });
        res.end(`could not collect metrics: ${err instanceof Error ? err.message : String(err)}\n`);
      },
    );
    return true;
  };
}
