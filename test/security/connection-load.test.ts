// 5,000 idle and slow connections against a real `horus coordinator` process
// with short timeouts, while a normal client keeps working over Connect
// (HTTP/1.1 and h2c) and JSON-RPC: connections that send nothing, half an
// HTTP/2 preface, slow headers or a trickled body are all closed within
// their timeout (plus slack for a busy machine), and every normal call
// succeeds. The CLI's connection flags are the ones used.
import { readFileSync } from "node:fs";
import net from "node:net";
import type { ChildProcess } from "node:child_process";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CoordinatorService } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { horus, horusServer } from "../helpers/cli.js";
import { PROTOCOLS } from "../helpers/coordinator.js";

const HEADERS_MS = 2_000;
const BODY_MS = 4_000;
/** Closed within its timeout and this much more: 5,000 sockets on a shared two-core machine. */
const SLACK_MS = 20_000;
const KINDS = ["silent", "half preface", "slow headers", "trickled body"] as const;

/** This process's soft limit of open files: the connections need one descriptor each. */
function openFilesLimit(): number {
  const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"));
  return Number(line?.split(/\s+/)[3] ?? 1024);
}
// Node raises its soft limit to the hard one at start; below that, fewer connections (the figure is printed).
const COUNT = Math.min(5_000, openFilesLimit() - 500);

let child: ChildProcess;
let url: string;

beforeAll(async () => {
  ({ child, url } = await horusServer(["coordinator", "--port", "0", "--log-level", "warn", "--headers-timeout", `${HEADERS_MS}ms`, "--body-timeout", `${BODY_MS}ms`, "--idle-timeout", "3s", "--allowed-host", "horus.lan"]));
}, 30_000);
afterAll(() => {
  child?.kill("SIGKILL");
});

interface Probe {
  kind: (typeof KINDS)[number];
  socket: net.Socket;
  /** When the timeout started counting (the connection opened, or for a body: its head was sent). */
  from: number;
  closedAfter?: number;
}

async function open(kind: Probe["kind"], port: number): Promise<Probe> {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => {});
  await new Promise((r) => socket.once("connect", r));
  const probe: Probe = { kind, socket, from: Date.now() };
  // Read (and drop) what comes, such as an HTTP/2 GOAWAY: the close is seen only after it.
  socket.resume();
  socket.once("close", () => (probe.closedAfter = Date.now() - probe.from));
  if (kind === "half preface") socket.write("PRI * HTTP/2.0\r\n");
  if (kind === "slow headers") socket.write("POST /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  if (kind === "trickled body") {
    socket.write("POST /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{");
    probe.from = Date.now();
  }
  return probe;
}

describe("idle and slow connections", () => {
  it(`${COUNT} of them are closed within their timeouts while a normal client keeps working`, async () => {
    const port = Number(new URL(url).port);
    const probes: Probe[] = [];
    // A normal client all along: Connect over HTTP/1.1 and h2c, JSON-RPC over HTTP.
    const h1 = createClient(CoordinatorService, PROTOCOLS["connect+json over HTTP/1.1"](url));
    const h2 = createClient(CoordinatorService, PROTOCOLS["grpc over h2c"](url));
    let calls = 0;
    const failures: string[] = [];
    let stop = false;
    const normal = (async () => {
      while (!stop) {
        try {
          await h1.listWorkflows({ pageSize: 1 }, { timeoutMs: 10_000 });
          await h2.submitWorkflow({ definition: { case: "yaml", value: "workflow:\n  name: n\n  steps:\n    - { id: a, runner: noop }\n" } }, { timeoutMs: 10_000 });
          const r = await fetch(`${url}/rpc`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "list_workflows", params: { pageSize: 1 } }) });
          if (r.status !== 200) failures.push(`json-rpc ${r.status}`);
          calls += 3;
        } catch (err) {
          failures.push(String(err));
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const started = Date.now();
    for (let i = 0; i < COUNT; i += 250) {
      probes.push(...(await Promise.all(Array.from({ length: Math.min(250, COUNT - i) }, (_, j) => open(KINDS[(i + j) % KINDS.length]!, port)))));
    }
    const opened = Date.now() - started;
    // One byte a second on each slow one, until it is closed.
    const trickle = setInterval(() => {
      for (const p of probes) if ((p.kind === "slow headers" || p.kind === "trickled body") && p.closedAfter === undefined) p.socket.write(p.kind === "slow headers" ? "x" : " ");
    }, 1_000);
    try {
      const deadline = Date.now() + BODY_MS + SLACK_MS + 10_000;
      while (probes.some((p) => p.closedAfter === undefined) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    } finally {
      clearInterval(trickle);
      stop = true;
      await normal;
    }
    const summary = KINDS.map((kind) => {
      const mine = probes.filter((p) => p.kind === kind);
      const closed = mine.filter((p) => p.closedAfter !== undefined).map((p) => p.closedAfter!);
      return { kind, open: mine.length - closed.length, slowestCloseMs: Math.max(...closed) };
    });
    console.log(`${COUNT} connections opened in ${opened} ms; ${JSON.stringify(summary)}; normal client: ${calls} calls, ${failures.length} failures`);
    for (const p of probes) p.socket.destroy();
    expect(failures).toEqual([]);
    expect(calls).toBeGreaterThan(0);
    for (const s of summary) {
      expect([s.kind, s.open]).toEqual([s.kind, 0]);
      expect([s.kind, s.slowestCloseMs < (s.kind === "trickled body" ? BODY_MS : HEADERS_MS) + SLACK_MS]).toEqual([s.kind, true]);
    }
  }, 120_000);

  it("--allowed-host names are answered, other names are not; a bad one is one line and exit 2", async () => {
    const port = new URL(url).port;
    const hostAnswer = async (host: string, to = port) =>
      new Promise<number>((resolve, reject) => {
        const s = net.connect(Number(to), "127.0.0.1", () => s.write(`GET /metrics HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
        let text = "";
        s.on("data", (d) => (text += d));
        s.on("close", () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0)));
        s.on("error", reject);
      });
    expect(await hostAnswer(`horus.lan:${port}`)).toBe(200);
    expect(await hostAnswer(`other.lan:${port}`)).toBe(421);
    const bad = await horus(["coordinator", "--port", "0", "--allowed-host", "http://horus.lan:9090"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^horus: --allowed-host takes a host name or address without scheme or port/);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    const slow = await horus(["coordinator", "--port", "0", "--idle-timeout", "50ms"]);
    expect(slow.stderr.trim()).toBe('horus: --idle-timeout must be at least 100ms, got "50ms"');
    // HORUS_ALLOWED_HOSTS: comma-separated names.
    const fromEnv = await horusServer(["coordinator", "--port", "0", "--log-level", "warn"], { HORUS_ALLOWED_HOSTS: "a.lan, b.lan" });
    try {
      const envPort = new URL(fromEnv.url).port;
      expect(await hostAnswer(`b.lan:${envPort}`, envPort)).toBe(200);
      expect(await hostAnswer(`c.lan:${envPort}`, envPort)).toBe(421);
    } finally {
      fromEnv.child.kill("SIGKILL");
    }
  });
});
