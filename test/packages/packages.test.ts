// The packages as a user gets them. `npm pack` makes every package's
// tarball (building it on prepack), and a scratch project outside the
// repository installs them, as `npm install ./horus-*.tgz` would. There:
// a strict TypeScript project type-checks the client READMEs' examples and
// runs them against a coordinator started with `npx horus` from the
// installed package; the browser client's example, bundled by esbuild from
// the installed package, runs in Chromium; the runner SDK's README runner
// serves a workflow through a supervisor; and `npx horus run` runs an
// example workflow. Run by `npm run check:packages` (.ci/run), not by
// `npm test`: packing and installing take a minute.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { build } from "esbuild";
import { chromium, type BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCoordinatorClient, WorkflowState } from "../../clients/node/index.js";
import { CHROMIUM, chromiumArgs } from "../helpers/chromium.js";
import { startRedis, type RedisServer } from "../helpers/redis.js";
import { waitForEnd } from "../helpers/coordinator.js";
import { exited } from "../helpers/cli.js";
import { readmeSnippet } from "../clients/readme.js";

const run = promisify(execFile);
const ROOT = process.cwd();
const rootPkg = JSON.parse(readFileSync("package.json", "utf8")) as { devDependencies: Record<string, string>; workspaces: string[] };

/** The packages and their tarballs' names. */
const PACKAGES = ["horus-coordinator", "horus-api", "horus-client-node", "horus-client-web", "horus-runner-sdk"] as const;

let tmp: string;
let app: string;
const tarballs = new Map<string, string>();
const children: ChildProcess[] = [];
let coordinatorUrl: string;
let site: http.Server;
let siteOrigin: string;
let redis: RedisServer;

/** A child process in the scratch project, as a user would start it (`npx horus ...`). */
function start(cmd: string, args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; match: RegExpExecArray; output: () => string }> {
  return new Promise((resolve, reject) => {
    // Its own process group: npx runs the bin as a child of its own, and stopping must reach both.
    const child = spawn(cmd, args, { cwd: app, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
    children.push(child);
    let out = "";
    const onData = (d: Buffer) => {
      out += d;
      const m = ready.exec(out);
      if (m) resolve({ child, match: m, output: () => out });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => reject(new Error(`${cmd} ${args.join(" ")} exited with ${code}: ${out}`)));
  });
}

/** Lines of a tarball's listing, without the leading "package/". */
async function contents(tarball: string): Promise<string[]> {
  const { stdout } = await run("tar", ["-tzf", tarball], { maxBuffer: 64 * 1024 * 1024 });
  return stdout.split("\n").filter(Boolean).map((l) => l.replace(/^package\//, ""));
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "horus-packages-"));
  const packs = join(tmp, "tarballs");
  mkdirSync(packs);
  // prepack builds each package (incremental after the test setup's build).
  await run("npm", ["pack", "--workspaces", "--include-workspace-root", "--pack-destination", packs, "--silent"], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
  for (const file of readdirSync(packs)) {
    const name = PACKAGES.find((p) => file.startsWith(`${p}-`) && /^\d/.test(file.slice(p.length + 1)));
    if (name) tarballs.set(name, join(packs, file));
  }
  expect([...tarballs.keys()].sort()).toEqual([...PACKAGES].sort());

  // The scratch project: the tarballs, plus what a TypeScript user has.
  // --prefer-offline: every dependency is already in npm's cache after
  // `npm ci` here, so this needs no registry.
  app = join(tmp, "app");
  mkdirSync(join(app, "src"), { recursive: true });
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "horus-consumer", private: true, type: "module" }, null, 2));
  await run(
    "npm",
    ["install", "--prefer-offline", "--no-audit", "--no-fund", "--silent", ...tarballs.values(), `typescript@${rootPkg.devDependencies.typescript}`, `@types/node@${rootPkg.devDependencies["@types/node"]}`],
    { cwd: app, maxBuffer: 64 * 1024 * 1024 },
  );

  // The page's server first: the coordinator must allow its origin.
  let pageJs = "";
  site = http.createServer((req, res) => {
    if (req.url === "/page.js") res.writeHead(200, { "content-type": "text/javascript" }).end(pageJs);
    else if (req.url === "/") res.writeHead(200, { "content-type": "text/html" }).end('<!doctype html><meta charset="utf-8"><script type="module" src="/page.js"></script>');
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => site.listen(0, "127.0.0.1", r));
  siteOrigin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  const coordinator = await start("npx", ["--no", "horus", "coordinator", "--port", "0", "--cors-origin", siteOrigin], /listening on (http:\/\/\S+)/);
  coordinatorUrl = coordinator.match[1]!;

  // The READMEs' examples, as users copy them out of the installed packages.
  const readme = (pkg: string) => readmeSnippet(join(app, "node_modules", pkg, "README.md"));
  writeFileSync(join(app, "src/node-example.ts"), readme("horus-client-node"));
  writeFileSync(join(app, "src/api-example.ts"), readme("horus-api"));
  writeFileSync(join(app, "src/web-example.ts"), readme("horus-client-web"));
  writeFileSync(join(app, "src/runner.ts"), readme("horus-runner-sdk"));
  for (const file of readdirSync("test/packages/consumer")) copyFileSync(join("test/packages/consumer", file), join(app, "src", file));
  writeFileSync(
    join(app, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        lib: ["ES2023", "DOM"],
        types: ["node"],
        strict: true,
        noUncheckedIndexedAccess: true,
        exactOptionalPropertyTypes: true,
        noImplicitOverride: true,
        noUnusedLocals: true,
        // Every declaration file is checked, ours and our dependencies'.
        skipLibCheck: false,
        outDir: "out",
        rootDir: "src",
      },
      include: ["src"],
    }),
  );
  pageJs = (await build({ entryPoints: [join(app, "src/page.ts")], absWorkingDir: app, bundle: true, format: "esm", platform: "browser", write: false, logLevel: "silent" })).outputFiles[0]!.text;
}, 600_000);

afterAll(async () => {
  // Every process group started here stops (npx and the bin it runs alike).
  const signal = (c: ChildProcess, sig: NodeJS.Signals) => {
    try {
      process.kill(-c.pid!, sig);
    } catch {
      // already gone
    }
  };
  for (const c of children) signal(c, "SIGTERM");
  await Promise.all(
    children.map(async (c) => {
      const timer = setTimeout(() => signal(c, "SIGKILL"), 10_000);
      await exited(c);
      clearTimeout(timer);
    }),
  );
  site?.close();
  await redis?.remove();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("the tarballs", () => {
  it("horus-coordinator holds the compiled code with declarations, the dashboard bundle, proto/, gen/ and the CLI; no tests, benches or sources", async () => {
    const files = await contents(tarballs.get("horus-coordinator")!);
    for (const f of ["package.json", "README.md", "bin/horus.js", "dist/src/cli/main.js", "dist/src/index.js", "dist/src/index.d.ts", "dist/src/coordinator/app.d.ts", "dist/src/store/redis/lua/commit-4.lua", "dist/dashboard/app.js", "dist/dashboard/index.html", "proto/horus/coordinator/v1/coordinator.proto", "gen/horus/coordinator/v1/coordinator_pb.ts", "dist/gen/horus/coordinator/v1/coordinator_pb.js"]) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => /^(test|bench|dist\/test|dist\/bench|clients\/|src\/|scripts\/|examples\/)/.test(f) || f.endsWith(".tsbuildinfo"))).toEqual([]);
    // Self-contained: its tarball installs alone, with nothing but registry packages.
    const { dependencies } = JSON.parse(readFileSync("package.json", "utf8")) as { dependencies: Record<string, string> };
    expect(Object.keys(dependencies).filter((d) => d.startsWith("horus-"))).toEqual([]);
  });

  it("each client package holds ESM with declarations and its README, and no sources, examples or build state", async () => {
    for (const name of ["horus-api", "horus-client-node", "horus-client-web", "horus-runner-sdk"]) {
      const files = await contents(tarballs.get(name)!);
      expect(files, name).toContain("README.md");
      expect(files.some((f) => f.endsWith("index.js")), name).toBe(true);
      expect(files.some((f) => f.endsWith("index.d.ts")), name).toBe(true);
      expect(files.filter((f) => (f.endsWith(".ts") && !f.endsWith(".d.ts")) || /example|tsbuildinfo|tsconfig/.test(f)), name).toEqual([]);
    }
    // The generated code is in horus-api only: the clients share it.
    for (const name of ["horus-client-node", "horus-client-web", "horus-runner-sdk"]) {
      expect((await contents(tarballs.get(name)!)).filter((f) => f.includes("_pb")), name).toEqual([]);
    }
  });
});

describe("installed in a project outside the repository", () => {
  it("a strict TypeScript project type-checks against the installed packages (the README examples included)", async () => {
    const tsc = await run(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "."], { cwd: app }).catch((err: { stdout: string }) => ({ stdout: err.stdout, failed: true }));
    expect(tsc.stdout).toBe("");
  }, 120_000);

  it("the Node client's README example runs against the coordinator `npx horus coordinator` serves: plain JSON inputs in, plain JSON outputs out", async () => {
    const { stdout } = await run(process.execPath, ["out/main.js", coordinatorUrl], { cwd: app });
    const result = JSON.parse(stdout) as Record<string, unknown>;
    expect(result.node).toMatchObject({ state: "SUCCEEDED", outputs: { fetch: { rows: [21, 2, 3], note: null }, sum: 26 } });
    expect(result.plan).toEqual([["a"], ["b", "c"]]);
    // The coordinator's public entry point works; its internals are not importable.
    expect(result.embedded).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(result.internal).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED");
  }, 60_000);

  it("the browser client's README example, bundled by esbuild from the installed package, runs in Chromium over Connect and gRPC-web", async () => {
    const profile = mkdtempSync(join(tmp, "chromium-"));
    let browser: BrowserContext | undefined;
    try {
      browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: chromiumArgs() });
      const page = await browser.newPage();
      await page.goto(siteOrigin + "/");
      await page.waitForFunction(() => typeof (globalThis as { runExample?: unknown }).runExample === "function");
      for (const protocol of ["connect", "grpc-web"]) {
        const res = await page.evaluate(
          async ([u, p]) => {
            try {
              return { ok: true, result: await (globalThis as any).runExample(u, p) };
            } catch (err) {
              return { ok: false, error: String(err) };
            }
          },
          [coordinatorUrl, protocol] as const,
        );
        expect(res, protocol).toMatchObject({ ok: true, result: { state: "SUCCEEDED", output: { answer: 42 } } });
      }
    } finally {
      await browser?.close();
    }
  }, 60_000);

  it("a runner built on the installed SDK (its README's) serves a workflow through a supervisor from the installed package", async () => {
    redis = await startRedis();
    await start(process.execPath, ["out/runner.js"], /runner upper ready/, { REDIS_URL: redis.url });
    await start("npx", ["--no", "horus", "supervisor", "--port", "0", "--name", "ext", "--external-runner", "upper", "--redis-url", redis.url, "--register", coordinatorUrl], /listening on/);
    const client = createCoordinatorClient(coordinatorUrl);
    const yaml = `workflow:\n  name: upper\n  steps:\n    - { id: a, runner: js, payload: "({ n: 1 })" }\n    - { id: b, runner: upper, depends_on: [a], payload: "hello" }\n`;
    const { workflowId } = await client.submitWorkflow({ definition: { case: "yaml", value: yaml }, inputs: { who: null } });
    const wf = await waitForEnd(client, workflowId, 30_000);
    expect(wf.state).toBe(WorkflowState.SUCCEEDED);
    expect(wf.steps[1]!.output).toEqual({ upper: "HELLO", input: { a: { n: 1 } }, inputs: { who: null } });
  }, 60_000);

  it("`npx horus run` from the installed package runs an example workflow to success", async () => {
    copyFileSync("examples/parallel.yaml", join(app, "parallel.yaml"));
    const res = await run("npx", ["--no", "horus", "run", "parallel.yaml", "--coordinator", coordinatorUrl], { cwd: app });
    expect(res.stdout + res.stderr).toMatch(/succeeded/i);
  }, 60_000);
});
