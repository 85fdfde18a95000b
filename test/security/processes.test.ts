// Security of the real `horus` processes: tokens from files and variables,
// never in logs; the loopback-only rule without tokens; supervisors that
// require the coordinator's token and a registration token; TLS end to end
// with a certificate made here; --run-as and --disable-runner.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createCoordinatorClient } from "../../clients/node/index.js";
import { SupervisorService } from "../../gen/horus/coordinator/v1/supervisor_pb.js";
import { WorkflowState } from "../../src/engine/states.js";
import { exited, horus, HORUS } from "../helpers/cli.js";
import { waitForEnd } from "../helpers/coordinator.js";
import { processGone, until } from "../helpers/wait.js";

const dir = mkdtempSync(join(tmpdir(), "horus-security-"));
const token = () => randomBytes(24).toString("hex");
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
  await Promise.all(children.map((c) => exited(c)));
});

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** Starts `horus ARGS` with extra env; resolves once it prints its URL (http or https). */
function server(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...HORUS, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let out = "";
    const onData = (d: Buffer) => {
      out += d;
      const m = /listening on (https?:\/\/[^\s]+)/.exec(out);
      if (m) resolve({ child, url: m[1]!, output: () => out });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => reject(new Error(`horus ${args.join(" ")} exited with ${code}: ${out}`)));
  });
}

const WF = file("wf.yaml", `workflow:\n  name: sec\n  steps:\n    - { id: a, runner: shell, payload: "echo 1" }\n    - { id: b, runner: js, depends_on: [a], payload: "input.a + 1" }\n`);

describe("tokens in files and variables, never in logs", () => {
  it("serves only callers with a token, and no token appears in any log line", async () => {
    const admin = token();
    const viewer = token();
    const wrong = token();
    const envToken = token();
    const tokens = file("tokens", `${admin}\n${viewer} viewer\n`);
    const c = await server(["coordinator", "--port", "0", "--token-file", tokens, "--log-level", "trace"]);
    const env = { HORUS_COORDINATOR: c.url };
    const anon = await horus(["list"], { env });
    expect(anon.code).toBe(2);
    expect(anon.stderr.trim().split("\n")).toHaveLength(1);
    expect(anon.stderr).toContain("UNAUTHENTICATED");
    expect((await horus(["list"], { env: { ...env, HORUS_TOKEN: wrong } })).code).toBe(2);
    const run = await horus(["--token-file", tokens, "run", WF], { env });
    expect(run.code).toBe(0);
    const denied = await horus(["run", WF], { env: { ...env, HORUS_TOKEN: viewer } });
    expect(denied.stderr).toContain("PERMISSION_DENIED");
    // HORUS_TOKENS holds the lines when there is no --token-file.
    const e = await server(["coordinator", "--port", "0", "--log-level", "trace"], { HORUS_TOKENS: `${envToken} operator` });
    expect((await horus(["run", WF], { env: { HORUS_COORDINATOR: e.url, HORUS_TOKEN: envToken } })).code).toBe(0);
    expect((await horus(["list"], { env: { HORUS_COORDINATOR: e.url } })).code).toBe(2);
    for (const out of [c.output(), e.output(), anon.stderr, run.stdout, run.stderr, denied.stderr]) {
      for (const t of [admin, viewer, wrong, envToken]) expect(out).not.toContain(t);
    }
  });

  it("a bad token file is one line and exit 2, naming the file and line, never the token", async () => {
    const secret = token();
    const bad = await horus(["coordinator", "--port", "0", "--token-file", file("bad", `${secret} root\n`)]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^horus: .*bad line 1: unknown role "root"/);
    expect(bad.stderr).not.toContain(secret);
    const missing = await horus(["coordinator", "--port", "0", "--token-file", join(dir, "nope")]);
    expect(missing.stderr.trim()).toMatch(/cannot read token file .*nope: no such file/);
  });
});

describe("without tokens: loopback only", () => {
  it("says so on loopback, refuses another host, and needs --insecure for it", async () => {
    const open = await server(["coordinator", "--port", "0"]);
    await new Promise((r) => setTimeout(r, 200));
    expect(open.output()).toContain("no tokens configured");
    const refused = await horus(["coordinator", "--port", "0", "--host", "0.0.0.0"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/refusing to listen on 0\.0\.0\.0 without tokens.*--insecure/);
    const sup = await horus(["supervisor", "--port", "0", "--host", "0.0.0.0"]);
    expect(sup.code).toBe(2);
    const insecure = await server(["coordinator", "--port", "0", "--host", "0.0.0.0", "--insecure"]);
    await new Promise((r) => setTimeout(r, 200));
    expect(insecure.output()).toContain("WITHOUT authentication");
  });
});

describe("supervisors: the coordinator's token and the registration token", () => {
  it("a supervisor with tokens refuses calls without one, and registers with a registration token", async () => {
    const admin = token();
    const registration = token();
    const supervisorToken = token();
    const viewer = token();
    const coordTokens = file("coord-tokens", `${admin} admin\n${registration} register\n${viewer} viewer\n`);
    const c = await server([
      "coordinator", "--port", "0", "--no-embedded", "--token-file", coordTokens,
      "--supervisor-token-file", file("sup-out", `${supervisorToken}\n`), "--registration-lease", "1s",
    ]);
    // A registration with a viewer token is refused; with the registration token it works.
    const badSup = await server(["supervisor", "--port", "0", "--name", "bad", "--register", c.url, "--token-file", file("sup-in", `${supervisorToken}\n`)], {
      HORUS_REGISTRATION_TOKEN: viewer,
    });
    const s = await server([
      "supervisor", "--port", "0", "--name", "good", "--register", c.url, "--token-file", join(dir, "sup-in"),
      "--registration-token-file", file("reg", `${registration}\n`),
    ]);
    // Direct calls to the supervisor need the supervisor's token.
    const direct = createClient(SupervisorService, createConnectTransport({ baseUrl: s.url, httpVersion: "1.1" }));
    await expect(direct.describeSupervisor({})).rejects.toMatchObject({ code: Code.Unauthenticated });
    const client = createCoordinatorClient(c.url, { token: admin });
    for (;;) {
      const list = await client.listSupervisors({});
      if (list.supervisors.some((x) => x.name === "good" && x.health === "up")) {
        expect(list.supervisors.map((x) => x.name)).not.toContain("bad");
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const { workflowId } = await client.submitWorkflow({ definition: { case: "yaml", value: `workflow:\n  name: r\n  steps:\n    - { id: a, runner: shell, payload: "echo 7" }\n` } });
    expect((await waitForEnd(client, workflowId)).state).toBe(WorkflowState.SUCCEEDED);
    for (const out of [c.output(), s.output(), badSup.output()]) for (const t of [admin, registration, supervisorToken, viewer]) expect(out).not.toContain(t);
  });
});

describe("TLS", () => {
  const key = join(dir, "key.pem");
  const cert = join(dir, "cert.pem");
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
  ], { stdio: "ignore" });

  it("serves HTTP/2 and HTTP/1.1 by ALPN on one port; the CLI and clients trust a CA file", async () => {
    const admin = token();
    const c = await server(["coordinator", "--port", "0", "--token-file", file("tls-tokens", `${admin}\n`), "--tls-cert", cert, "--tls-key", key]);
    expect(c.url).toMatch(/^https:\/\//);
    const port = Number(new URL(c.url).port);
    const ca = await import("node:fs").then((fs) => fs.readFileSync(cert));
    for (const [offer, want] of [[["h2", "http/1.1"], "h2"], [["http/1.1"], "http/1.1"]] as const) {
      const got = await new Promise<string | false>((resolve, reject) => {
        const s = tls.connect({ host: "127.0.0.1", port, ca, ALPNProtocols: [...offer], servername: "localhost" }, () => {
          resolve(s.alpnProtocol ?? false);
          s.end();
        });
        s.on("error", reject);
      });
      expect(got).toBe(want);
    }
    // The CLI with --ca-file (and HORUS_CA_FILE), over https.
    const env = { HORUS_COORDINATOR: c.url, HORUS_TOKEN: admin };
    expect((await horus(["--ca-file", cert, "run", WF], { env })).code).toBe(0);
    expect((await horus(["list"], { env: { ...env, HORUS_CA_FILE: cert } })).code).toBe(0);
    const untrusted = await horus(["list"], { env });
    expect(untrusted.code).toBe(2);
    expect(untrusted.stderr.trim().split("\n")).toHaveLength(1);
    // The Node client over Connect (HTTP/1.1) and gRPC (HTTP/2).
    for (const protocol of ["connect", "grpc"] as const) {
      const client = createCoordinatorClient(c.url, { token: admin, ca, protocol });
      expect((await client.listWorkflows({})).workflows.length).toBeGreaterThan(0);
    }
    await expect(createCoordinatorClient(c.url, { ca, protocol: "grpc" }).listWorkflows({})).rejects.toMatchObject({ code: Code.Unauthenticated });
    // JSON-RPC over wss.
    const ws = new WebSocket(`${c.url.replace("https", "wss")}/rpc/ws`, { ca, headers: { authorization: `Bearer ${admin}` } });
    const answer = await new Promise<{ result?: { workflows?: unknown[] } }>((resolve, reject) => {
      ws.on("open", () => ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "list_workflows" })));
      ws.on("message", (d) => resolve(JSON.parse(String(d))));
      ws.on("error", reject);
    });
    ws.close();
    expect(answer.result?.workflows?.length).toBeGreaterThan(0);
  });

  it("a coordinator calls an https supervisor that trusts only its token", async () => {
    const supTok = token();
    const s = await server(["supervisor", "--port", "0", "--token-file", file("tls-sup", `${supTok}\n`), "--tls-cert", cert, "--tls-key", key]);
    expect(s.url).toMatch(/^https:/);
    const c = await server(["coordinator", "--port", "0", "--supervisor", s.url, "--supervisor-token-file", file("tls-sup-out", `${s.url} ${supTok}\n`), "--ca-file", cert]);
    expect((await horus(["run", WF], { env: { HORUS_COORDINATOR: c.url } })).code).toBe(0);
  });
});

describe("--run-as and --disable-runner", () => {
  const root = process.getuid?.() === 0;
  let nobody: number | undefined;
  try {
    nobody = Number(execFileSync("id", ["-u", "nobody"], { encoding: "utf8" }).trim());
  } catch {
    nobody = undefined;
  }

  it.skipIf(!root || nobody === undefined)("runs shell and js steps as another user (the js escape shows why that matters)", async () => {
    const c = await server(["coordinator", "--port", "0", "--no-embedded", "--registration-lease", "1s"]);
    await server(["supervisor", "--port", "0", "--run-as", "nobody", "--register", c.url]);
    const client = createCoordinatorClient(c.url);
    for (;;) {
      if ((await client.listSupervisors({})).supervisors.length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // A worker thread is no sandbox: this escape reaches the process; run as nobody, the process is nobody's.
    const yaml = `workflow:\n  name: u\n  steps:\n    - { id: sh, runner: shell, payload: "id -u" }\n    - { id: js, runner: js, payload: "this.constructor.constructor('return process')().getuid()" }\n`;
    const { workflowId } = await client.submitWorkflow({ definition: { case: "yaml", value: yaml } });
    const wf = await waitForEnd(client, workflowId);
    expect(wf.state).toBe(WorkflowState.SUCCEEDED);
    const out = Object.fromEntries(wf.steps.map((s) => [s.id, s.output]));
    expect(out).toEqual({ sh: nobody, js: nobody });
  });

  it("refuses an unknown user in one line, and --disable-runner removes a runner", async () => {
    const bad = await horus(["supervisor", "--port", "0", "--run-as", "no-such-user-here"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('horus: --run-as: no such user "no-such-user-here"');
    const s = await server(["supervisor", "--port", "0", "--disable-runner", "js", "--disable-runner", "shell"]);
    const d = await createClient(SupervisorService, createConnectTransport({ baseUrl: s.url, httpVersion: "1.1" })).describeSupervisor({});
    expect(d.runners.map((r) => r.name)).toEqual(["noop"]);
  });
});

describe("steps see no configuration of the coordinator or supervisor", () => {
  // A shell step prints `env`; a js step escapes node:vm and returns its process.env and /proc/self/environ.
  const PRINT_ENV = file("env.yaml", [
    "workflow:",
    "  name: env",
    "  steps:",
    "    - { id: sh, runner: shell, payload: \"env\" }",
    "    - { id: js, runner: js, payload: \"const p = this.constructor.constructor('return process')(); ({ env: p.env, environ: p.getBuiltinModule('fs').readFileSync('/proc/self/environ', 'utf8') })\" }",
    "",
  ].join("\n"));
  const JOB_VARS = ["HORUS_WORKFLOW_ID", "HORUS_STEP_ID", "HORUS_ATTEMPT", "HORUS_ATTEMPT_ID", "HORUS_INPUT", "HORUS_INPUTS"];
  const ALLOWED = ["PATH", "HOME", "LANG", "TZ", ...JOB_VARS];
  // What sh adds by itself.
  const SHELL_OWN = ["PWD", "SHLVL", "_"];

  async function stepEnvironments(url: string, token: string): Promise<{ sh: string; jsEnv: Record<string, string>; environ: string }> {
    const client = createCoordinatorClient(url, { token });
    const yaml = (await import("node:fs")).readFileSync(PRINT_ENV, "utf8");
    const { workflowId } = await client.submitWorkflow({ definition: { case: "yaml", value: yaml } });
    const wf = await waitForEnd(client, workflowId);
    expect(wf.state).toBe(WorkflowState.SUCCEEDED);
    // horus-client-node answers plain JSON outputs.
    const out = Object.fromEntries(wf.steps.map((s) => [s.id, s.output])) as { sh: string; js: { env: Record<string, string>; environ: string } };
    return { sh: out.sh, jsEnv: out.js.env, environ: out.js.environ };
  }

  function check(got: { sh: string; jsEnv: Record<string, string>; environ: string }, secrets: string[], extra: string[] = []): void {
    const shNames = got.sh.split("\n").map((l) => l.slice(0, l.indexOf("="))).filter((n) => n !== "");
    expect(shNames.filter((n) => ![...ALLOWED, ...SHELL_OWN, ...extra].includes(n))).toEqual([]);
    expect(Object.keys(got.jsEnv).filter((n) => ![...ALLOWED, ...extra].includes(n))).toEqual([]);
    const environNames = got.environ.split("\0").map((l) => l.slice(0, l.indexOf("="))).filter((n) => n !== "");
    // Node's fork() adds the IPC channel's own two variables to the job process.
    expect(environNames.filter((n) => ![...ALLOWED, ...extra, "NODE_CHANNEL_FD", "NODE_CHANNEL_SERIALIZATION_MODE"].includes(n))).toEqual([]);
    for (const text of [got.sh, JSON.stringify(got.jsEnv), got.environ]) {
      for (const secret of secrets) expect(text).not.toContain(secret);
    }
  }

  it("the coordinator as docs/security.md starts it (HORUS_TOKENS, in-process supervisor)", async () => {
    const admin = token();
    const c = await server(["coordinator", "--port", "0"], {
      HORUS_TOKENS: `${admin} admin`,
      HORUS_REDIS_URL: "",
      HORUS_TOKEN_FILE: join(dir, "some-token-file"),
      SOME_CONFIG: "coordinator-config-value",
    });
    check(await stepEnvironments(c.url, admin), [admin, "HORUS_TOKENS", "some-token-file", "coordinator-config-value"]);
  });

  it("a separate `horus supervisor`, and --inherit-env passes exactly the variable it names", async () => {
    const admin = token();
    const supTok = token();
    const registration = token();
    const s = await server(["supervisor", "--port", "0", "--token-file", file("env-sup-in", `${supTok}\n`), "--inherit-env", "PASSED_ON"], {
      HORUS_REGISTRATION_TOKEN: registration,
      HORUS_REDIS_URL: "redis://:redis-password@127.0.0.1:1",
      PASSED_ON: "wanted-value",
      NOT_PASSED: "unwanted-value",
    });
    const c = await server(["coordinator", "--port", "0", "--supervisor", s.url, "--supervisor-token-file", file("env-sup-out", `${supTok}\n`)], {
      HORUS_TOKENS: `${admin} admin`,
    });
    const got = await stepEnvironments(c.url, admin);
    check(got, [admin, supTok, registration, "redis-password", "unwanted-value", "NOT_PASSED"], ["PASSED_ON"]);
    expect(got.sh.split("\n")).toContain("PASSED_ON=wanted-value");
    expect(got.jsEnv.PASSED_ON).toBe("wanted-value");
    // The coordinator's in-process supervisor takes the same flag.
    const e = await server(["coordinator", "--port", "0", "--inherit-env", "PASSED_ON"], { HORUS_TOKENS: `${admin} admin`, PASSED_ON: "embedded-value", NOT_PASSED: "unwanted-value" });
    const embedded = await stepEnvironments(e.url, admin);
    check(embedded, [admin, "unwanted-value"], ["PASSED_ON"]);
    expect(embedded.jsEnv.PASSED_ON).toBe("embedded-value");
    const bad = await horus(["supervisor", "--port", "0", "--inherit-env", "NOT A NAME"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('horus: --inherit-env takes an environment variable name like MY_VAR, got "NOT A NAME"');
  });
});

describe("a supervisor's jobs die with it", () => {
  it("kill -9 of a `horus supervisor` ends its sleeping shell step and that step's setsid child", async () => {
    const s = await server(["supervisor", "--port", "0"]);
    const c = await server(["coordinator", "--port", "0", "--supervisor", s.url]);
    const shellPid = join(dir, "orphan-shell.pid");
    const setsidPid = join(dir, "orphan-setsid.pid");
    const yaml = `workflow:\n  name: orphans\n  steps:\n    - { id: a, runner: shell, payload: "setsid sleep 1000 & echo $! > ${setsidPid}; echo $$ > ${shellPid}; sleep 1000" }\n`;
    await createCoordinatorClient(c.url).submitWorkflow({ definition: { case: "yaml", value: yaml } });
    const { readFileSync } = await import("node:fs");
    const pids = await until(() => {
      const both = [shellPid, setsidPid].map((f) => Number(readFileSync(f, "utf8").trim()));
      return both.every((p) => p > 0) ? both : undefined;
    }, 20_000);
    expect(pids.some((p) => processGone(p))).toBe(false);
    s.child.kill("SIGKILL");
    await exited(s.child);
    try {
      await until(() => (pids.every((p) => processGone(p)) ? true : undefined), 10_000);
    } finally {
      for (const p of pids) if (!processGone(p)) process.kill(p, "SIGKILL");
    }
  });
});
