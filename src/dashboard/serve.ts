// Serves the dashboard (a static page and its bundle) on the coordinator's
// port. The bundle is built from src/dashboard/page by esbuild
// (scripts/build-dashboard.mjs, run by `npm run build` and by the test
// setup) into dist/dashboard/, and never committed.
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import type http from "node:http";
import type http2 from "node:http2";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

export interface DashboardOptions {
  /** Folder holding index.html and app.js (default: dist/dashboard of this package). */
  dir?: string;
}

/** The files the page is made of, by URL path. */
const FILES: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/dashboard/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/dashboard/app.js.map": { file: "app.js.map", type: "application/json" },
};

/** dist/dashboard of this package, found from here in src/ and in dist/src/. */
export function defaultDashboardDir(): string {
  for (let dir = new URL("./", import.meta.url); dir.pathname !== "/"; dir = new URL("../", dir)) {
    if (existsSync(fileURLToPath(new URL("package.json", dir)))) return join(fileURLToPath(dir), "dist", "dashboard");
  }
  return join(process.cwd(), "dist", "dashboard");
}

/** A page for createSurfaces({ pages }): answers GET / and the bundle, leaves every other request alone. */
export function dashboardPage(options: DashboardOptions = {}): (req: Req, res: Res) => boolean {
  const dir = options.dir ?? defaultDashboardDir();
  // Read once: the files change only with a rebuild, which restarts the coordinator.
  const cache = new Map<string, Promise<Buffer>>();
  return (req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    const entry = FILES[path];
    if (!entry || (req.method !== "GET" && req.method !== "HEAD")) return false;
    let body = cache.get(entry.file);
    if (!body) {
      body = readFile(join(dir, entry.file));
      cache.set(entry.file, body);
      body.catch(() => cache.delete(entry.file));
    }
    body.then(
      (data) => {
        (res as http.ServerResponse).writeHead(200, { "content-type": entry.type, "cache-control": "no-cache", "x-content-type-options": "nosniff" });
        if (req.method === "HEAD") res.end();
        else res.end(data);
      },
      () => {
        (res as http.ServerResponse).writeHead(503, { "content-type": "text/plain; charset=utf-8" });
        res.end(`the dashboard is not built: run \`npm run build\` (looked in ${dir})\n`);
      },
    );
    return true;
  };
}
