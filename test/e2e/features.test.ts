// Issue 4's features end to end on a real coordinator with its in-process
// reference supervisor (real worker threads and shell processes): retries
// with backoff, timeouts that kill, on_failure, for_each at 10,000 items,
// nested sub-workflows and templates, RetryWorkflow, cancel. Row ids refer
// to docs/semantics.md.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningCoordinator } from "../../src/coordinator/app.js";
import { tsMs } from "../../src/common/json.js";
import { coordinator, outputs, runYaml, stepStates, waitForEnd, WorkflowState, type CoordinatorClient } from "../helpers/coordinator.js";
import { alive, until } from "../helpers/wait.js";

let running: RunningCoordinator;
let client: CoordinatorClient;
const dir = mkdtempSync(join(tmpdir(), "horus-features-"));

beforeAll(async () => {
  ({ running, client } = await coordinator());
});
afterAll(async () => {
  await running.close();
});

/** A shell snippet that counts its runs in FILE and fails until run number N. */
const failUntil = (file: string, n: number) => `c=$(cat ${file} 2>/dev/null || echo 0); c=$((c+1)); echo $c > ${file}; if [ $c -lt ${n} ]; then echo "attempt $c fails" >&2; exit 1; fi; echo "{\\"runs\\":$c}"`;



describe("retries and timeouts", () => {
  it("R1/R2: a flaky step fails twice, then succeeds; each wait follows the backoff", async () => {
    const counter = join(dir, "flaky");
    const wf = await runYaml(client, `
workflow:
  name: flaky
  steps:
    - id: flaky
      runner: shell
      retry: { max_attempts: 3, initial_backoff: 200ms, multiplier: 2 }
      payload: '${failUntil(counter, 3)}'
`);
    expect(wf.state).toBe(WorkflowState.SUCCEEDED);
    const step = wf.steps[0]!;
    expect(step.attempts).toBe(3);
    expect(step.attemptHistory.map((a) => a.error?.code ?? "")).toEqual(["EXIT_CODE", "EXIT_CODE", ""]);
    expect(outputs(wf).flaky).toEqual({ runs: 3 });
    // The recorded gap from a failure to the next dispatch is the backoff (200 ms, then 400 ms), within tolerance.
    for (const [n, backoff] of [[1, 200], [2, 400]] as const) {
      const gap = tsMs(step.attemptHistory[n]!.dispatchedAt)! - tsMs(step.attemptHistory[n - 1]!.finishedAt)!;
      expect(gap, `wait before attempt ${n + 1}`).toBeGreaterThanOrEqual(backoff - 5);
      expect(gap, `wait before attempt ${n + 1}`).toBeLessThan(backoff + 1_000);
    }
  });

  it("D1: a timeout kills the sleeping shell step and the retry runs", async () => {
    const pids = join(dir, "pids");
    const wf = await runYaml(client, `
workflow:
  name: timeout
  steps:
    - id: slow
      runner: shell
      timeout: 500ms
      retry: { max_attempts: 2, initial_backoff: 100ms }
      payload: 'echo $$ >> ${pids}; if [ "$HORUS_ATTEMPT" = "1" ]; then exec sleep 30; fi; echo 42'
`);
    expect(wf.state).toBe(WorkflowState.SUCCEEDED);
    const step = wf.steps[0]!;
    expect(step.attemptHistory.map((a) => a.error?.code ?? "")).toEqual(["DEADLINE_EXCEEDED", ""]);
    expect(outputs(wf).slow).toBe(42);
    const first = Number(readFileSync(pids, "utf8").split("\n")[0]);
    await until(() => (alive(first) ? undefined : true));
  });

  it("D2: a workflow timeout cancels what still runs and fails the workflow", async () => {
    const wf = await runYaml(client, `
workflow:
  name: too-slow
  timeout: 400ms
  steps:
    - { id: quick, runner: noop }
    - { id: slow, runner: shell, payload: "sleep 30" }
`);
    expect(wf.state).toBe(WorkflowState.FAILED);
    expect(wf.error).toMatch(/^DEADLINE_EXCEEDED/);
    expect(stepStates(wf)).toEqual({ quick: "SUCCEEDED", slow: "CANCELLED" });
    expect(wf.steps[1]!.error?.code).toBe("DEADLINE_EXCEEDED");
  });
});

describe("error handlers, fan-out, recovery", () => {
  it("H2/H3: on_failure steps receive the failure; the workflow still ends FAILED", async () => {
    const wf = await runYaml(client, readFileSync("examples/on-failure.yaml", "utf8"));
    expect(wf.state).toBe(WorkflowState.FAILED);
    const out = outputs(wf);
    expect(out["log-failure"]).toBe("step load failed with EXIT_CODE: exit code 3: database unavailable");
    expect(stepStates(wf).load).toBe("FAILED");
  });

  it("F1/F4/F8: for_each over 10,000 items completes, outputs in item order", async () => {
    const wf = await runYaml(client, `
workflow:
  name: fan-out
  steps:
    - { id: list, runner: js, payload: "Array.from({ length: 10000 }, (_, i) => i)" }
    - { id: each, runner: noop, depends_on: [list], for_each: "input.list" }
    - { id: total, runner: js, depends_on: [each], payload: "input.each.reduce((s, x) => s + x.item, 0)" }
`, {}, 100_000);
    expect(wf.state).toBe(WorkflowState.SUCCEEDED);
    expect(outputs(wf).total).toBe((10_000 * 9_999) / 2);
  }, 120_000);

  it("X1/X3: RetryWorkflow re-runs only what failed; the others keep their attempts and outputs", async () => {
    const counter = join(dir, "retry-once");
    const { workflowId } = await client.submitWorkflow({ definition: { case: "yaml", value: `
workflow:
  name: recover
  steps:
    - { id: a, runner: js, payload: "Math.random()" }
    - { id: b, runner: shell, depends_on: [a], payload: '${failUntil(counter, 2)}' }
    - { id: c, runner: js, depends_on: [b], payload: "input.b.runs" }
    - { id: side, runner: noop }
` } });
    const failed = await waitForEnd(client, workflowId);
    expect(failed.state).toBe(WorkflowState.FAILED);
    expect(stepStates(failed)).toEqual({ a: "SUCCEEDED", b: "FAILED", c: "SKIPPED", side: "SUCCEEDED" });
    const res = await client.retryWorkflow({ workflowId });
    expect(res.state).toBe(WorkflowState.RUNNING);
    const done = await waitForEnd(client, workflowId);
    expect(done.id).toBe(workflowId);
    expect(done.state).toBe(WorkflowState.SUCCEEDED);
    expect(Object.fromEntries(done.steps.map((s) => [s.id, s.attempts]))).toEqual({ a: 1, b: 2, c: 1, side: 1 });
    expect(outputs(done).a).toBe(outputs(failed).a);
    expect(outputs(done).c).toBe(2);
    // Only FAILED or CANCELLED workflows can be retried.
    const again = await client.retryWorkflow({ workflowId }).catch((e: unknown) => e);
    expect((again as ConnectError).code).toBe(Code.FailedPrecondition);
  });

  it("K1: cancelling a running workflow kills its processes", async () => {
    const pidFile = join(dir, "cancel-pid");
    const { workflowId } = await client.submitWorkflow({ definition: { case: "yaml", value: `
workflow:
  name: cancel-me
  steps:
    - { id: s, runner: shell, payload: 'echo $$ > ${pidFile}; exec sleep 30' }
` } });
    const pid = await until(() => Number(readFileSync(pidFile, "utf8").trim()) || undefined);
    expect(alive(pid)).toBe(true);
    expect((await client.cancelWorkflow({ workflowId })).state).toBe(WorkflowState.CANCELLED);
    await until(() => (alive(pid) ? undefined : true));
  });
});

describe("sub-workflows and templates", () => {
  it("W1/W2: a sub-workflow three levels deep; each child records its parent; outputs come back up", async () => {
    const wf = await runYaml(client, `
workflow:
  name: level-1
  steps:
    - { id: seed, runner: js, payload: "5" }
    - id: two
      depends_on: [seed]
      workflow:
        name: level-2
        steps:
          - { id: double, runner: js, payload: "inputs.seed * 2" }
          - id: three
            depends_on: [double]
            workflow:
              name: level-3
              steps:
                - { id: inc, runner: js, payload: "inputs.double + 1" }
    - { id: result, runner: js, depends_on: [two], payload: "input.two.three.inc" }
`);
    expect(wf.state).toBe(WorkflowState.SUCCEEDED);
    expect(outputs(wf).result).toBe(11);
    const childId = wf.steps[1]!.attemptHistory[0]!.childWorkflowId;
    const child = (await client.getWorkflow({ workflowId: childId })).workflow!;
    expect(child).toMatchObject({ name: "level-2", parentWorkflowId: wf.id, parentStepId: "two" });
    const grandchild = (await client.getWorkflow({ workflowId: child.steps[1]!.attemptHistory[0]!.childWorkflowId })).workflow!;
    expect(grandchild).toMatchObject({ name: "level-3", parentWorkflowId: child.id, state: WorkflowState.SUCCEEDED });
  });

  it("templates are versioned; a run records the version it used; a missing template fails the step", async () => {
    const text = readFileSync("examples/templates/audit-trail.yaml", "utf8");
    const v1 = await client.registerWorkflowTemplate({ name: "audit-trail", definition: { case: "yaml", value: text } });
    // The same content again keeps version 1; changed content (a label) is version 2.
    const same = await client.registerWorkflowTemplate({ name: "audit-trail", definition: { case: "yaml", value: text } });
    const v2 = await client.registerWorkflowTemplate({ name: "audit-trail", definition: { case: "yaml", value: text.replace('name: "audit-trail"', 'name: "audit-trail"\n  labels: { rev: "2" }') } });
    expect([v1.template!.version, v1.existing, same.template!.version, same.existing, v2.template!.version, v2.existing]).toEqual([1, false, 1, true, 2, false]);
    expect((await client.getWorkflowTemplate({ name: "audit-trail", version: 1 })).template!.version).toBe(1);
    expect((await client.listWorkflowTemplates({})).templates.map((t) => [t.name, t.version])).toContainEqual(["audit-trail", 2]);
    const bad = await client.registerWorkflowTemplate({ name: "x", definition: { case: "yaml", value: "workflow: {name: x, steps: [{id: a}]}" } }).catch((e: unknown) => e);
    expect((bad as ConnectError).code).toBe(Code.InvalidArgument);

    const wf = await runYaml(client, readFileSync("examples/sub-workflow.yaml", "utf8"));
    expect(wf.state).toBe(WorkflowState.SUCCEEDED);
    expect(outputs(wf).audit).toEqual({ record: { audited: ["deploy-region"] } });
    const child = (await client.getWorkflow({ workflowId: wf.steps[2]!.attemptHistory[0]!.childWorkflowId })).workflow!;
    expect(child.template).toMatchObject({ name: "audit-trail", version: 2 });

    const missing = await runYaml(client, "workflow:\n  name: m\n  steps:\n    - { id: t, workflow: { template: nope } }\n");
    expect(missing.state).toBe(WorkflowState.FAILED);
    expect(missing.steps[0]!.error?.code).toBe("TEMPLATE_NOT_FOUND");
  });

  /** A template of one step running another template (with retries, which W4 must not multiply). */
  const runs = (name: string, template: string) => `workflow:\n  name: ${name}\n  steps:\n    - { id: next, retry: { max_attempts: 3, initial_backoff: 10ms }, workflow: { template: ${template} } }\n`;
  const yaml = (value: string) => ({ case: "yaml" as const, value });

  it("W5: registering the template that closes a cycle is rejected with the path; W4: a cycle stored anyway fails WORKFLOW_TOO_DEEP at depth 8", async () => {
    await client.registerWorkflowTemplate({ name: "cycA", definition: yaml(runs("cycA", "cycB")) });
    const err = await client.registerWorkflowTemplate({ name: "cycB", definition: yaml(runs("cycB", "cycA")) }).catch((e: unknown) => e);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toMatch(/step "next": template "cycB" would run itself: cycB -> cycA -> cycB/);
    const self = await client.registerWorkflowTemplate({ name: "selfish", definition: yaml(runs("selfish", "selfish")) }).catch((e: unknown) => e);
    expect((self as ConnectError).rawMessage).toMatch(/selfish -> selfish/);

    // A cycle registration could not see (two registrations racing, or stored before the check): written to the store directly.
    const parsed = (await import("../../src/workflow/parse.js")).parseWorkflowYaml(runs("cycB", "cycA"));
    await running.store.putTemplate("cycB", parsed.definition!, Date.now());
    const wf = await runYaml(client, runs("root", "cycA"));
    expect(wf.state).toBe(WorkflowState.FAILED);
    expect(wf.steps[0]!.error?.code).toBe("WORKFLOW_TOO_DEEP");
    expect(wf.steps[0]!.attempts).toBe(1);
    // Down the chain: seven children (levels 2-8), each tried once; the eighth was never created.
    let levels = 1;
    for (let id = wf.steps[0]!.attemptHistory[0]!.childWorkflowId; id; levels++) {
      const child = (await client.getWorkflow({ workflowId: id })).workflow!;
      expect(child.steps[0]!.attempts).toBe(1);
      id = child.steps[0]!.attemptHistory[0]?.childWorkflowId ?? "";
    }
    expect(levels).toBe(8);
  });

  it("W4: a chain of ten templates (no cycle) fails WORKFLOW_TOO_DEEP where it passes eight levels", async () => {
    await client.registerWorkflowTemplate({ name: "chain0", definition: yaml("workflow:\n  name: chain0\n  steps:\n    - { id: leaf, runner: noop }\n") });
    for (let k = 1; k < 10; k++) await client.registerWorkflowTemplate({ name: `chain${k}`, definition: yaml(runs(`chain${k}`, `chain${k - 1}`)) });
    const shallow = await runYaml(client, runs("root", "chain5"));
    expect(shallow.state).toBe(WorkflowState.SUCCEEDED);
    const deep = await runYaml(client, runs("root", "chain9"));
    expect(deep.state).toBe(WorkflowState.FAILED);
    expect(deep.steps[0]!.error?.code).toBe("WORKFLOW_TOO_DEEP");
  });

  it("W3: cancelling the parent cancels the running child", async () => {
    const { workflowId } = await client.submitWorkflow({ definition: { case: "yaml", value: `
workflow:
  name: parent
  steps:
    - id: child
      workflow:
        name: sleepy
        steps:
          - { id: s, runner: shell, payload: "sleep 30" }
` } });
    const childId = await (async () => {
      for (;;) {
        const wf = (await client.getWorkflow({ workflowId })).workflow!;
        const id = wf.steps[0]!.attemptHistory[0]?.childWorkflowId;
        if (id) return id;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await client.cancelWorkflow({ workflowId });
    expect((await waitForEnd(client, childId)).state).toBe(WorkflowState.CANCELLED);
  });
});

describe("feature examples", () => {
  it("each feature example runs to its documented end", async () => {
    const expected: Record<string, WorkflowState> = {
      retry: WorkflowState.SUCCEEDED,
      "trigger-rules": WorkflowState.FAILED,
      when: WorkflowState.SUCCEEDED,
      "for-each": WorkflowState.SUCCEEDED,
      "on-failure": WorkflowState.FAILED,
    };
    for (const [name, state] of Object.entries(expected)) {
      const wf = await runYaml(client, readFileSync(`examples/${name}.yaml`, "utf8"));
      expect(WorkflowState[wf.state], name).toBe(WorkflowState[state]);
    }
  });
});
