// HTTP/1.1 upgrade requests on a real coordinator: only a WebSocket upgrade
// on /rpc/ws is taken; an h2c upgrade (curl --http2 on http://, Java's
// HttpClient) or an Upgrade header on any other route is served as an
// ordinary HTTP/1.1 request, and the connection stays usable.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningCoordinator } from "../../src/coordinator/app.js";
import { coordinator } from "../helpers/coordinator.js";
import { until } from "../helpers/wait.js";

let running: RunningCoordinator;
let port: number;

beforeAll(async () => {
  ({ running } = await coordinator());
  port = running.port;
});
afterAll(() => running?.close());

const H2C = "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n";
const LIST = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "list_workflows" });

/** Sends raw bytes on one connection and collects what comes back until `done` says the answer is complete. */
async function exchange(chunks: string[], done: (text: string) => boolean): Promise<{ text: string; open: boolean }> {
  const socket = net.connect(port, "127.0.0.1");
  let text = "";
  let closed = false;
  socket.on("data", (d) => (text += d));
  socket.on("close", () => (closed = true));
  socket.on("error", () => {});
  await new Promise((r) => socket.once("connect", r));
  for (const c of chunks) {
    const before = text.length;
    socket.write(c);
    await until(() => (text.length > before && done(text.slice(before))) || closed || undefined, 10_000);
  }
  const open = !closed;
  socket.destroy();
  return { text, open };
}

const complete = (t: string) => /\r\n\r\n/.test(t) && (/content-length: 0\r\n/i.test(t) || /\n$/.test(t) || /}$/.test(t));

describe("upgrade requests", () => {
  it("an h2c upgrade is served as HTTP/1.1, and the connection serves the next request", async () => {
    const { text, open } = await exchange(
      [`GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n${H2C}\r\n`, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"],
      complete,
    );
    expect(text.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2);
    expect(text).not.toContain("101 Switching");
    expect(text).toContain("horus_");
    expect(open).toBe(true);
  });

  it("an h2c upgrade of a POST with a body runs the call", async () => {
    const { text } = await exchange([`POST /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\n${H2C}Content-Type: application/json\r\nContent-Length: ${LIST.length}\r\n\r\n${LIST}`], complete);
    expect(text).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(text).toContain('"result":{"workflows":');
  });

  it("a WebSocket upgrade on another route is that route's ordinary answer", async () => {
    const ws = "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    const { text } = await exchange([`GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n${ws}\r\n`], complete);
    expect(text).toMatch(/^HTTP\/1\.1 200 OK/);
    // ... and on /rpc/ws it is taken.
    const taken = await exchange([`GET /rpc/ws HTTP/1.1\r\nHost: 127.0.0.1\r\n${ws}\r\n`], (t) => t.includes("\r\n\r\n"));
    expect(taken.text).toMatch(/^HTTP\/1\.1 101 Switching Protocols/);
  });

  it.skipIf(!existsSync("/usr/bin/curl"))("curl --http2 on http:// works (it asks for h2c)", async () => {
    const out = await new Promise<string>((resolve, reject) =>
      execFile("curl", ["-sS", "--http2", "-H", "Content-Type: application/json", "-d", LIST, `${running.url}/rpc`], (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout))),
    );
    expect(JSON.parse(out)).toMatchObject({ jsonrpc: "2.0", id: 1, result: { workflows: [] } });
  });
});
