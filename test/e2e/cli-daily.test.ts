// The `horus` CLI for daily use, as a user runs it (real processes): version
// and completion, colour, bare host:port, submission warnings and wait
// reasons, for_each labels, piped runs that lose nothing, and templates that
// keep their version.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createClient } from "@connectrpc/connect";
import { describe, expect, it, vi } from "vitest";
import { CoordinatorService } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { exited, horus, horusServer, HORUS, scratchFiles, suiteCoordinator } from "../helpers/cli.js";
import { PROTOCOLS } from "../helpers/coordinator.js";

const coord = suiteCoordinator();
const { file } = scratchFiles("horus-cli-daily-");
const ANSI = /\x1b\[[0-9;]*m/;


const TYPO = `workflow:\n  name: typo\n  steps:\n    - { id: hello, runner: jss, payload: "1" }\n    - { id: fine, runner: js, payload: "1" }\n`;
const WARNING = 'no supervisor offers runner "jss" (offered: js, noop, shell): step hello will wait until one does';

describe("version and completion", () => {
  it("--version and -V print the package's version", async () => {
    const { version } = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
    for (const flag of ["--version", "-V"]) {
      const r = await horus([flag]);
      expect([r.code, r.stdout, r.stderr]).toEqual([0, `${version}\n`, ""]);
    }
  }, 90_000);

  it("completion bash is a script bash accepts that completes commands, subcommands and options", async () => {
    const r = await horus(["completion", "bash"]);
    expect(r.code).toBe(0);
    const script = file("horus.bash", r.stdout);
    execFileSync("bash", ["-n", script]);
    // Every query in one bash process (one `|`-separated line each): cheap on a busy machine.
    const queries = [["horus", ""], ["horus", "st"], ["horus", "template", ""], ["horus", "--coordinator", "localhost:9090", "run", "--in"], ["horus", "--"]];
    const program = queries
      .map((words) => `COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; COMPREPLY=(); _horus_complete; (IFS='|'; echo "\${COMPREPLY[*]}")`)
      .join("\n");
    const [top, st, template, runOptions, globalOptions] = execFileSync("bash", ["-c", `source ${script}\n${program}`], { encoding: "utf8" })
      .trimEnd()
      .split("\n")
      .map((line) => line.split("|"));
    for (const cmd of ["coordinator", "supervisor", "run", "submit", "status", "list", "template", "completion"]) expect(top).toContain(cmd);
    expect(st).toEqual(["status"]);
    expect(template).toEqual(["register", "list", "get"]);
    expect(runOptions).toEqual(["--input", "--inputs"]);
    expect(globalOptions).toContain("--coordinator");
    const bad = await horus(["completion", "fish"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: command-argument value 'fish' is invalid for argument 'shell'\. Allowed choices are bash, zsh\./);
  }, 90_000);

  it("completion zsh defines the completion function with the same commands", async () => {
    const r = await horus(["completion", "zsh"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^#compdef horus\n/);
    expect(r.stdout).toContain("compdef _horus horus");
    expect(r.stdout).toMatch(/'template'\) cmds=\(register list get\)/);
    const zsh = spawnSync("zsh", ["-n", file("_horus", r.stdout)]);
    // Checked with zsh itself where it is installed.
    if (!zsh.error) expect(zsh.status).toBe(0);
  }, 90_000);
});

describe("coordinator address", () => {
  it("a bare host:port, as a flag or in HORUS_COORDINATOR, means http://", async () => {
    const hostPort = coord.url.replace(/^http:\/\//, "");
    const flag = await horus(["--coordinator", hostPort, "list", "--limit", "1"]);
    expect([flag.code, flag.stderr]).toEqual([0, ""]);
    const env = await horus(["list", "--limit", "1"], { env: { HORUS_COORDINATOR: hostPort } });
    expect([env.code, env.stderr]).toEqual([0, ""]);
    const bad = await horus(["--coordinator", "ftp://x:21", "list"]);
    expect([bad.code, bad.stderr]).toEqual([2, 'horus: --coordinator must be an http:// or https:// URL, got "ftp://x:21"\n']);
  }, 90_000);
});

describe("runner wiring that explains itself", () => {
  it("submit warns on stderr about a runner no supervisor offers; status shows why the step waits", async () => {
    const c = ["--coordinator", coord.url];
    const sub = await horus([...c, "submit", file("typo.yaml", TYPO)]);
    expect(sub.code).toBe(0);
    expect(sub.stderr).toBe(`warning: ${WARNING}\n`);
    const id = sub.stdout.trim();
    expect(id).toMatch(/^wf_\w+$/);
    const client = createClient(CoordinatorService, PROTOCOLS["connect+json over HTTP/1.1"](coord.url));
    await vi.waitFor(async () => expect((await client.getWorkflow({ workflowId: id })).workflow!.steps[0]!.waitingReason).not.toBe(""), { timeout: 10_000 });
    const status = await horus([...c, "status", id]);
    expect(status.stdout).toMatch(/^ {2}hello +READY .*waiting for a supervisor: none can run runner "jss" \(runners up: js, noop, shell\)$/m);
    await client.cancelWorkflow({ workflowId: id });

    // Several files: each warning names its file; --json has them in the response too.
    const ok = file("ok.yaml", `workflow:\n  name: ok\n  steps:\n    - { id: a, runner: noop }\n`);
    const typo = file("typo2.yaml", TYPO);
    const many = await horus([...c, "--json", "submit", ok, typo]);
    expect(many.stderr).toBe(`warning: ${typo}: ${WARNING}\n`);
    const res = JSON.parse(many.stdout) as { workflows: Array<{ workflowId: string; warnings?: string[] }> };
    expect(res.workflows.map((w) => w.warnings ?? [])).toEqual([[], [WARNING]]);
    for (const w of res.workflows) await client.cancelWorkflow({ workflowId: w.workflowId });

    // A file whose runners are all offered gets none.
    const clean = await horus([...c, "submit", ok]);
    expect([clean.code, clean.stderr]).toEqual([0, ""]);
  }, 90_000);

  it("run warns about the runner before it shows the run, and follows it to its end", async () => {
    const skipped = file("typo-run.yaml", `workflow:\n  name: typo-run\n  steps:\n    - { id: hello, runner: jss, payload: "1", when: "false" }\n    - { id: fine, runner: js, payload: "40 + 2" }\n`);
    const r = await horus(["--coordinator", coord.url, "run", skipped]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`warning: ${WARNING}\n`);
    expect(r.stdout).toMatch(/^\S+ workflow typo-run wf_\w+ RUNNING \(2 steps\)$/m);
    expect(r.stdout).toMatch(/^\S+ step fine SUCCEEDED → 42 /m);
    expect(r.stdout).toMatch(/^workflow wf_\w+ SUCCEEDED in /m);
  }, 90_000);

  it("validate warns too when a coordinator answers, and stays local when none does", async () => {
    const typo = file("typo-validate.yaml", TYPO);
    const reached = await horus(["--coordinator", coord.url, "validate", typo]);
    expect([reached.code, reached.stderr]).toEqual([0, `warning: ${WARNING}\n`]);
    expect(reached.stdout).toMatch(/valid, 2 steps in 1 levels/);
    const alone = await horus(["--coordinator", "http://127.0.0.1:1", "validate", typo]);
    expect([alone.code, alone.stderr]).toEqual([0, ""]);
  }, 90_000);

  it("JSON-RPC submit_workflow and submit_workflows return the warnings", async () => {
    const call = async (method: string, params: unknown) => {
      const res = await fetch(`${coord.url}/rpc`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
      return ((await res.json()) as { result: Record<string, unknown> }).result;
    };
    const one = await call("submit_workflow", { yaml: TYPO });
    expect(one.warnings).toEqual([WARNING]);
    const many = (await call("submit_workflows", { workflows: [{ yaml: TYPO }] })) as { workflows: Array<{ warnings: string[]; workflowId: string }> };
    expect(many.workflows[0]!.warnings).toEqual([WARNING]);
    const client = createClient(CoordinatorService, PROTOCOLS["connect+json over HTTP/1.1"](coord.url));
    for (const id of [one.workflowId as string, many.workflows[0]!.workflowId]) await client.cancelWorkflow({ workflowId: id });
  });

  it("a supervisor started without --register says how to connect it", async () => {
    const sup = await horusServer(["supervisor", "--port", "0", "--name", "lonely", "--log-level", "warn"]);
    try {
      await vi.waitFor(() => expect(sup.output()).toMatch(/not registered with any coordinator: pass --register http:\/\/localhost:9090/), { timeout: 10_000 });
      expect(sup.output()).toContain(`start the coordinator with --supervisor ${sup.url}`);
    } finally {
      sup.child.kill("SIGTERM");
      await exited(sup.child);
    }
  });
});

describe("colour", () => {
  it("colours states on a terminal; not when piped, nor with NO_COLOR", async () => {
    const c = ["--coordinator", coord.url];
    const ok = file("colour.yaml", `workflow:\n  name: colour\n  steps:\n    - { id: a, runner: noop }\n`);
    const run = await horus([...c, "run", ok]);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toMatch(ANSI);
    const id = /workflow (wf_\w+) SUCCEEDED/.exec(run.stdout)![1]!;
    // A real terminal: `script` runs the CLI on a pseudo-terminal.
    const onTty = (env: NodeJS.ProcessEnv) =>
      spawnSync("script", ["-qec", [process.execPath, ...HORUS, ...c, "status", id].join(" "), "/dev/null"], { encoding: "utf8", env: { ...process.env, ...env } });
    const tty = onTty({});
    if (tty.error) throw new Error(`script(1) is needed for this test: ${tty.error.message}`);
    expect(tty.stdout).toContain("\x1b[32mSUCCEEDED\x1b[39m");
    expect(onTty({ NO_COLOR: "1" }).stdout).not.toMatch(ANSI);
    const piped = await horus([...c, "status", id]);
    expect(piped.stdout).toMatch(/state: SUCCEEDED/);
    expect(piped.stdout).not.toMatch(ANSI);
    const forced = await horus([...c, "list", "--limit", "1"], { env: { FORCE_COLOR: "1" } });
    expect(forced.stdout).toMatch(ANSI);
  }, 90_000);
});

describe("piped runs", () => {
  it("print every instance's output, labelled, and nothing after the final line, every time (20 runs)", async () => {
    for (let i = 0; i < 20; i++) {
      const r = await horus(["--coordinator", coord.url, "run", "examples/for-each.yaml"]);
      const where = `run ${i}:\n${r.stdout}${r.stderr}`;
      expect(r.code, where).toBe(0);
      const lines = r.stdout.trimEnd().split("\n");
      const squares = [4, 16, 36, 64, 100, 144, 196, 256, 324, 400];
      squares.forEach((sq, k) => expect(r.stdout, where).toMatch(new RegExp(`step square\\[${k}\\] SUCCEEDED → \\{"index":${k},"square":${sq}\\}`)));
      expect(r.stdout, where).toMatch(/step total SUCCEEDED → 1540/);
      expect(lines.at(-2), where).toMatch(/ workflow SUCCEEDED$/);
      expect(lines.at(-1), where).toMatch(/^workflow wf_\w+ SUCCEEDED in /);
    }
  }, 400_000);
});

describe("templates", () => {
  it("registering identical content keeps its version; changed content makes the next", async () => {
    const c = ["--coordinator", coord.url];
    const v1 = file("tpl1.yaml", `workflow:\n  name: tpl\n  steps:\n    - { id: a, runner: noop }\n`);
    const first = await horus([...c, "template", "register", "daily-tpl", v1]);
    expect(first.stdout).toBe("template daily-tpl version 1\n");
    const again = await horus([...c, "template", "register", "daily-tpl", v1]);
    expect(again.stdout).toBe("template daily-tpl version 1 (unchanged: same content as that version)\n");
    const json = JSON.parse((await horus([...c, "--json", "template", "register", "daily-tpl", v1])).stdout);
    expect(json.version).toBe(1);
    const v2 = file("tpl2.yaml", `workflow:\n  name: tpl\n  steps:\n    - { id: a, runner: noop }\n    - { id: b, runner: noop }\n`);
    expect((await horus([...c, "template", "register", "daily-tpl", v2])).stdout).toBe("template daily-tpl version 2\n");
  }, 90_000);
});
