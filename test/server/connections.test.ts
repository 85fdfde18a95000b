// Connection hygiene of the one-port server (src/server/listen.ts) with short
// configured timeouts: connections that send nothing, half a preface, slow
// headers or a trickled body are closed; idle HTTP/1.1 keep-alive and
// HTTP/2 sessions are closed; an HTTP/2 peer that stops answering PINGs is
// cut; long responses are never cut. At the connection cap the oldest idle
// connection without a valid token makes room, a token-bearing connection is
// never the one evicted, and when nothing can be evicted a newcomer is refused.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import http2 from "node:http2";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHorusServer, type HorusServer } from "../../src/server/listen.js";
import { tcpProxy } from "../helpers/proxy.js";
import { until } from "../helpers/wait.js";

const LIMITS = { headersTimeoutMs: 300, bodyTimeoutMs: 600, idleTimeoutMs: 400, pingIntervalMs: 200, pingTimeoutMs: 300 };
/** A closed connection must be closed within its timeout and this much more (a busy CI machine). */
const SLACK_MS = 5_000;

/** Answers /slow with a chunk every 100 ms for `ms` (query), /hold never, anything else at once after reading the body. */
function handler(req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): void {
  const url = new URL(req.url ?? "/", "http://x");
  if (url.pathname === "/hold") return;
  if (url.pathname === "/slow") {
    const until = Date.now() + Number(url.searchParams.get("ms") ?? 1000);
    let n = 0;
    const t = setInterval(() => {
      (res as http.ServerResponse).write(`chunk ${n++}\n`);
      if (Date.now() > until) {
        clearInterval(t);
        res.end("done\n");
      }
    }, 100);
    res.once("close", () => clearInterval(t));
    return;
  }
  let size = 0;
  req.on("data", (d: Buffer) => (size += d.length));
  req.on("end", () => res.end(`ok ${size}\n`));
}

let server: HorusServer;
let port: number;

beforeAll(async () => {
  server = createHorusServer({ handler, limits: LIMITS, trusted: (req) => req.headers.authorization === "Bearer good" });
  port = (await server.listen(0, "127.0.0.1")).port;
});
afterAll(() => server?.close());

/** Opens a raw connection; `closed` resolves with how long after opening it was closed by the server. */
async function raw(p = port): Promise<{ socket: net.Socket; closed: Promise<number>; data: () => string }> {
  const socket = net.connect(p, "127.0.0.1");
  await new Promise<void>((r, j) => socket.once("connect", r).once("error", j));
  const opened = Date.now();
  let data = "";
  socket.on("data", (d) => (data += d));
  socket.on("error", () => {});
  const closed = new Promise<number>((r) => socket.once("close", () => r(Date.now() - opened)));
  return { socket, closed, data: () => data };
}

/** Writes `text` one byte every `everyMs` until the socket closes. */
function trickle(socket: net.Socket, text: string, everyMs = 50): void {
  let i = 0;
  const t = setInterval(() => {
    if (socket.destroyed || i >= text.length) return clearInterval(t);
    socket.write(text[i++]!);
  }, everyMs);
  socket.once("close", () => clearInterval(t));
}

describe("timeouts", () => {
  it("a connection that sends nothing is closed after the headers timeout", async () => {
    const c = await raw();
    expect(await c.closed).toBeLessThan(LIMITS.headersTimeoutMs + SLACK_MS);
  });

  it("half an HTTP/2 preface is closed after the headers timeout", async () => {
    const c = await raw();
    c.socket.write("PRI * HTTP/2.0\r\n");
    expect(await c.closed).toBeLessThan(LIMITS.headersTimeoutMs + SLACK_MS);
  });

  it("slow headers are closed after the headers timeout", async () => {
    const c = await raw();
    trickle(c.socket, `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n${"x-slow: 1\r\n".repeat(200)}\r\n`);
    expect(await c.closed).toBeLessThan(LIMITS.headersTimeoutMs + SLACK_MS);
    expect(c.data()).toBe("");
  });

  it("a trickled body is closed after the body timeout", async () => {
    const c = await raw();
    c.socket.write("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n");
    trickle(c.socket, "x".repeat(1000));
    expect(await c.closed).toBeLessThan(LIMITS.bodyTimeoutMs + SLACK_MS);
    expect(c.data()).not.toContain("ok");
  });

  it("an idle HTTP/1.1 keep-alive connection is closed after the idle timeout, and says so", async () => {
    const c = await raw();
    c.socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    await until(() => (c.data().includes("ok 0")) || undefined);
    expect(c.data()).toMatch(/keep-alive: timeout=0/i);
    expect(await c.closed).toBeLessThan(LIMITS.headersTimeoutMs + LIMITS.idleTimeoutMs + SLACK_MS);
  });

  it("a slow second request head on a kept-alive connection is closed after the headers timeout", async () => {
    const c = await raw();
    c.socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    await until(() => (c.data().includes("ok 0")) || undefined);
    trickle(c.socket, `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n${"x-slow: 1\r\n".repeat(200)}\r\n`);
    expect(await c.closed).toBeLessThan(LIMITS.headersTimeoutMs * 2 + SLACK_MS);
    expect(c.data().match(/ok 0/g)).toHaveLength(1);
  });

  it("an idle HTTP/2 session gets a GOAWAY after the idle timeout", async () => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const goaway = new Promise<void>((r) => session.once("goaway", () => r()));
    const closed = new Promise<void>((r) => session.once("close", () => r()));
    session.on("error", () => {});
    const stream = session.request({ ":path": "/" });
    stream.resume();
    stream.end();
    await new Promise((r) => stream.once("close", r));
    await goaway;
    await closed;
  });

  it("an HTTP/2 peer that stops answering PINGs is cut, even with a stream open", async () => {
    const proxy = await tcpProxy(port);
    try {
      const session = http2.connect(`http://127.0.0.1:${proxy.port}`);
      session.on("error", () => {});
      const closed = new Promise<void>((r) => session.once("close", () => r()));
      const stream = session.request({ ":path": "/hold" });
      stream.on("error", () => {});
      stream.end();
      await until(() => (server.inFlight() > 0) || undefined);
      proxy.freeze();
      await closed;
      await until(() => (server.inFlight() === 0) || undefined);
    } finally {
      await proxy.close();
    }
  });

  it("long responses are not cut, over HTTP/1.1 and HTTP/2", async () => {
    const ms = LIMITS.bodyTimeoutMs + LIMITS.idleTimeoutMs + LIMITS.headersTimeoutMs;
    const text = await new Promise<string>((resolve, reject) => {
      http.get({ host: "127.0.0.1", port, path: `/slow?ms=${ms}`, agent: false }, (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve(body));
        res.on("error", reject);
      }).on("error", reject);
    });
    expect(text).toMatch(/done\n$/);
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const stream = session.request({ ":path": `/slow?ms=${ms}` });
    let body = "";
    stream.setEncoding("utf8");
    stream.on("data", (d) => (body += d));
    await new Promise((r, j) => stream.once("end", r).once("error", j));
    session.close();
    expect(body).toMatch(/done\n$/);
  });
});

describe("over TLS", () => {
  let secure: HorusServer;
  let sport: number;
  let cert: Buffer;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "horus-conn-tls-"));
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "k.pem"), "-out", join(dir, "c.pem"), "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], { stdio: "ignore" });
    cert = readFileSync(join(dir, "c.pem"));
    const key = readFileSync(join(dir, "k.pem"));
    rmSync(dir, { recursive: true, force: true });
    secure = createHorusServer({ handler, limits: LIMITS, tls: { cert, key } });
    sport = (await secure.listen(0, "127.0.0.1")).port;
  });
  afterAll(() => secure?.close());

  it("a connection that never starts the handshake is closed after the headers timeout", async () => {
    const c = await raw(sport);
    expect(await c.closed).toBeLessThan(LIMITS.headersTimeoutMs + SLACK_MS);
  });

  it("an idle HTTP/1.1 keep-alive connection and an idle HTTP/2 session are closed", async () => {
    const agent = new https.Agent({ keepAlive: true, ca: cert });
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const req = https.get({ host: "127.0.0.1", port: sport, path: "/", agent }, (res) => {
        const s = res.socket as net.Socket;
        res.resume();
        res.on("end", () => resolve(s));
      });
      req.on("error", reject);
    });
    await new Promise((r) => (socket.destroyed ? r(undefined) : socket.once("close", r)));
    agent.destroy();
    const session = http2.connect(`https://127.0.0.1:${sport}`, { ca: cert });
    session.on("error", () => {});
    const closed = new Promise<void>((r) => session.once("close", () => r()));
    const stream = session.request({ ":path": "/" });
    stream.resume();
    stream.end();
    await closed;
  });
});

describe("the connection cap", () => {
  const CAP = 10;
  let capped: HorusServer;
  let cport: number;
  beforeAll(async () => {
    // Long timeouts: here only the cap closes connections.
    capped = createHorusServer({ handler, limits: { maxConnections: CAP, headersTimeoutMs: 60_000, idleTimeoutMs: 60_000 }, trusted: (req) => req.headers.authorization === "Bearer good" });
    cport = (await capped.listen(0, "127.0.0.1")).port;
  });
  afterAll(() => capped?.close());

  /** One request on its own connection; the status, or "refused" when the connection was closed unanswered. */
  const request = (headers: Record<string, string> = {}) =>
    new Promise<number | "refused">((resolve) => {
      const req = http.get({ host: "127.0.0.1", port: cport, path: "/", headers, agent: false }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode!));
      });
      req.on("error", () => resolve("refused"));
    });

  it("silent anonymous connections filling it make room, oldest first, for anyone", async () => {
    const idle = await Promise.all(Array.from({ length: CAP }, () => raw(cport)));
    await until(() => (capped.connections() === CAP) || undefined);
    expect(await request()).toBe(200);
    await idle[0]!.closed;
    // Full again (the request's connection closed after its answer).
    idle.push(await raw(cport));
    await until(() => (capped.connections() === CAP) || undefined);
    expect(await request({ authorization: "Bearer good" })).toBe(200);
    await idle[1]!.closed;
    expect(idle.slice(2).every((c) => !c.socket.destroyed)).toBe(true);
    for (const c of idle) c.socket.destroy();
    await until(() => (capped.connections() === 0) || undefined);
  });

  it("a token-bearing client's idle connection is never the one closed, and it is still served", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<{ status: number; socket: net.Socket }>((resolve, reject) => {
        http.get({ host: "127.0.0.1", port: cport, path: "/", headers: { authorization: "Bearer good" }, agent }, (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode!, socket: res.socket as net.Socket }));
        }).on("error", reject);
      });
    const first = await get();
    expect(first.status).toBe(200);
    // Three times the cap of anonymous newcomers, each evicting the oldest idle anonymous one.
    const flood: Array<Awaited<ReturnType<typeof raw>>> = [];
    for (let i = 0; i < CAP * 3; i++) flood.push(await raw(cport));
    await until(() => (flood.filter((c) => !c.socket.destroyed).length === CAP - 1) || undefined);
    const second = await get();
    expect(second.status).toBe(200);
    // The same kept-alive connection served both.
    expect(second.socket).toBe(first.socket);
    agent.destroy();
    for (const c of flood) c.socket.destroy();
    await until(() => (capped.connections() === 0) || undefined);
  });

  it("when every connection runs a request, a newcomer is refused", async () => {
    const held = Array.from({ length: CAP }, () => http.get({ host: "127.0.0.1", port: cport, path: "/hold", agent: false }).on("error", () => {}));
    await until(() => (capped.inFlight() === CAP) || undefined);
    expect(await request()).toBe("refused");
    expect(await request({ authorization: "Bearer good" })).toBe("refused");
    for (const r of held) r.destroy();
    await until(() => (capped.connections() === 0) || undefined);
    expect(await request()).toBe(200);
  });
});
