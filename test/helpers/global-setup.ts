// Runs once before the suites. Compiles src/ to dist/ (CLI tests run the
// real `horus` binary as child processes; incremental, so repeat runs are
// quick), and makes sure redis-server is installed: the Redis tests start
// their own servers, so `npm test` needs nothing running, only the binary.
import { execFileSync, spawnSync } from "node:child_process";

function has(cmd: string): boolean {
  return spawnSync(cmd, ["--version"], { stdio: "ignore" }).status === 0;
}

function ensureRedis(): void {
  if (has("redis-server") && has("redis-cli")) return;
  const root = process.getuid?.() === 0;
  if (!has("apt-get")) throw new Error("the Redis tests need redis-server and redis-cli on PATH; install Redis 7 and run again");
  process.stderr.write("redis-server is missing: installing Debian's redis-server package (once)...\n");
  const options = { stdio: "inherit" as const, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } };
  const run = (args: string[]) => (root ? execFileSync(args[0]!, args.slice(1), options) : execFileSync("sudo", ["-n", ...args], options));
  run(["apt-get", "update", "-qq"]);
  run(["apt-get", "install", "-y", "-qq", "redis-server"]);
}

export default function setup(): void {
  ensureRedis();
  execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.json", "--incremental", "--tsBuildInfoFile", "dist/.tsbuildinfo"], {
    stdio: "inherit",
  });
}
