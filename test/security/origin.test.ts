// The Host and Origin policy on every surface of a real coordinator:
// Connect (HTTP/1.1 and h2c), gRPC, gRPC-web, JSON-RPC over HTTP and
// WebSocket, /login and /logout, the dashboard, /metrics and preflights. A
// foreign Origin is 403 and a foreign Host (or :authority) 421, before
// anything is decoded; requests without Origin, from the coordinator's own
// pages and from --cors-origin ones still work; /rpc takes JSON only.
import { randomBytes } from "node:crypto";
import http from "node:http";
import http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { RunningCoordinator } from "../../src/coordinator/app.js";
import { parseTokens } from "../../src/server/auth.js";
import { startSupervisorServer } from "../../src/server/supervisor-server.js";
import { coordinator } from "../helpers/coordinator.js";

interface Answer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** One HTTP/1.1 request with exactly these headers (Host and Origin included). */
function h1(url: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path, method: init.method ?? "GET", headers: init.headers ?? {}, setHost: !init.headers?.host, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on("error", reject);
    req.end(init.body);
  });
}

/** One HTTP/2 (h2c) request; `authority` replaces :authority. */
function h2(url: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: Buffer | string; authority?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url);
    session.on("error", reject);
    const stream = session.request({ ":method": init.method ?? "POST", ":path": path, ...(init.authority ? { ":authority": init.authority } : {}), ...init.headers });
    let status = 0;
    let headers: http.IncomingHttpHeaders = {};
    let body = "";
    stream.on("response", (h) => {
      status = Number(h[":status"]);
      headers = h as http.IncomingHttpHeaders;
    });
    stream.setEncoding("utf8");
    stream.on("data", (d) => (body += d));
    stream.on("end", () => {
      session.close();
      resolve({ status, body, headers });
    });
    stream.on("error", reject);
    stream.end(init.body);
  });
}

/** The status of a WebSocket upgrade to /rpc/ws (101 when it opened). */
function wsStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace("http", "ws")}/rpc/ws`, { headers });
    ws.on("open", () => {
      ws.close();
      resolve(101);
    });
    ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
    ws.on("error", reject);
  });
}

const SERVICE = "/horus.coordinator.v1.CoordinatorService";
const LIST = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "list_workflows" });
const SUBMIT_SHELL = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "submit_workflow", params: { yaml: "workflow:\n  name: x\n  steps:\n    - { id: a, runner: noop }\n" } });
// gRPC and gRPC-web frames of an empty ListWorkflowsRequest.
const EMPTY_FRAME = Buffer.from([0, 0, 0, 0, 0]);

/** A request of every surface, sent with `extra` headers over HTTP/1.1 (or h2c, with `authority`). */
function surfaces(url: string, extra: Record<string, string>, authority?: string): Record<string, () => Promise<Answer>> {
  const json = { "content-type": "application/json", ...extra };
  return {
    "Connect over HTTP/1.1": () => h1(url, `${SERVICE}/ListWorkflows`, { method: "POST", headers: json, body: "{}" }),
    "Connect over h2c": () => h2(url, `${SERVICE}/ListWorkflows`, { headers: json, body: "{}", ...(authority ? { authority } : {}) }),
    "gRPC over h2c": () => h2(url, `${SERVICE}/ListWorkflows`, { headers: { "content-type": "application/grpc", te: "trailers", ...extra }, body: EMPTY_FRAME, ...(authority ? { authority } : {}) }),
    "gRPC-web over HTTP/1.1": () => h1(url, `${SERVICE}/ListWorkflows`, { method: "POST", headers: { "content-type": "application/grpc-web+proto", ...extra }, body: EMPTY_FRAME.toString("latin1") }),
    "JSON-RPC over HTTP/1.1": () => h1(url, "/rpc", { method: "POST", headers: json, body: LIST }),
    "JSON-RPC over h2c": () => h2(url, "/rpc", { headers: json, body: LIST, ...(authority ? { authority } : {}) }),
    "the dashboard": () => h1(url, "/", { headers: extra }),
    "/metrics": () => h1(url, "/metrics", { headers: extra }),
    "a preflight": () => h1(url, "/rpc", { method: "OPTIONS", headers: { "access-control-request-method": "POST", ...extra } }),
  };
}

let running: RunningCoordinator;

beforeAll(async () => {
  ({ running } = await coordinator({ cors: { origins: ["https://app.example.com"] } }));
});
afterAll(() => running?.close());

describe("Origin", () => {
  it("a foreign Origin is refused 403 on every surface, WebSocket included", async () => {
    for (const [name, send] of Object.entries(surfaces(running.url, { origin: "https://evil.example" }))) {
      const res = await send();
      expect([name, res.status]).toEqual([name, 403]);
      expect(res.body).toContain("origin https://evil.example is not allowed");
    }
    expect(await wsStatus(running.url, { origin: "https://evil.example" })).toBe(403);
    // The same site on another port is another origin.
    expect(await wsStatus(running.url, { origin: "http://127.0.0.1:1" })).toBe(403);
  });

  it("no Origin, the coordinator's own origin and a --cors-origin one pass", async () => {
    const cases: Array<Record<string, string>> = [{}, { origin: running.url }, { origin: "https://app.example.com" }];
    for (const extra of cases) {
      for (const [name, send] of Object.entries(surfaces(running.url, extra))) {
        const res = await send();
        // Preflights are only ever answered for --cors-origin pages (withCors).
        const want = name !== "a preflight" ? 200 : extra.origin === "https://app.example.com" ? 204 : 403;
        expect([name, extra, res.status]).toEqual([name, extra, want]);
      }
      expect(await wsStatus(running.url, extra)).toBe(101);
    }
  });

  it("a foreign page's JSON-RPC call runs nothing: no workflow is created", async () => {
    const before = (await h1(running.url, "/rpc", { method: "POST", headers: { "content-type": "application/json" }, body: LIST })).body;
    const res = await h1(running.url, "/rpc", { method: "POST", headers: { "content-type": "application/json", origin: "http://127.0.0.1:18000" }, body: SUBMIT_SHELL });
    expect(res.status).toBe(403);
    expect((await h1(running.url, "/rpc", { method: "POST", headers: { "content-type": "application/json" }, body: LIST })).body).toBe(before);
  });
});

describe("Host", () => {
  it("a foreign Host (HTTP/2: :authority) is refused 421 on every surface, WebSocket included", async () => {
    const port = new URL(running.url).port;
    for (const [name, send] of Object.entries(surfaces(running.url, { host: `attacker.example:${port}` }, `attacker.example:${port}`))) {
      const res = await send();
      expect([name, res.status]).toEqual([name, 421]);
      expect(res.body.trim()).toBe('this server does not answer as "attacker.example" (start it with --allowed-host attacker.example to allow that name)');
    }
    expect(await wsStatus(running.url, { host: `attacker.example:${port}` })).toBe(421);
  });

  it("loopback names pass: localhost, 127.0.0.1, [::1]", async () => {
    const port = new URL(running.url).port;
    for (const name of ["localhost", "127.0.0.1", "[::1]", "LOCALHOST."]) {
      expect([name, (await h1(running.url, "/metrics", { headers: { host: `${name}:${port}` } })).status]).toEqual([name, 200]);
    }
  });

  it("--allowed-host adds a name (a reverse proxy's, a LAN name)", async () => {
    const { running: c } = await coordinator({ security: { allowedHosts: ["horus.lan"] } });
    try {
      const port = new URL(c.url).port;
      expect((await h1(c.url, "/metrics", { headers: { host: `horus.lan:${port}` } })).status).toBe(200);
      expect((await h1(c.url, "/metrics", { headers: { host: "horus.lan" } })).status).toBe(200);
      expect((await h1(c.url, "/metrics", { headers: { host: `other.lan:${port}` } })).status).toBe(421);
      expect((await h2(c.url, "/rpc", { authority: "horus.lan", headers: { "content-type": "application/json" }, body: LIST })).status).toBe(200);
    } finally {
      await c.close();
    }
  });
});

describe("/rpc content types", () => {
  it("JSON only: text/plain, forms and multipart are 415 and not read", async () => {
    for (const type of ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
      const res = await h1(running.url, "/rpc", { method: "POST", headers: { "content-type": type }, body: SUBMIT_SHELL });
      expect([type, res.status]).toEqual([type, 415]);
      expect(JSON.parse(res.body)).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: -32600, message: expect.stringContaining("Content-Type: application/json") } });
    }
    expect((await h1(running.url, "/rpc", { method: "POST", body: LIST })).status).toBe(415);
    for (const type of ["application/json", "application/json; charset=utf-8", "application/json-rpc"]) {
      expect([type, (await h1(running.url, "/rpc", { method: "POST", headers: { "content-type": type }, body: LIST })).status]).toEqual([type, 200]);
    }
  });
});

describe("with tokens: /login, /logout and the sign-in cookie", () => {
  const operator = randomBytes(24).toString("hex");
  let secured: RunningCoordinator;
  beforeAll(async () => {
    ({ running: secured } = await coordinator({ security: { tokens: parseTokens(`${operator} operator`, "test") } }));
  });
  afterAll(() => secured?.close());

  it("POST /login and /logout from a foreign origin are 403, from the dashboard's own they work", async () => {
    const form = { "content-type": "application/x-www-form-urlencoded" };
    const body = `token=${operator}`;
    for (const origin of ["http://127.0.0.1:18000", "https://evil.example", "null"]) {
      const login = await h1(secured.url, "/login", { method: "POST", headers: { ...form, origin }, body });
      expect([origin, login.status, login.headers["set-cookie"]]).toEqual([origin, 403, undefined]);
      expect((await h1(secured.url, "/logout", { method: "POST", headers: { origin } })).status).toBe(403);
    }
    const own = await h1(secured.url, "/login", { method: "POST", headers: { ...form, origin: secured.url }, body });
    expect(own.status).toBe(303);
    expect(String(own.headers["set-cookie"])).toContain("horus_token=");
    expect((await h1(secured.url, "/logout", { method: "POST", headers: { origin: secured.url } })).status).toBe(303);
  });

  it("a signed-in operator's cookie is refused from a same-site page on another port", async () => {
    const cookie = `horus_token=${operator}`;
    const attempt = (origin: string | undefined) =>
      h1(secured.url, "/rpc", { method: "POST", headers: { "content-type": "application/json", cookie, ...(origin ? { origin } : {}) }, body: SUBMIT_SHELL });
    expect((await attempt("http://127.0.0.1:18000")).status).toBe(403);
    expect((await attempt("http://localhost:18000")).status).toBe(403);
    // The dashboard itself (its own origin) and a tool without Origin still use it.
    expect(JSON.parse((await attempt(secured.url)).body)).toHaveProperty("result.workflowId");
    expect(JSON.parse((await attempt(undefined)).body)).toHaveProperty("result.workflowId");
  });

  it("a --cors-origin page must send its token: the cookie does not speak for it", async () => {
    const { running: c } = await coordinator({ cors: { origins: ["*"] }, security: { tokens: parseTokens(`${operator} operator`, "test") } });
    try {
      const send = (headers: Record<string, string>) => h1(c.url, "/rpc", { method: "POST", headers: { "content-type": "application/json", origin: "http://127.0.0.1:18000", ...headers }, body: LIST });
      expect((await send({ cookie: `horus_token=${operator}` })).status).toBe(403);
      expect((await send({ authorization: `Bearer ${operator}` })).status).toBe(200);
      // Nor may it sign a browser in or out.
      const login = await h1(c.url, "/login", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://127.0.0.1:18000" }, body: `token=${operator}` });
      expect([login.status, login.headers["set-cookie"]]).toEqual([403, undefined]);
      expect((await h1(c.url, "/logout", { method: "POST", headers: { origin: "http://127.0.0.1:18000" } })).status).toBe(403);
    } finally {
      await c.close();
    }
  });
});

describe("supervisors", () => {
  const DESCRIBE = "/horus.coordinator.v1.SupervisorService/DescribeSupervisor";
  const call = (url: string, headers: Record<string, string>) => h1(url, DESCRIBE, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: "{}" });

  it("without tokens: any Origin is 403 and a foreign Host 421; coordinators calling it by its names are served", async () => {
    const sup = await startSupervisorServer({ port: 0, advertiseUrl: "http://sup.lan:1" });
    try {
      const port = new URL(sup.url).port;
      expect((await call(sup.url, { origin: "https://evil.example" })).status).toBe(403);
      expect((await call(sup.url, { origin: sup.url })).status).toBe(200);
      expect((await call(sup.url, { host: `rebind.example:${port}` })).status).toBe(421);
      expect((await call(sup.url, { host: `sup.lan:${port}` })).status).toBe(200);
      expect((await call(sup.url, {})).status).toBe(200);
      const { running: c, client } = await coordinator({ supervisors: [sup.url] });
      try {
        expect((await client.listSupervisors({})).supervisors).toHaveLength(1);
      } finally {
        await c.close();
      }
    } finally {
      await sup.close();
    }
  });

  it("with tokens any name is answered (the token guards it), and Origin is still refused", async () => {
    const tok = randomBytes(24).toString("hex");
    const sup = await startSupervisorServer({ port: 0, security: { tokens: parseTokens(tok, "t") } });
    try {
      const port = new URL(sup.url).port;
      expect((await call(sup.url, { host: `sup-1.internal:${port}`, authorization: `Bearer ${tok}` })).status).toBe(200);
      expect((await call(sup.url, { host: `sup-1.internal:${port}` })).status).toBe(401);
      expect((await call(sup.url, { origin: "https://evil.example", authorization: `Bearer ${tok}` })).status).toBe(403);
    } finally {
      await sup.close();
    }
  });
});
