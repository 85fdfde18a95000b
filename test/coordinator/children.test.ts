// Sub-workflow steps from the parent's side (docs/semantics.md W2, W4): the
// pure decisions in tables, then the I/O shell against the real memory store.
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { childFinished, createChildren, planChild, type ChildPlan } from "../../src/coordinator/executor/children.js";
import type { Command, EngineInput, EngineState } from "../../src/engine/engine.js";
import type { WorkflowRecord } from "../../src/engine/model.js";
import { StepState as S, WorkflowState as W } from "../../src/engine/states.js";
import { createMemoryStore } from "../../src/store/memory/memory-store.js";
import type { TemplateRecord } from "../../src/store/store.js";
import type { WorkflowDefinition } from "../../src/workflow/definition.js";
import { parseWorkflowYaml } from "../../src/workflow/index.js";
import { fromYaml, ofType, step, succeed } from "../engine/helpers.js";
import { until } from "../helpers/wait.js";

/** A definition from `{id, depends_on}` pairs of noop steps (parsed, not validated). */
function def(steps: Array<{ id: string; dependsOn?: string[] }>): WorkflowDefinition {
  const lines = steps.map((s) => `    - {id: ${s.id}, runner: noop${s.dependsOn ? `, depends_on: [${s.dependsOn.join(", ")}]` : ""}}\n`).join("");
  const parsed = parseWorkflowYaml(`workflow:\n  name: child\n  steps:\n${lines}`);
  expect(parsed.problems).toEqual([]);
  return parsed.definition!;
}

/** A parent whose step `c` (after `a`, which output 7) is a sub-workflow step: the engine has just asked for its child. */
function parentAsking(sub: string, depth?: number): { e: EngineState; c: Extract<Command, { type: "startChild" }> } {
  const e = fromYaml(`    - {id: a, runner: noop}\n    - {id: c, depends_on: [a], workflow: ${sub}}\n`);
  if (depth !== undefined) e.record.depth = depth;
  step(e, { type: "start" });
  const fx = succeed(e, "a", 7);
  return { e, c: ofType(fx.commands, "startChild")[0]! };
}

function childRecord(state: number, steps: Array<{ id: string; dependsOn?: string[]; output?: number; error?: string }>, error?: string): WorkflowRecord {
  return {
    id: "wf_child",
    name: "child",
    state,
    definition: def(steps),
    levels: [],
    steps: steps.map((s) => ({ id: s.id, state: S.SUCCEEDED, attempts: [], ...(s.output !== undefined ? { output: s.output } : {}), ...(s.error ? { error: { code: s.error, message: "" } } : {}) })),
    inputs: {},
    labels: {},
    createdAt: 0,
    ...(error ? { error } : {}),
  } as WorkflowRecord;
}

describe("children: what a child's end means to its parent (W2, W4)", () => {
  const table: Array<{ name: string; child: WorkflowRecord | undefined; expect: EngineInput }> = [
    { name: "vanished: CHILD_LOST", child: undefined, expect: { type: "childFinished", attemptId: "p.c.1", ok: false, error: { code: "CHILD_LOST", message: "sub-workflow wf_child no longer exists" } } },
    {
      name: "succeeded: the outputs of its final steps by id",
      child: childRecord(W.SUCCEEDED, [{ id: "x", output: 1 }, { id: "y", dependsOn: ["x"], output: 2 }, { id: "z" }]),
      expect: { type: "childFinished", attemptId: "p.c.1", ok: true, output: { y: 2, z: null } },
    },
    { name: "cancelled: CHILD_CANCELLED", child: childRecord(W.CANCELLED, [{ id: "x" }], "stop"), expect: { type: "childFinished", attemptId: "p.c.1", ok: false, error: { code: "CHILD_CANCELLED", message: "sub-workflow wf_child: stop" } } },
    { name: "failed: CHILD_FAILED", child: childRecord(W.FAILED, [{ id: "x", error: "SCRIPT_ERROR" }]), expect: { type: "childFinished", attemptId: "p.c.1", ok: false, error: { code: "CHILD_FAILED", message: "sub-workflow wf_child: failed" } } },
    {
      name: "failed too deep below: WORKFLOW_TOO_DEEP goes up (W4)",
      child: childRecord(W.FAILED, [{ id: "x", error: "WORKFLOW_TOO_DEEP" }], "deep"),
      expect: { type: "childFinished", attemptId: "p.c.1", ok: false, error: { code: "WORKFLOW_TOO_DEEP", message: "sub-workflow wf_child: deep" } },
    },
  ];
  for (const t of table) {
    it(t.name, () => {
      expect(childFinished("p.c.1", "wf_child", t.child)).toEqual(t.expect);
    });
  }
});

describe("children: the child a startChild command creates (W2, W4)", () => {
  const template = (definition: WorkflowDefinition): TemplateRecord => ({ name: "t", version: 3, definition, createdAt: 0 });
  const table: Array<{ name: string; sub: string; depth?: number; template?: TemplateRecord; expect: Partial<WorkflowRecord> | { code: string; message: string } }> = [
    { name: "an inline sub-workflow: level 2, inputs from the dependencies", sub: "{steps: [{id: x, runner: noop}]}", expect: { depth: 1, inputs: { a: 7 } } },
    { name: "a registered template: its version is recorded", sub: "{template: t}", template: template(def([{ id: "x" }])), expect: { depth: 1, template: { name: "t", version: 3 } } },
    { name: "a template not registered: TEMPLATE_NOT_FOUND", sub: "{template: t}", expect: { code: "TEMPLATE_NOT_FOUND", message: 'template "t" is not registered' } },
    { name: "a version not registered: TEMPLATE_NOT_FOUND naming it", sub: "{template: t, version: 4}", expect: { code: "TEMPLATE_NOT_FOUND", message: 'template "t" version 4 is not registered' } },
    { name: "a child at level 8: created", sub: "{template: t}", depth: 6, template: template(def([{ id: "x" }])), expect: { depth: 7 } },
    {
      name: "a child at level 9: WORKFLOW_TOO_DEEP",
      sub: "{template: t}",
      depth: 7,
      template: template(def([{ id: "x" }])),
      expect: { code: "WORKFLOW_TOO_DEEP", message: 'sub-workflows nest more than 8 deep: template "t" would run at level 9' },
    },
    { name: "a template that does not plan: INVALID_WORKFLOW", sub: "{template: t}", template: template(def([{ id: "x", dependsOn: ["nope"] }])), expect: { code: "INVALID_WORKFLOW", message: expect.stringContaining("nope") as unknown as string } },
  ];
  for (const t of table) {
    it(t.name, () => {
      const { e, c } = parentAsking(t.sub, t.depth);
      const planned: ChildPlan = planChild(e, c, t.template, 1_000);
      if ("code" in t.expect) {
        expect(planned).toEqual({ ok: false, error: t.expect });
        return;
      }
      expect(planned.ok).toBe(true);
      if (!planned.ok) return;
      // A resumed parent asks again for the same attempt and must find the same child.
      expect(planned.record).toMatchObject({ ...t.expect, state: W.PENDING, createdAt: 1_000, idempotencyKey: `child:${c.attemptId}`, parent: { workflowId: "wf_1", stepId: "c", attemptId: c.attemptId } });
      expect(planned.plan.definition.steps.map((s) => s.id)).toEqual(["x"]);
    });
  }
});

describe("children: the shell, on the memory store", () => {
  const logger = pino({ level: "silent" });

  function setup() {
    const store = createMemoryStore();
    const { e, c } = parentAsking("{steps: [{id: x, runner: noop}]}");
    const applied: EngineInput[] = [];
    const cancelled: string[] = [];
    const parent = { engine: e, dropped: false, apply: (input: EngineInput) => void applied.push(input) };
    const children = createChildren(parent, { store, logger, now: () => 1_000, start: (record) => store.createWorkflow(record), cancel: async (id) => (cancelled.push(id), true) });
    return { store, e, c, applied, cancelled, parent, children };
  }

  /** Ends the stored child as SUCCEEDED with x's output, as its executor would. */
  async function finishChild(store: ReturnType<typeof createMemoryStore>, id: string, output: number): Promise<void> {
    const stored = (await store.getWorkflow(id))!.record;
    await store.commit(id, {
      header: { state: W.SUCCEEDED, finishedAt: 2_000 },
      steps: [{ index: 0, record: { ...stored.steps[0]!, state: S.SUCCEEDED, output } }],
      events: [{ kind: "workflow", time: 2_000, state: W.SUCCEEDED }],
    });
  }

  it("starts the child once per attempt, reports childStarted, then its end as childFinished", async () => {
    const { store, c, applied, children } = setup();
    children.startChild(c);
    const started = await until(() => applied.find((x) => x.type === "childStarted"));
    const childId = (started as Extract<EngineInput, { type: "childStarted" }>).workflowId;
    expect((await store.getWorkflow(childId))!.record.inputs).toEqual({ a: 7 });
    // The same attempt again (a resumed parent): the same child, by idempotency key.
    children.startChild(c);
    await until(() => (applied.filter((x) => x.type === "childStarted").length === 2 ? true : undefined));
    expect(applied.filter((x) => x.type === "childStarted").map((x) => (x as { workflowId: string }).workflowId)).toEqual([childId, childId]);
    await finishChild(store, childId, 5);
    const done = await until(() => applied.find((x) => x.type === "childFinished"));
    expect(done).toEqual({ type: "childFinished", attemptId: c.attemptId, ok: true, output: { x: 5 } });
    expect(applied.filter((x) => x.type === "childFinished")).toHaveLength(1);
  });

  it("a child that cannot be created fails the attempt without a child", async () => {
    const store = createMemoryStore();
    const { e, c } = parentAsking("{template: missing}");
    const applied: EngineInput[] = [];
    const children = createChildren({ engine: e, dropped: false, apply: (input) => void applied.push(input) }, { store, logger, now: () => 1, start: (record) => store.createWorkflow(record), cancel: async () => true });
    children.startChild(c);
    const failed = await until(() => applied[0]);
    expect(failed).toMatchObject({ type: "childFinished", attemptId: c.attemptId, ok: false, error: { code: "TEMPLATE_NOT_FOUND" } });
  });

  it("cancelChild stops following the child and cancels it; release stops following without cancelling", async () => {
    const { store, e, c, applied, cancelled, children } = setup();
    const cancelledChild = await store.createWorkflow(childOf(e, c));
    const releasedChild = await store.createWorkflow(childOf(e, { ...c, attemptId: "wf_1.c.2" }));
    const lastChild = await store.createWorkflow(childOf(e, { ...c, attemptId: "wf_1.c.3" }));
    children.watchChild(c.attemptId, cancelledChild.id);
    children.cancelChild({ type: "cancelChild", attemptId: c.attemptId, workflowId: cancelledChild.id });
    expect(cancelled).toEqual([cancelledChild.id]);
    children.watchChild("wf_1.c.2", releasedChild.id);
    children.release();
    children.watchChild("wf_1.c.3", lastChild.id);
    await finishChild(store, cancelledChild.id, 1);
    await finishChild(store, releasedChild.id, 2);
    await finishChild(store, lastChild.id, 3);
    // The child still followed reports; the other two, ended before it, do not.
    await until(() => applied.find((x) => x.type === "childFinished"));
    expect(applied).toEqual([{ type: "childFinished", attemptId: "wf_1.c.3", ok: true, output: { x: 3 } }]);
    expect(cancelled).toEqual([cancelledChild.id]);
  });

  it("nothing is applied to a parent copy that was let go", async () => {
    const { store, e, c, applied, parent, children } = setup();
    const created = await store.createWorkflow(childOf(e, c));
    children.watchChild(c.attemptId, created.id);
    // A second parent copy still held follows the same child: once it hears the end, so would the first.
    const kept: EngineInput[] = [];
    createChildren({ engine: e, dropped: false, apply: (input) => void kept.push(input) }, { store, logger, now: () => 1, start: (record) => store.createWorkflow(record), cancel: async () => true }).watchChild(c.attemptId, created.id);
    parent.dropped = true;
    await finishChild(store, created.id, 1);
    await until(() => kept[0]);
    expect(applied).toEqual([]);
  });
});

/** The record of the child a startChild command asks for. */
function childOf(e: EngineState, c: Extract<Command, { type: "startChild" }>): WorkflowRecord {
  const planned = planChild(e, c, undefined, 1_000);
  if (!planned.ok) throw new Error(planned.error.message);
  return planned.record;
}
