// Real redis-server processes for the tests: each on a free loopback port
// with its own data folder, removed afterwards. Tests that kill or restart
// Redis own their server; the rest may share one (or REDIS_URL when set).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RedisServerOptions {
  /** Turn the append-only file on (default false: nothing is written to disk). */
  appendonly?: boolean;
  /** With appendonly: "always" or "everysec" (default everysec). */
  appendfsync?: "always" | "everysec";
  /** Extra redis-server arguments, e.g. ["--cluster-enabled", "yes"]. */
  args?: string[];
}

export interface RedisServer {
  url: string;
  port: number;
  dir: string;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for the exit: no chance to write anything more. */
  kill(): Promise<void>;
  /** Starts it again on the same port and folder (the AOF, if on, is replayed). */
  restart(): Promise<void>;
  /** Stops it and removes its folder. */
  remove(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function launch(port: number, dir: string, options: RedisServerOptions): Promise<ChildProcess> {
  const args = [
    "--port", String(port),
    "--bind", "127.0.0.1",
    "--dir", dir,
    "--save", "",
    "--daemonize", "no",
    "--appendonly", options.appendonly ? "yes" : "no",
    "--appendfsync", options.appendfsync ?? "everysec",
    "--loglevel", "notice",
    ...(options.args ?? []),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const onData = (d: Buffer) => {
      out += d;
      if (out.includes("Ready to accept connections")) resolve(child);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("error", (err) => reject(new Error(`cannot start redis-server (is it installed?): ${err.message}`)));
    child.once("exit", (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
  });
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "horus-redis-"));
  let child = await launch(port, dir, options);
  // A test process that dies must not leave servers behind.
  process.once("exit", () => child.kill("SIGKILL"));
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    async stop() {
      child.kill("SIGTERM");
      await waitExit(child);
    },
    async kill() {
      child.kill("SIGKILL");
      await waitExit(child);
    },
    async restart() {
      await server.kill();
      child = await launch(port, dir, options);
    },
    async remove() {
      await server.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

let shared: Promise<RedisServer> | undefined;

/**
 * A Redis for tests that do not need to own one: REDIS_URL when set,
 * otherwise one server per test file, killed when the file's process exits.
 * Tests must use their own key prefix so they never see each other's keys.
 */
export async function sharedRedisUrl(): Promise<string> {
  if (process.env.REDIS_URL) return process.env.REDIS_URL;
  shared ??= startRedis();
  return (await shared).url;
}

/** Stops the shared server (call from afterAll of files that used it). */
export async function stopSharedRedis(): Promise<void> {
  if (!shared) return;
  const s = await shared;
  shared = undefined;
  await s.remove();
}

export interface RedisCluster {
  /** Seed URLs of the three masters. */
  urls: string[];
  stop(): Promise<void>;
}

/** Three masters on loopback, slots assigned by `redis-cli --cluster create`. */
export async function startRedisCluster(size = 3): Promise<RedisCluster> {
  const nodes: RedisServer[] = [];
  for (let i = 0; i < size; i++) {
    nodes.push(await startRedis({ args: ["--cluster-enabled", "yes", "--cluster-node-timeout", "2000", "--cluster-config-file", "nodes.conf"] }));
  }
  await run("redis-cli", ["--cluster", "create", ...nodes.map((n) => `127.0.0.1:${n.port}`), "--cluster-replicas", "0", "--cluster-yes"]);
  // Wait until every node agrees the cluster is up.
  for (const n of nodes) {
    for (let i = 0; ; i++) {
      const info = await run("redis-cli", ["-p", String(n.port), "cluster", "info"]);
      if (info.includes("cluster_state:ok")) break;
      if (i > 100) throw new Error(`cluster did not come up: ${info}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    urls: nodes.map((n) => n.url),
    async stop() {
      await Promise.all(nodes.map((n) => n.remove()));
    },
  };
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}: ${out}`))));
  });
}
