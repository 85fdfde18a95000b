// The `horus` CLI as a user runs it: real processes for the CLI, the
// coordinator and a separate supervisor.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createClient } from "@connectrpc/connect";
import { CoordinatorService } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { exited, horus, horusServer, scratchFiles, suiteCoordinator } from "../helpers/cli.js";
import { outputs, PROTOCOLS, waitForEnd, WorkflowState } from "../helpers/coordinator.js";

const coord = suiteCoordinator();
const { dir, file } = scratchFiles("horus-cli-");


describe("horus run", () => {
  it("runs the parallel example to success, printing progress lines, exit 0", async () => {
    const r = await horus(["--coordinator", coord.url, "run", "examples/parallel.yaml"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/step aggregate SUCCEEDED → \{"sum":38/);
    expect(r.stdout).toMatch(/\[6\/6 done, 0 running, [0-9.]+m?s\]/);
    expect(r.stdout.trim().split("\n").pop()).toMatch(/^workflow wf_\w+ SUCCEEDED in /);
  });

  it("exits 1 when the workflow fails, showing the error", async () => {
    const f = file("fail.yaml", `workflow:\n  name: f\n  steps:\n    - { id: a, runner: js, payload: "throw new Error('nope')" }\n`);
    const r = await horus(["--coordinator", coord.url, "run", f]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("SCRIPT_ERROR");
    expect(r.stdout).toMatch(/FAILED/);
  });

  it("--json prints the final workflow as JSON", async () => {
    const r = await horus(["--coordinator", coord.url, "--json", "run", "examples/data-pipeline.yaml"]);
    expect(r.code).toBe(0);
    const wf = JSON.parse(r.stdout);
    expect(wf.state).toBe("WORKFLOW_STATE_SUCCEEDED");
    expect(wf.steps.find((s: { id: string }) => s.id === "process").output).toEqual([2, 4, 6]);
  });

  it("passes --input values to the workflow", async () => {
    const r = await horus(["--coordinator", coord.url, "--json", "run", "examples/ci-cd.yaml", "--input", "environment=prod"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).steps.find((s: { id: string }) => s.id === "deploy").output.environment).toBe("prod");
  });

  it("rejects an invalid file with one line and a non-zero exit", async () => {
    const r = await horus(["--coordinator", coord.url, "run", "examples/invalid/cycle.yaml"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/INVALID_ARGUMENT: invalid workflow: .*dependency cycle/);
  });

  it("says clearly when the file is missing or the coordinator is unreachable", async () => {
    const missing = await horus(["--coordinator", coord.url, "run", "nope.yaml"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe("horus: cannot read nope.yaml: no such file\n");
    const down = await horus(["--coordinator", "http://127.0.0.1:1", "list"]);
    expect(down.code).toBe(2);
    expect(down.stderr.trim().split("\n")).toHaveLength(1);
    expect(down.stderr).toMatch(/^horus: cannot reach the coordinator at http:\/\/127\.0\.0\.1:1/);
  });

  it("a coordinator whose Redis cannot be reached, or a malformed Redis flag, fails with one line and exit 2", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["--redis-url", "redis://127.0.0.1:1"], /^horus: cannot start the coordinator: cannot connect to Redis at redis:\/\/127\.0\.0\.1:1: connect ECONNREFUSED/],
      [["--redis-url", "localhost"], /^horus: --redis-url must look like redis:\/\/host:6379, got "localhost"/],
      [["--redis-url", "redis://127.0.0.1:1", "--lease", "10ms"], /^horus: --lease must be at least 300ms/],
      [["--redis-url", "redis://127.0.0.1:1", "--redis-prefix", "a b"], /^horus: --redis-prefix may hold/],
    ];
    for (const [flags, message] of cases) {
      const r = await horus(["coordinator", "--port", "0", ...flags]);
      expect(r.code, flags.join(" ")).toBe(2);
      expect(r.stderr.trim().split("\n"), flags.join(" ")).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });
});

describe("coordinator limit flags", () => {
  it("a bad CEL budget, depth or transition time is one line and exit 2", async () => {
    const cases: Array<[string[], string]> = [
      [["--max-cel-steps", "0"], 'horus: --max-cel-steps must be a positive integer, got "0"'],
      [["--max-cel-size", "lots"], 'horus: --max-cel-size must be a positive integer, got "lots"'],
      [["--max-cel-time", "-5s"], 'horus: --max-cel-time must be a duration like 30s or 5m, got "-5s"'],
      [["--max-cel-time", "0.1ms"], 'horus: --max-cel-time must be a positive duration like 5s, got "0.1ms"'],
      [["--max-workflow-depth", "2.5"], 'horus: --max-workflow-depth must be a positive integer, got "2.5"'],
      [["--max-transition-time", "soon"], 'horus: --max-transition-time must be a duration like 30s or 5m, got "soon"'],
    ];
    for (const [flags, message] of cases) {
      const r = await horus(["coordinator", "--port", "0", ...flags]);
      expect(r.code, flags.join(" ")).toBe(2);
      expect(r.stderr.trim(), flags.join(" ")).toBe(message);
    }
    const help = await horus(["coordinator", "--help"]);
    for (const flag of ["--max-cel-steps", "--max-cel-size", "--max-cel-time", "--max-workflow-depth", "--max-transition-time"]) expect(help.stdout).toContain(flag);
  });

  it("--max-cel-steps and --max-workflow-depth are the limits submissions are checked against", async () => {
    const strict = await horusServer(["coordinator", "--port", "0", "--log-level", "warn", "--max-cel-steps", "1000", "--max-workflow-depth", "2"]);
    try {
      const c = ["--coordinator", strict.url];
      const list = `[${Array.from({ length: 40 }, (_, i) => i).join(", ")}]`;
      const costly = file("costly.yaml", `workflow:\n  name: costly\n  steps:\n    - { id: a, runner: noop }\n    - { id: b, runner: noop, depends_on: [a], when: "${list}.map(x, ${list}.map(y, x)).size() > 0" }\n`);
      const refused = await horus([...c, "submit", costly]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/step "b": when exceeds its cost budget: .* more than the limit of 1000 /);
      // The default budget (1,000,000) takes it: the flag is what refused it.
      expect((await horus(["--coordinator", coord.url, "run", costly])).code).toBe(0);

      // JSON is YAML: steps nested `depth` sub-workflows deep.
      const nested = (depth: number): string => {
        let steps: unknown[] = [{ id: "leaf", runner: "noop" }];
        for (let d = 0; d < depth; d++) steps = [{ id: `level${d}`, workflow: { name: `l${d}`, steps } }];
        return JSON.stringify({ workflow: { name: "nested", steps } });
      };
      const deep = await horus([...c, "submit", file("deep.yaml", nested(2))]);
      expect(deep.code).toBe(2);
      expect(deep.stderr).toMatch(/sub-workflows nest more than 2 deep/);
      expect((await horus([...c, "run", file("shallow.yaml", nested(1))])).code).toBe(0);
    } finally {
      strict.child.kill("SIGTERM");
      await exited(strict.child);
    }
  });
});

describe("retry and templates", () => {
  it("template register/list/get, a sub-workflow run from it, and retry of a failed workflow", async () => {
    const c = ["--coordinator", coord.url];
    const reg = await horus([...c, "template", "register", "audit-trail", "examples/templates/audit-trail.yaml"]);
    expect(reg.code).toBe(0);
    expect(reg.stdout).toMatch(/^template audit-trail version \d+\n$/);
    const list = await horus([...c, "template", "list"]);
    expect(list.stdout).toMatch(/^audit-trail {2}v\d+ {2}1 steps$/m);
    const get = await horus([...c, "template", "get", "audit-trail", "--version", "1"]);
    expect(JSON.parse(get.stdout)).toMatchObject({ name: "audit-trail", version: 1 });
    const missing = await horus([...c, "template", "get", "nope"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
    expect((await horus([...c, "run", "examples/sub-workflow.yaml"])).code).toBe(0);

    const sub = await horus([...c, "submit", "examples/trigger-rules.yaml"]);
    const id = sub.stdout.trim();
    expect((await horus([...c, "watch", id])).code).toBe(1);
    const retried = await horus([...c, "retry", id]);
    // build fails every time: the retry runs it again and the workflow fails again (exit 1).
    expect(retried.code).toBe(1);
    expect(retried.stdout).toMatch(/FAILED/);
    const status = await horus([...c, "--json", "status", id]);
    expect(JSON.parse(status.stdout).steps.find((s: { id: string }) => s.id === "build").attempts).toBe(2);
    // Only failed or cancelled workflows can be retried.
    const ok = (await horus([...c, "submit", "examples/data-pipeline.yaml"])).stdout.trim();
    expect((await horus([...c, "watch", ok])).code).toBe(0);
    const refused = await horus([...c, "retry", ok]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^horus: .*only FAILED or CANCELLED workflows can be retried\n$/);
  });
});

describe("other commands", () => {
  it("submit, status, list, logs, cancel", async () => {
    const sub = await horus(["--coordinator", coord.url, "submit", "examples/data-pipeline.yaml"]);
    expect(sub.code).toBe(0);
    const id = sub.stdout.trim();
    expect(id).toMatch(/^wf_\w+$/);
    await horus(["--coordinator", coord.url, "watch", id]);
    const status = await horus(["--coordinator", coord.url, "status", id]);
    expect(status.stdout).toContain("state: SUCCEEDED");
    expect(status.stdout).toMatch(/process\s+SUCCEEDED.*→ \[2,4,6\]/);
    const list = await horus(["--coordinator", coord.url, "list", "--state", "succeeded", "--name", "data-pipeline"]);
    expect(list.stdout).toContain(id);
    const logs = await horus(["--coordinator", coord.url, "logs", id]);
    expect(logs.stdout).toContain("fetch | fetching rows");
    expect(logs.stdout).toContain("store | storing 3 rows");

    const slow = file("slow.yaml", `workflow:\n  name: slow\n  steps:\n    - { id: s, runner: shell, payload: "sleep 20" }\n`);
    const id2 = (await horus(["--coordinator", coord.url, "submit", slow])).stdout.trim();
    const cancel = await horus(["--coordinator", coord.url, "cancel", id2]);
    expect(cancel.stdout.trim()).toBe(`workflow ${id2} CANCELLED`);
    const watch = await horus(["--coordinator", coord.url, "watch", id2]);
    expect(watch.code).toBe(1);
  });

  it("submit with several files: one call, one id per line in file order; an invalid file submits none", async () => {
    const c = ["--coordinator", coord.url];
    const named = (n: string) => file(`${n}.yaml`, `workflow:\n  name: ${n}\n  steps:\n    - { id: a, runner: js, payload: "inputs.n + 1" }\n`);
    const files = ["cli-batch-1", "cli-batch-2", "cli-batch-3"].map(named);
    const sub = await horus([...c, "submit", ...files, "--input", "n=41", "--idempotency-key", "cli-batch"]);
    expect([sub.code, sub.stderr]).toEqual([0, ""]);
    const ids = sub.stdout.trim().split("\n");
    expect(ids).toHaveLength(3);
    // Checked through the API: CLI processes are slow to start on a busy machine.
    const client = createClient(CoordinatorService, PROTOCOLS["connect+json over HTTP/1.1"](coord.url));
    const ended = await Promise.all(ids.map((id) => waitForEnd(client, id)));
    expect(ended.map((wf) => [wf.name, wf.state, outputs(wf)])).toEqual([1, 2, 3].map((n) => [`cli-batch-${n}`, WorkflowState.SUCCEEDED, { a: 42 }]));
    // Again with the same key: the same workflows, nothing new.
    const json = JSON.parse((await horus([...c, "--json", "submit", ...files, "--idempotency-key", "cli-batch"])).stdout);
    expect(json.workflows.map((w: { workflowId: string; existing: boolean }) => [w.workflowId, w.existing])).toEqual(ids.map((id) => [id, true]));

    const bad = await horus([...c, "submit", named("cli-batch-4"), "examples/invalid/cycle.yaml"]);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toMatch(/^horus: INVALID_ARGUMENT: invalid workflows \(nothing was submitted\): workflows\[1\]: .*cycle/);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect((await client.listWorkflows({ name: "cli-batch-4" })).workflows).toEqual([]);
    const missing = await horus([...c, "submit", files[0]!, join(dir, "no-such.yaml")]);
    expect([missing.code, missing.stderr.trim()]).toEqual([2, `horus: cannot read ${join(dir, "no-such.yaml")}: no such file`]);
  });

  it("validate prints the cycle and exits non-zero; a valid file prints its plan", async () => {
    const bad = await horus(["validate", "examples/invalid/cycle.yaml"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/dependency cycle: \w -> \w -> \w -> \w/);
    const good = await horus(["validate", "examples/parallel.yaml"]);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain("level 1: A, B, C");
  });

  it("--help explains the commands; unknown commands fail", async () => {
    const help = await horus(["--help"]);
    expect(help.code).toBe(0);
    for (const cmd of ["coordinator", "supervisor", "run", "submit", "status", "list", "cancel", "logs", "validate"]) expect(help.stdout).toContain(cmd);
    const bad = await horus(["frobnicate"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown command");
  });
});

describe("coordinator with a separate supervisor process", () => {
  it("routes jobs to `horus supervisor` over HTTP/2 and runs the examples", async () => {
    const sup = await horusServer(["supervisor", "--port", "0", "--name", "sup-a", "--log-level", "warn"]);
    const c2 = await horusServer(["coordinator", "--port", "0", "--supervisor", sup.url, "--log-level", "warn"]);
    try {
      const r = await horus(["--coordinator", c2.url, "--json", "run", "examples/multi-stage.yaml"]);
      expect(r.code).toBe(0);
      const wf = JSON.parse(r.stdout);
      expect(wf.steps.every((s: { supervisor: string }) => s.supervisor === "sup-a")).toBe(true);
      expect(wf.steps.find((s: { id: string }) => s.id === "notify").output).toBe("sent");
    } finally {
      c2.child.kill("SIGTERM");
      sup.child.kill("SIGTERM");
      expect(await exited(c2.child)).toBe(0);
      expect(await exited(sup.child)).toBe(0);
    }
  });
});
