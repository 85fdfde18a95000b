// Runs once before the suites. Compiles src/ to dist/ (CLI tests run the
// real `horus` binary as child processes; incremental, so repeat runs are
// quick) and bundles the dashboard, and makes sure redis-server and Chromium are installed: the Redis
// tests start their own servers and the browser test its own Chromium, so
// `npm test` needs nothing running, only the binaries.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { CHROMIUM } from "./chromium.js";

function has(cmd: string): boolean {
  return spawnSync(cmd, ["--version"], { stdio: "ignore" }).status === 0;
}

/** Installs a Debian package (as root, or with passwordless sudo). */
function aptInstall(pkg: string, why: string): void {
  const root = process.getuid?.() === 0;
  if (!has("apt-get")) throw new Error(why);
  process.stderr.write(`${pkg} is missing: installing Debian's ${pkg} package (once)...\n`);
  const options = { stdio: "inherit" as const, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } };
  const run = (args: string[]) => (root ? execFileSync(args[0]!, args.slice(1), options) : execFileSync("sudo", ["-n", ...args], options));
  run(["apt-get", "update", "-qq"]);
  run(["apt-get", "install", "-y", "-qq", pkg]);
}

function ensureRedis(): void {
  if (has("redis-server") && has("redis-cli")) return;
  aptInstall("redis-server", "the Redis tests need redis-server and redis-cli on PATH; install Redis 7 and run again");
}

function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  aptInstall("chromium", `the browser test needs Chromium at ${CHROMIUM}; install Debian's chromium package and run again`);
}

/** The Python client test (test/interop/python.test.ts): Debian's protoc, its gRPC plugin, grpcio and protobuf. */
function ensurePythonGrpc(): void {
  const python = () => spawnSync("/usr/bin/python3", ["-c", "import grpc, google.protobuf"], { stdio: "ignore" }).status === 0;
  const why = "the Python client test needs Debian's protobuf-compiler, libprotobuf-dev, protobuf-compiler-grpc, python3-grpcio and python3-protobuf";
  if (!existsSync("/usr/bin/protoc")) aptInstall("protobuf-compiler", why);
  if (!existsSync("/usr/include/google/protobuf/struct.proto")) aptInstall("libprotobuf-dev", why);
  if (!existsSync("/usr/bin/grpc_python_plugin")) aptInstall("protobuf-compiler-grpc", why);
  if (!python()) {
    aptInstall("python3-protobuf", why);
    aptInstall("python3-grpcio", why);
  }
}

export default function setup(): void {
  // Vitest runs the global setup of each project (and the root's): building once per run is enough.
  if (process.env.HORUS_GLOBAL_SETUP_DONE === String(process.pid)) return;
  ensureRedis();
  ensureChromium();
  ensurePythonGrpc();
  // The client packages first (clients/*/dist, as `npm run build:clients`):
  // tests, the dashboard and the example runner use them by package name.
  execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-b", "clients/node", "clients/web", "clients/runner"], { stdio: "inherit" });
  execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.json", "--incremental", "--tsBuildInfoFile", "dist/.tsbuildinfo"], {
    stdio: "inherit",
  });
  // The Lua scripts next to the compiled store (dist/src/store/redis/lua), as `npm run build` copies them.
  execFileSync(process.execPath, ["scripts/copy-lua.mjs"], { stdio: "inherit" });
  // The dashboard bundle the coordinator serves at / (dist/dashboard), as `npm run build` makes it.
  execFileSync(process.execPath, ["scripts/build-dashboard.mjs"], { stdio: "inherit" });
  process.env.HORUS_GLOBAL_SETUP_DONE = String(process.pid);
}
