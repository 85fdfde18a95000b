// Child processes of the bench: a redis-server on a free loopback port, and
// `horus coordinator` and `horus supervisor` as processes of their own.
// All are killed when the bench exits, however it exits.
import { fork, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
// One free-port helper for the tests and the bench.
import { freePort } from "../test/helpers/redis.js";

const children = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});
// Ctrl-C or a kill of the bench: exit, so the handler above takes its processes along.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));


function waitFor(child: ChildProcess, pattern: RegExp, what: string): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = "";
    const onData = (d: Buffer) => {
      out += d;
      const m = pattern.exec(out);
      if (m) resolve(m);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("error", (err) => reject(new Error(`cannot start ${what}: ${err.message}`)));
    child.once("exit", (code) => reject(new Error(`${what} exited with ${code}: ${out}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  children.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 3_000).unref();
  });
}

export interface Proc {
  url: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** A throwaway redis-server: no persistence, its own folder. */
export async function startRedis(): Promise<Proc & { version: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "horus-bench-redis-"));
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no", "--daemonize", "no"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  // One pattern over all output so far: both lines often come in one chunk.
  const [, version] = await waitFor(child, /Redis version=([\d.]+)[\s\S]*Ready to accept connections/, "redis-server");
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    version: version ?? "",
    async stop() {
      await stop(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A `horus` command that serves (coordinator, supervisor) as a process of
 * its own, on a free port; resolves once it listens. `nodeArgsEnv` names an
 * environment variable with node flags for it, e.g. to profile it
 * (bench/README.md).
 */
async function horusProcess(command: string, args: string[], nodeArgsEnv: string): Promise<Proc> {
  const port = await freePort();
  const nodeArgs = (process.env[nodeArgsEnv] ?? "").split(" ").filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, "dist/src/cli/main.js", command, "--port", String(port), "--log-level", "warn", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  const [, url] = await waitFor(child, /listening on (http:\/\/\S+)/, `horus ${command}`);
  return { url: url!, port, pid: child.pid!, stop: () => stop(child) };
}

/** The reference supervisor as a separate process, as it runs in production. */
export function startSupervisorProcess(args: string[] = []): Promise<Proc> {
  return horusProcess("supervisor", ["--name", "bench", ...args], "HORUS_BENCH_SUPERVISOR_NODE_ARGS");
}

/**
 * `horus coordinator` as a process of its own, as a user starts it: with
 * no other flags the memory store and the in-process supervisor.
 * `--max-submit-rate 0`: "many" submits 500 workflows at once, which the
 * default per-token limit (200/s) would mostly refuse, and BullMQ has no
 * such limit.
 */
export function startCoordinatorProcess(args: string[] = []): Promise<Proc> {
  return horusProcess("coordinator", ["--max-submit-rate", "0", ...args], "HORUS_BENCH_COORDINATOR_NODE_ARGS");
}

/** A node script of the bench, with an IPC channel. */
export function forkScript(path: string, args: string[]): ChildProcess & { stopNow(): Promise<void> } {
  const child = fork(path, args, { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  children.add(child);
  return Object.assign(child, { stopNow: () => stop(child) });
}
