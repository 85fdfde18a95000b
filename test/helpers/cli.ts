// Runs the compiled `horus` CLI as a real child process.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";

export const HORUS = ["dist/src/cli/main.js"];

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function horus(args: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...HORUS, ...args], { env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 20_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts a long-running `horus` command and waits until it prints its URL. */
export function horusServer(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...HORUS, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const onData = (d: Buffer) => {
      out += d;
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) resolve({ child, url: m[1]!, output: () => out });
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => reject(new Error(`horus ${args.join(" ")} exited with ${code}: ${out}`)));
  });
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

/** Kills a process with SIGKILL (no clean-up runs) and waits until it is gone. */
export async function kill9(p: { child: ChildProcess }): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
  await exited(p.child);
}

/**
 * One `horus coordinator` process (embedded, port 0) for the calling suite:
 * started before its tests and stopped after them. Read `url` in the tests.
 */
export function suiteCoordinator(args: string[] = []): { readonly url: string } {
  let coord: { child: ChildProcess; url: string } | undefined;
  beforeAll(async () => {
    coord = await horusServer(["coordinator", "--port", "0", "--log-level", "warn", ...args]);
  });
  afterAll(async () => {
    if (!coord) return;
    coord.child.kill("SIGTERM");
    await exited(coord.child);
  });
  return {
    get url() {
      return coord!.url;
    },
  };
}

/** A suite's scratch directory; `file(name, text)` writes a file there and returns its path. */
export function scratchFiles(prefix: string): { dir: string; file(name: string, text: string): string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    file(name, text) {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    },
  };
}
