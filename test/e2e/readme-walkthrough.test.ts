// The external-runner walk-through of docs/supervisors-and-runners.md (the
// README links there), run as written: its command lines verbatim, in a
// private network namespace so that the fixed ports they use (Redis 6379,
// coordinator 9090, supervisor 8080) are free whatever else runs on this
// machine. The only additions are a user's: a Redis on
// localhost:6379 first, `horus` on the PATH, and waiting for each background
// command to say it is ready before typing the next.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, chmodSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/** The command lines of the first ```sh block after `marker` in a docs page (continuations joined, comments dropped). */
export function walkthroughCommands(page: string, marker: string): string[] {
  const at = page.indexOf(marker);
  if (at < 0) throw new Error(`the page has no "${marker}"`);
  const m = /```sh\n([\s\S]*?)```/.exec(page.slice(at));
  if (!m) throw new Error(`no sh block after "${marker}"`);
  return m[1]!
    .replace(/\\\n\s*/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

/** Whether this machine lets a test have its own network namespace (as root, or with unprivileged user namespaces). */
function canUnshare(): boolean {
  try {
    execFileSync("unshare", ["-rn", "true"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** A bash script that runs `commands` as a user would: background ones awaited until ready, the last one in the foreground. */
function driver(commands: string[], dir: string): string {
  const lines = [
    "set -u",
    "ip link set lo up",
    // Waits until a background command's output says it is ready (a server's "listening on", a runner's "ready").
    // -s: the background shell may not have created its log file yet.
    `await_ready() { for _ in $(seq 1 600); do grep -qsE 'listening on|[Rr]eady' "$1" && return 0; sleep 0.1; done; echo "not ready: $1" >&2; cat "$1" >&2; exit 99; }`,
    `redis-server --port 6379 --save '' --appendonly no > ${dir}/redis.log 2>&1 &`,
    `await_ready ${dir}/redis.log`,
  ];
  commands.forEach((c, i) => {
    const last = i === commands.length - 1;
    if (!last && !c.endsWith("&")) throw new Error(`only the last command may run in the foreground: ${c}`);
    if (last) {
      if (c.endsWith("&")) throw new Error(`the last command should run in the foreground: ${c}`);
      lines.push(c, "rc=$?");
      return;
    }
    lines.push(`{ ${c.slice(0, -1).trim()}; } > ${dir}/${i}.log 2>&1 &`, `await_ready ${dir}/${i}.log`);
  });
  lines.push("exit $rc");
  return lines.join("\n") + "\n";
}

describe("docs walk-through", () => {
  it.skipIf(!canUnshare())("external runners: coordinator, registered supervisor, runner process and a run, as written", async () => {
    const commands = walkthroughCommands(readFileSync("docs/supervisors-and-runners.md", "utf8"), "## External runners over Redis queues");
    expect(commands.at(-1)).toMatch(/^horus run /);
    const dir = mkdtempSync(join(tmpdir(), "horus-walkthrough-"));
    const bin = join(dir, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "horus"), `#!/bin/sh\nexec "${process.execPath}" "${resolve("dist/src/cli/main.js")}" "$@"\n`);
    chmodSync(join(bin, "horus"), 0o755);
    writeFileSync(join(dir, "driver.sh"), driver(commands, dir));

    // The user's environment, without settings that would change what the lines mean.
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env.PATH}`, NO_COLOR: "1" };
    for (const name of ["HORUS_COORDINATOR", "HORUS_REDIS_URL", "HORUS_TOKEN", "HORUS_TOKEN_FILE", "REDIS_URL"]) delete env[name];
    const child = spawn("unshare", ["-rn", "bash", join(dir, "driver.sh")], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    // A run that never ends (the old walk-through's step sat READY) fails the test instead of hanging it.
    const killAll = () => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // The group is gone already.
      }
    };
    const timer = setTimeout(killAll, 50_000);
    const code = await new Promise<number | null>((done) => child.on("close", done));
    clearTimeout(timer);
    // The background commands stay in the driver's process group: end them all, whatever the outcome.
    killAll();
    const logs = commands.slice(0, -1).map((_, i) => readFileSync(join(dir, `${i}.log`), "utf8")).join("\n");
    expect({ code, stderr }, `${stdout}\n${logs}`).toEqual({ code: 0, stderr: "" });
    expect(stdout).toMatch(/step greet SUCCEEDED → \{"echo":"hello from a runner process"/);
    expect(stdout).toContain('step shout SUCCEEDED → "HELLO FROM A RUNNER PROCESS"');
    expect(stdout.trim().split("\n").at(-1)).toMatch(/^workflow wf_\w+ SUCCEEDED in /);
  }, 60_000);
});
