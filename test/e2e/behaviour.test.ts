// Failure, timeout, watch, logs, listing, cancel and validation behaviour
// against a real coordinator with its in-process reference supervisor.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CoordinatorService, OutputFormat, ValidateWorkflowResponseSchema } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { fromValue, type JsonValue } from "../../src/common/json.js";
import { WorkflowSpecSchema } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import type { RunningCoordinator } from "../../src/coordinator/app.js";
import { StepState, canTransitionStep } from "../../src/engine/states.js";
import { coordinator, outputs, PROTOCOLS, runYaml, stepStates, waitForEnd, WorkflowState, type CoordinatorClient } from "../helpers/coordinator.js";

let running: RunningCoordinator;
let client: CoordinatorClient;

beforeAll(async () => {
  ({ running, client } = await coordinator());
});
afterAll(async () => {
  await running.close();
});

const submit = async (yaml: string, idempotencyKey = "") =>
  (await client.submitWorkflow({ definition: { case: "yaml", value: yaml }, idempotencyKey })).workflowId;

describe("failures", () => {
  it("a throwing js step fails the workflow, shows the error and skips its dependents", async () => {
    const wf = await runYaml(client, `workflow:
  name: throws
  steps:
    - { id: ok, runner: js, payload: "1" }
    - { id: bad, runner: js, depends_on: [ok], payload: "throw new Error('database is down')" }
    - { id: after, runner: js, depends_on: [bad], payload: "2" }
    - { id: later, runner: noop, depends_on: [after] }
    - { id: side, runner: js, payload: "3" }
`);
    expect(wf.state).toBe(WorkflowState.FAILED);
    expect(stepStates(wf)).toEqual({ ok: "SUCCEEDED", bad: "FAILED", after: "SKIPPED", later: "SKIPPED", side: "SUCCEEDED" });
    const bad = wf.steps.find((s) => s.id === "bad")!;
    expect(bad.error?.code).toBe("SCRIPT_ERROR");
    expect(bad.error?.message).toContain("database is down");
    expect(bad.attemptHistory[0]!.error?.message).toContain("database is down");
    expect(wf.error).toContain('step "bad" failed');
    expect(wf.steps.find((s) => s.id === "after")!.error?.code).toBe("DEPENDENCY_FAILED");
  });

  it("a runaway while(true) step fails by timeout while other workflows keep running", async () => {
    const runaway = await submit(`workflow:
  name: runaway
  steps:
    - { id: spin, runner: js, timeout: 1s, payload: "while (true) {}" }
`);
    // Meanwhile, other workflows complete.
    const others = await Promise.all(
      Array.from({ length: 3 }, () => runYaml(client, `workflow:\n  name: quick\n  steps:\n    - { id: a, runner: js, payload: "40 + 2" }\n`)),
    );
    for (const o of others) expect(outputs(o).a).toBe(42);
    const wf = await waitForEnd(client, runaway);
    expect(wf.state).toBe(WorkflowState.FAILED);
    // The coordinator enforces the timeout (docs/semantics.md D1); the supervisor's own limit is a backstop.
    expect(wf.steps[0]!.error?.code).toBe("DEADLINE_EXCEEDED");
  });

  it("an unknown runner waits with a visible reason, then fails the step NO_SUPERVISOR", async () => {
    const own = await coordinator({ unroutableTimeoutMs: 500 });
    try {
      const { workflowId } = await own.client.submitWorkflow({ definition: { case: "yaml", value: `workflow:\n  name: nope\n  steps:\n    - { id: a, runner: pyhton, payload: "x" }\n` } });
      const waitingEvents: string[] = [];
      for await (const msg of own.client.watchWorkflow({ workflowId })) {
        if (msg.kind.case === "snapshot" && msg.kind.value.steps[0]!.waitingReason) waitingEvents.push(msg.kind.value.steps[0]!.waitingReason);
        if (msg.kind.case === "event" && msg.kind.value.kind.case === "step" && msg.kind.value.kind.value.waitingReason) waitingEvents.push(msg.kind.value.kind.value.waitingReason);
        if (msg.kind.case === "event" && msg.kind.value.kind.case === "workflow" && msg.kind.value.kind.value.state !== WorkflowState.RUNNING) break;
      }
      expect(waitingEvents[0]).toContain('none can run runner "pyhton" (runners up: js, noop, shell)');
      const wf = await waitForEnd(own.client, workflowId);
      expect(wf.state).toBe(WorkflowState.FAILED);
      expect(wf.steps[0]!.error).toMatchObject({ code: "NO_SUPERVISOR" });
      expect(wf.steps[0]!.error!.message).toContain('none can run runner "pyhton"');
      expect(wf.steps[0]!.waitingReason).toBe("");
    } finally {
      await own.running.close();
    }
  });
});

describe("validation over the API", () => {
  it("SubmitWorkflow rejects an invalid definition with INVALID_ARGUMENT naming every problem", async () => {
    const err = await client
      .submitWorkflow({ definition: { case: "yaml", value: "workflow:\n  name: x\n  steps:\n    - { id: a, runner: noop, depends_on: [ghost] }\n    - { id: a }\n" } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    const ce = err as ConnectError;
    expect(ce.code).toBe(Code.InvalidArgument);
    expect(ce.rawMessage).toContain('step "a" depends on unknown step "ghost"');
    expect(ce.rawMessage).toContain('step "a": duplicate id');
    const [detail] = ce.findDetails(ValidateWorkflowResponseSchema);
    expect(detail!.problems.map((p) => p.field).sort()).toEqual(["workflow.steps[0].depends_on[0]", "workflow.steps[1].id", "workflow.steps[1].runner"]);
  });

  it("ValidateWorkflow returns the plan for a structured spec", async () => {
    const res = await client.validateWorkflow({
      definition: {
        case: "spec",
        value: create(WorkflowSpecSchema, { name: "s", labels: {}, steps: [
          { id: "a", runner: "noop", payload: "", dependsOn: [] },
          { id: "b", runner: "noop", payload: "", dependsOn: ["a"] },
        ] }),
      },
    });
    expect(res.valid).toBe(true);
    expect(res.plan!.levels.map((l) => l.stepIds)).toEqual([["a"], ["b"]]);
  });

  it("a structured spec runs like YAML", async () => {
    const { workflowId } = await client.submitWorkflow({
      definition: { case: "spec", value: create(WorkflowSpecSchema, { name: "spec", labels: {}, steps: [
        { id: "a", runner: "js", payload: "({ v: 1 })", dependsOn: [] },
        { id: "b", runner: "js", payload: "input.a.v + 1", dependsOn: ["a"] },
      ] }) },
    });
    const wf = await waitForEnd(client, workflowId);
    expect(outputs(wf)).toEqual({ a: { v: 1 }, b: 2 });
  });

  it("unknown ids give NOT_FOUND, missing ids INVALID_ARGUMENT", async () => {
    await expect(client.getWorkflow({ workflowId: "wf_missing" })).rejects.toMatchObject({ code: Code.NotFound });
    await expect(client.getWorkflow({ workflowId: "" })).rejects.toMatchObject({ code: Code.InvalidArgument });
    await expect(client.cancelWorkflow({ workflowId: "wf_missing" })).rejects.toMatchObject({ code: Code.NotFound });
  });
});

describe("watch", () => {
  it("sends a snapshot, then every change in order, and ends with the workflow", async () => {
    const id = await submit(`workflow:\n  name: w\n  steps:\n    - { id: a, runner: js, payload: "1" }\n    - { id: b, runner: js, depends_on: [a], payload: "input.a + 1" }\n`);
    const msgs = [];
    for await (const m of client.watchWorkflow({ workflowId: id })) msgs.push(m);
    expect(msgs[0]!.kind.case).toBe("snapshot");
    const last = msgs[msgs.length - 1]!;
    expect(last.kind.case === "event" && last.kind.value.kind.case === "workflow" && last.kind.value.kind.value.state).toBe(WorkflowState.SUCCEEDED);
    // Every change moves a step forward along a legal transition, from its
    // state in the snapshot to SUCCEEDED.
    const snapshot = msgs[0]!.kind.case === "snapshot" ? msgs[0]!.kind.value : undefined;
    const current = new Map(snapshot!.steps.map((st) => [st.id, st.state]));
    for (const m of msgs.slice(1)) {
      if (m.kind.case !== "event" || m.kind.value.kind.case !== "step") continue;
      const change = m.kind.value.kind.value;
      expect(canTransitionStep(current.get(change.stepId)!, change.state)).toBe(true);
      current.set(change.stepId, change.state);
    }
    expect([...current.values()]).toEqual([StepState.SUCCEEDED, StepState.SUCCEEDED]);
    const cursors = msgs.map((m) => m.cursor);
    expect(new Set(cursors).size).toBe(cursors.length);
  });

  it("resumes from a cursor without missing or repeating events", async () => {
    const id = await submit(`workflow:\n  name: w\n  steps:\n    - { id: a, runner: shell, payload: "sleep 0.1; echo 1" }\n    - { id: b, runner: shell, depends_on: [a], payload: "sleep 0.1; echo 2" }\n`);
    // Drop the connection after two events, then resume from the second one.
    let start = "";
    const first: string[] = [];
    for await (const m of client.watchWorkflow({ workflowId: id })) {
      if (m.kind.case === "snapshot") start = m.cursor;
      else first.push(m.cursor);
      if (first.length === 2) break;
    }
    const rest: string[] = [];
    for await (const m of client.watchWorkflow({ workflowId: id, cursor: first[1]! })) {
      expect(m.kind.case).toBe("event");
      rest.push(m.cursor);
    }
    // The whole log after the first snapshot, read in one go once it ended.
    const full: string[] = [];
    for await (const m of client.watchWorkflow({ workflowId: id, cursor: start })) full.push(m.cursor);
    expect(rest.length).toBeGreaterThan(0);
    expect([...first, ...rest]).toEqual(full);
  });

  it("batched, sends the same events in the same order, several to a message, and ends with the workflow", async () => {
    const steps = Array.from({ length: 20 }, (_, i) => `    - { id: s${i}, runner: noop${i > 0 ? `, depends_on: [s${i - 1}]` : ""} }`).join("\n");
    const id = await submit(`workflow:\n  name: chain\n  steps:\n${steps}\n`);
    const batched: string[] = [];
    const sizes: number[] = [];
    let snapshotCursor = "";
    let last: WorkflowState | undefined;
    for await (const m of client.watchWorkflow({ workflowId: id, batch: true })) {
      if (m.kind.case === "snapshot") {
        snapshotCursor = m.cursor;
        continue;
      }
      expect(m.kind.case).toBe("events");
      if (m.kind.case !== "events") continue;
      sizes.push(m.kind.value.events.length);
      for (const e of m.kind.value.events) {
        batched.push(e.cursor);
        if (e.kind.case === "workflow") last = e.kind.value.state;
      }
      // A message's cursor is its last event's, so a resume goes on after it.
      expect(m.cursor).toBe(batched[batched.length - 1]);
    }
    expect(last).toBe(WorkflowState.SUCCEEDED);
    expect(sizes.some((n) => n > 1)).toBe(true);
    const single: string[] = [];
    for await (const m of client.watchWorkflow({ workflowId: id, cursor: snapshotCursor })) single.push(m.cursor);
    expect(batched).toEqual(single);
  });

  it("latest_only, each batch is its part of the log less the progress a later event of the same attempt supersedes, on every protocol", async () => {
    const steps = Array.from({ length: 30 }, (_, i) => `    - { id: s${i}, runner: noop${i > 0 ? `, depends_on: [s${i - 1}]` : ""} }`).join("\n");
    const id = await submit(`workflow:\n  name: chain\n  steps:\n${steps}\n    - { id: late, runner: js, depends_on: [s29], retry: { max_attempts: 2, initial_backoff: 1ms }, payload: "throw new Error('no')" }\n`);
    // Events by cursor, in order, from one replay of the whole log.
    const full: Array<{ cursor: string; key: string; state: number; superseded: boolean }> = [];
    for await (const m of client.watchWorkflow({ workflowId: id, cursor: "0" })) {
      if (m.kind.case !== "event") continue;
      const e = m.kind.value;
      if (e.kind.case === "step") {
        const c = e.kind.value;
        const progress = c.state === StepState.READY || c.state === StepState.DISPATCHED || c.state === StepState.RUNNING;
        full.push({ cursor: e.cursor, key: `${c.stepId}/${c.instance ?? ""}/${c.attempt}`, state: c.state, superseded: progress && !c.error && !c.waitingReason && !c.nextRetryAt });
      } else if (e.kind.case === "workflow") full.push({ cursor: e.cursor, key: "", state: e.kind.value.state, superseded: false });
    }
    expect(full.at(-1)!.state).toBe(WorkflowState.FAILED);
    for (const [protocol, transport] of Object.entries(PROTOCOLS)) {
      const c = createClient(CoordinatorService, transport(running.url));
      let from = 0;
      let sent = 0;
      for await (const m of c.watchWorkflow({ workflowId: id, batch: true, latestOnly: true, cursor: "0" })) {
        if (m.kind.case !== "events") continue;
        const to = full.findIndex((e) => e.cursor === m.cursor);
        expect(to, protocol).toBeGreaterThanOrEqual(from);
        const part = full.slice(from, to + 1);
        // Left out: exactly the progress events with a later event of the same step, instance and attempt in this message.
        const want = part.filter((e, i) => !(e.superseded && part.slice(i + 1).some((later) => later.key === e.key))).map((e) => e.cursor);
        expect(m.kind.value.events.map((e) => e.cursor), protocol).toEqual(want);
        sent += want.length;
        from = to + 1;
      }
      expect(from, protocol).toBe(full.length);
      // Replayed in one message, a noop step's four events are one.
      expect(sent, protocol).toBeLessThan(full.length / 2);
    }
  });

  it("batched, carries step outputs as Value, as JSON text, or not at all, the same on every protocol", async () => {
    const id = await submit(`workflow:\n  name: outs\n  steps:\n    - { id: a, runner: js, payload: "({ n: 1, s: 'é😀', deep: [[{ x: null }]] })" }\n    - { id: b, runner: noop, depends_on: [a] }\n    - { id: c, runner: noop, depends_on: [b] }\n`);
    await waitForEnd(client, id);
    const final = outputs((await client.getWorkflow({ workflowId: id })).workflow!);
    for (const [protocol, transport] of Object.entries(PROTOCOLS)) {
      const c = createClient(CoordinatorService, transport(running.url));
      for (const format of [OutputFormat.VALUE_UNSPECIFIED, OutputFormat.JSON, OutputFormat.NONE]) {
        const seen: Record<string, JsonValue> = {};
        const states: string[] = [];
        for await (const m of c.watchWorkflow({ workflowId: id, batch: true, outputs: format, cursor: "0" })) {
          expect(m.kind.case, protocol).toBe("events");
          if (m.kind.case !== "events") continue;
          for (const e of m.kind.value.events) {
            if (e.kind.case !== "step") continue;
            const change = e.kind.value;
            states.push(`${change.stepId}:${change.state}`);
            if (format === OutputFormat.JSON) expect(change.output, protocol).toBeUndefined();
            if (format !== OutputFormat.JSON) expect(change.outputJson, protocol).toBe("");
            if (change.output !== undefined) seen[change.stepId] = fromValue(change.output);
            if (change.outputJson) seen[change.stepId] = JSON.parse(change.outputJson) as JsonValue;
          }
        }
        expect(states.filter((x) => x.endsWith(`:${StepState.SUCCEEDED}`)), `${protocol} ${format}`).toEqual(["a", "b", "c"].map((s) => `${s}:${StepState.SUCCEEDED}`));
        expect(seen, `${protocol} ${format}`).toEqual(format === OutputFormat.NONE ? {} : final);
      }
    }
  });

  it("rejects a malformed cursor", async () => {
    const id = await submit(`workflow:\n  name: w\n  steps:\n    - { id: a, runner: noop }\n`);
    const it = client.watchWorkflow({ workflowId: id, cursor: "garbage" })[Symbol.asyncIterator]();
    await expect(it.next()).rejects.toMatchObject({ code: Code.InvalidArgument });
  });
});

describe("logs", () => {
  it("shell and js lines arrive in order, filtered by step", async () => {
    const id = await submit(`workflow:
  name: logs
  steps:
    - { id: sh, runner: shell, payload: "for i in 1 2 3 4 5; do echo line $i; done; echo oops >&2; echo '{}'" }
    - { id: js, runner: js, depends_on: [sh], payload: "console.log('hello'); console.error('warn'); 1" }
`);
    await waitForEnd(client, id);
    const lines = [];
    for await (const r of client.getWorkflowLogs({ workflowId: id })) lines.push(...r.lines);
    const sh = lines.filter((l) => l.stepId === "sh").map((l) => l.line);
    expect(sh.filter((l) => l.startsWith("line"))).toEqual(["line 1", "line 2", "line 3", "line 4", "line 5"]);
    expect(sh).toContain("oops");
    const js = [];
    for await (const r of client.getWorkflowLogs({ workflowId: id, stepId: "js" })) js.push(...r.lines.map((l) => l.line));
    expect(js).toEqual(["hello", "warn"]);
  });

  it("follow streams new lines while the step runs and ends with the workflow", async () => {
    const id = await submit(`workflow:\n  name: follow\n  steps:\n    - { id: s, runner: shell, payload: "for i in 1 2 3; do echo tick $i; sleep 0.2; done" }\n`);
    const seen: string[] = [];
    let firstAt = 0;
    for await (const r of client.getWorkflowLogs({ workflowId: id, follow: true })) {
      for (const l of r.lines) {
        if (seen.length === 0) {
          firstAt = Date.now();
          // The first line arrives while the step is still running.
          const { workflow } = await client.getWorkflow({ workflowId: id });
          expect(workflow!.state).toBe(WorkflowState.RUNNING);
        }
        seen.push(l.line);
      }
    }
    expect(firstAt).toBeGreaterThan(0);
    expect(seen).toEqual(["tick 1", "tick 2", "tick 3"]);
  });
});

describe("list, cancel, idempotency", () => {
  it("lists newest first with state and name filters and pages", async () => {
    const name = `listed-${Date.now()}`;
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await submit(`workflow:\n  name: ${name}\n  steps:\n    - { id: a, runner: noop }\n`));
    for (const id of ids) await waitForEnd(client, id);
    const page = await client.listWorkflows({ name, pageSize: 2 });
    expect(page.workflows.map((w) => w.id)).toEqual([ids[2], ids[1]]);
    const next = await client.listWorkflows({ name, pageSize: 2, pageToken: page.nextPageToken });
    expect(next.workflows.map((w) => w.id)).toEqual([ids[0]]);
    const succeeded = await client.listWorkflows({ name, states: [WorkflowState.SUCCEEDED] });
    expect(succeeded.workflows).toHaveLength(3);
    expect(succeeded.workflows[0]).toMatchObject({ stepsTotal: 1, stepsSucceeded: 1 });
    expect((await client.listWorkflows({ name, states: [WorkflowState.FAILED] })).workflows).toHaveLength(0);
  });

  it("cancel stops a running workflow, its job and pending steps", async () => {
    const id = await submit(`workflow:\n  name: cancel-me\n  steps:\n    - { id: slow, runner: shell, payload: "sleep 30" }\n    - { id: next, runner: noop, depends_on: [slow] }\n`);
    for await (const m of client.watchWorkflow({ workflowId: id })) {
      if (m.kind.case === "event" && m.kind.value.kind.case === "step" && m.kind.value.kind.value.state === StepState.RUNNING) break;
    }
    const res = await client.cancelWorkflow({ workflowId: id, reason: "test" });
    expect(res.state).toBe(WorkflowState.CANCELLED);
    const wf = (await client.getWorkflow({ workflowId: id })).workflow!;
    expect(stepStates(wf)).toEqual({ slow: "CANCELLED", next: "CANCELLED" });
    expect(wf.error).toBe("test");
    // Cancelling again is harmless.
    expect((await client.cancelWorkflow({ workflowId: id })).state).toBe(WorkflowState.CANCELLED);
  });

  it("the same idempotency key returns the same workflow", async () => {
    const yaml = `workflow:\n  name: once\n  steps:\n    - { id: a, runner: noop }\n`;
    const key = `k-${Date.now()}`;
    const a = await client.submitWorkflow({ definition: { case: "yaml", value: yaml }, idempotencyKey: key });
    const b = await client.submitWorkflow({ definition: { case: "yaml", value: yaml }, idempotencyKey: key });
    expect(b.workflowId).toBe(a.workflowId);
    expect([a.existing, b.existing]).toEqual([false, true]);
  });

  it("inputs reach every step", async () => {
    const wf = await runYaml(client, `workflow:\n  name: inputs\n  steps:\n    - { id: a, runner: js, payload: "inputs.n * 2" }\n    - { id: b, runner: shell, payload: "echo $HORUS_INPUTS" }\n`, { n: 21 });
    expect(outputs(wf)).toEqual({ a: 42, b: { n: 21 } });
  });
});
