// The store contract: every Store implementation must pass this suite.
// Redis will run it too, so it only uses the Store interface.
import { describe, expect, it } from "vitest";
import type { WorkflowRecord } from "../../src/engine/model.js";
import { StepState as S, WorkflowState as W } from "../../src/engine/states.js";
import { InvalidCursorError, type Store } from "../../src/store/store.js";
import type { ScheduleRecord } from "../../src/store/schedules.js";

let seq = 0;
export function sampleRecord(overrides: Partial<WorkflowRecord> = {}): WorkflowRecord {
  seq++;
  return {
    id: `wf_test${String(seq).padStart(6, "0")}`,
    name: "sample",
    state: W.PENDING,
    definition: { name: "sample", labels: {}, steps: [{ id: "a", runner: "noop", payload: "", dependsOn: [] }, { id: "b", runner: "noop", payload: "", dependsOn: ["a"] }] },
    levels: [0, 1],
    steps: [
      { id: "a", state: S.PENDING, attempts: [] },
      { id: "b", state: S.PENDING, attempts: [] },
    ],
    inputs: { n: 1 },
    labels: {},
    createdAt: Date.now(),
    ...overrides,
  };
}

export function storeContract(name: string, make: () => Promise<Store>): void {
  describe(`store contract: ${name}`, () => {
    it("answers ping while reachable (health checks use it)", async () => {
      const store = await make();
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it("creates, reads back a copy, and deduplicates by idempotency key", async () => {
      const store = await make();
      const rec = sampleRecord({ idempotencyKey: `key-${seq}` });
      expect(await store.createWorkflow(rec)).toEqual({ id: rec.id, existing: false });
      const again = sampleRecord({ idempotencyKey: rec.idempotencyKey! });
      expect(await store.createWorkflow(again)).toEqual({ id: rec.id, existing: true });
      expect(await store.getWorkflow(again.id)).toBeUndefined();
      const got = await store.getWorkflow(rec.id);
      expect(got!.record).toEqual(rec);
      got!.record.steps[0]!.state = S.FAILED; // a copy: the store is not affected
      expect((await store.getWorkflow(rec.id))!.record.steps[0]!.state).toBe(S.PENDING);
      await store.close();
    });

    it("keeps a sub-workflow's parent and template, and lists labels and the parent with the summary", async () => {
      const store = await make();
      const parent = sampleRecord({ labels: { team: "etl", env: "prod" } });
      const child = sampleRecord({ parent: { workflowId: parent.id, stepId: "a", attemptId: "at_1" }, template: { name: "t", version: 2 } });
      await store.createWorkflow(parent);
      await store.createWorkflows([child]);
      expect((await store.getWorkflow(child.id))!.record).toEqual(child);
      const [p, c] = await store.summaries([parent.id, child.id]);
      expect(p).toMatchObject({ id: parent.id, labels: { team: "etl", env: "prod" } });
      expect(p!.parentWorkflowId).toBeUndefined();
      expect(c).toMatchObject({ id: child.id, parentWorkflowId: parent.id });
      expect(c!.labels).toBeUndefined();
      const listed = await store.listWorkflows({ states: [], name: "sample", pageSize: 1000, pageToken: "" });
      expect(listed.items.find((w) => w.id === child.id)).toMatchObject({ parentWorkflowId: parent.id });
      expect(listed.items.find((w) => w.id === parent.id)).toMatchObject({ labels: { team: "etl", env: "prod" } });
      await store.close();
    });

    it("creates a batch in one call: results in order, each stored, listed and indexed like a single create", async () => {
      const store = await make();
      const name = `batch-${seq}`;
      const recs = [sampleRecord({ name }), sampleRecord({ name, inputs: { n: 2 } }), sampleRecord({ name: `${name}-other` })];
      expect(await store.createWorkflows(recs)).toEqual(recs.map((r) => ({ id: r.id, existing: false })));
      for (const r of recs) expect((await store.getWorkflow(r.id))!.record).toEqual(r);
      const listed = await store.listWorkflows({ states: [W.PENDING], name, pageSize: 10, pageToken: "" });
      expect(listed.items.map((w) => w.id).sort()).toEqual([recs[0]!.id, recs[1]!.id].sort());
      expect((await store.summaries(recs.map((r) => r.id))).map((w) => [w.id, w.state, w.stepsTotal])).toEqual(recs.map((r) => [r.id, W.PENDING, 2]));
      // A created workflow takes commits like one created alone.
      await store.commit(recs[2]!.id, { header: { state: W.RUNNING, startedAt: 1 }, steps: [], events: [{ kind: "workflow", time: 1, state: W.RUNNING }] });
      expect((await store.getWorkflow(recs[2]!.id))!.record.state).toBe(W.RUNNING);
      expect(await store.createWorkflows([])).toEqual([]);
      await store.close();
    });

    it("deduplicates a batch by idempotency key, against earlier workflows and within the batch", async () => {
      const store = await make();
      const before = sampleRecord({ idempotencyKey: `old-${seq}` });
      await store.createWorkflow(before);
      const key = `new-${seq}`;
      const batch = [
        sampleRecord({ idempotencyKey: key }),
        sampleRecord({ idempotencyKey: before.idempotencyKey! }),
        sampleRecord(),
        sampleRecord({ idempotencyKey: key }),
      ];
      expect(await store.createWorkflows(batch)).toEqual([
        { id: batch[0]!.id, existing: false },
        { id: before.id, existing: true },
        { id: batch[2]!.id, existing: false },
        { id: batch[0]!.id, existing: true },
      ]);
      // The repeats stored nothing; the key now names the batch's first workflow.
      expect(await store.getWorkflow(batch[1]!.id)).toBeUndefined();
      expect(await store.getWorkflow(batch[3]!.id)).toBeUndefined();
      expect(await store.summaries(batch.map((r) => r.id))).toHaveLength(2);
      expect(await store.createWorkflow(sampleRecord({ idempotencyKey: key }))).toEqual({ id: batch[0]!.id, existing: true });
      await store.close();
    });

    it("applies commits and orders events by cursor", async () => {
      const store = await make();
      const rec = sampleRecord();
      await store.createWorkflow(rec);
      const c1 = await store.commit(rec.id, {
        header: { state: W.RUNNING, startedAt: 5 },
        steps: [{ index: 0, record: { id: "a", state: S.READY, attempts: [{ number: 1, attemptId: "x", state: S.READY }] } }],
        events: [
          { kind: "workflow", time: 5, state: W.RUNNING },
          { kind: "step", time: 5, stepId: "a", state: S.READY, attempt: 1 },
        ],
      });
      const c2 = await store.commit(rec.id, { steps: [], events: [{ kind: "step", time: 6, stepId: "a", state: S.DISPATCHED, attempt: 1, supervisor: "s" }] });
      expect(c1).toHaveLength(2);
      expect(c2).toHaveLength(1);
      const got = await store.getWorkflow(rec.id);
      expect(got!.record.state).toBe(W.RUNNING);
      expect(got!.record.startedAt).toBe(5);
      expect(got!.record.steps[0]!.state).toBe(S.READY);
      expect(got!.cursor).toBe(c2[0]);
      const all = await store.readEvents(rec.id, "", 100);
      expect(all.map((e) => e.cursor)).toEqual([...c1, ...c2]);
      expect(all[2]).toMatchObject({ kind: "step", state: S.DISPATCHED, supervisor: "s" });
      expect((await store.readEvents(rec.id, c1[0]!, 100)).map((e) => e.cursor)).toEqual([c1[1], c2[0]]);
      expect(await store.readEvents(rec.id, c2[0]!, 100)).toEqual([]);
      expect((await store.readEvents(rec.id, "", 1)).length).toBe(1);
      await expect(store.readEvents(rec.id, "not-a-cursor", 10)).rejects.toBeInstanceOf(InvalidCursorError);
      await store.close();
    });

    it("counts steps by state across commits: a step changed twice in one commit, steps added past the count, a commit of 4,500 steps (more values than one Lua unpack takes)", async () => {
      const store = await make();
      const rec = sampleRecord();
      await store.createWorkflow(rec);
      const step = (id: string, state: (typeof S)[keyof typeof S]) => ({ id, state, attempts: [] });
      const counts = async () => {
        const [s] = await store.summaries([rec.id]);
        return { total: s!.stepsTotal, succeeded: s!.stepsSucceeded, failed: s!.stepsFailed, running: s!.stepsRunning };
      };
      await store.commit(rec.id, { header: { state: W.RUNNING }, steps: [{ index: 0, record: step("a", S.RUNNING) }, { index: 1, record: step("b", S.SUCCEEDED) }], events: [] });
      expect(await counts()).toEqual({ total: 2, succeeded: 1, failed: 0, running: 1 });
      await store.commit(rec.id, {
        steps: [{ index: 0, record: step("a", S.FAILED) }, { index: 0, record: step("a", S.SUCCEEDED) }, { index: 2, record: step("c", S.FAILED) }],
        events: [],
      });
      const after = await store.getWorkflow(rec.id);
      expect(after!.record.steps.map((s) => s.state)).toEqual([S.SUCCEEDED, S.SUCCEEDED, S.FAILED]);
      expect(await counts()).toEqual({ total: 3, succeeded: 2, failed: 1, running: 0 });
      const many = Array.from({ length: 4_500 }, (_, i) => ({ index: 3 + i, record: step(`i${i}`, i % 3 === 0 ? S.RUNNING : S.SUCCEEDED) }));
      await store.commit(rec.id, { steps: many, events: [] });
      expect(await counts()).toEqual({ total: 4_503, succeeded: 2 + 3_000, failed: 1, running: 1_500 });
      await store.close();
    });

    it("notifies subscribers of events and logs, and stops after unsubscribe", async () => {
      const store = await make();
      const rec = sampleRecord();
      await store.createWorkflow(rec);
      let events = 0;
      let logs = 0;
      const offE = store.subscribe("events", rec.id, () => events++);
      const offL = store.subscribe("logs", rec.id, () => logs++);
      await store.commit(rec.id, { steps: [], events: [{ kind: "workflow", time: 1, state: W.RUNNING }] });
      await store.appendLogs(rec.id, [{ stepId: "a", attempt: 1, time: 1, stream: "stdout", line: "hi" }]);
      await waitFor(() => events > 0 && logs > 0);
      offE();
      offL();
      const before = [events, logs];
      await store.commit(rec.id, { steps: [], events: [{ kind: "workflow", time: 2, state: W.SUCCEEDED }] });
      await new Promise((r) => setTimeout(r, 50));
      expect([events, logs]).toEqual(before);
      await store.close();
    });

    it("keeps log lines in order, filters by step, resumes by cursor", async () => {
      const store = await make();
      const rec = sampleRecord();
      await store.createWorkflow(rec);
      const line = (stepId: string, n: number) => ({ stepId, attempt: 1, time: n, stream: "stdout" as const, line: `${stepId}-${n}` });
      await store.appendLogs(rec.id, [line("a", 1), line("b", 1), line("a", 2)]);
      await store.appendLogs(rec.id, [line("a", 3)]);
      const all = await store.readLogs(rec.id, { after: "", stepId: "", limit: 100 });
      expect(all.map((l) => l.line)).toEqual(["a-1", "b-1", "a-2", "a-3"]);
      const onlyA = await store.readLogs(rec.id, { after: "", stepId: "a", limit: 100 });
      expect(onlyA.map((l) => l.line)).toEqual(["a-1", "a-2", "a-3"]);
      const rest = await store.readLogs(rec.id, { after: all[1]!.cursor, stepId: "", limit: 100 });
      expect(rest.map((l) => l.line)).toEqual(["a-2", "a-3"]);
      await store.close();
    });

    it("versions templates per name and lists the latest of each", async () => {
      const store = await make();
      const def = (n: number) => ({ name: `t${n}`, labels: {}, steps: [{ id: "a", runner: "noop", payload: String(n), dependsOn: [] }] });
      expect((await store.putTemplate("deploy", def(1), 10)).version).toBe(1);
      expect((await store.putTemplate("deploy", def(2), 20)).version).toBe(2);
      expect((await store.putTemplate("audit", def(3), 30)).version).toBe(1);
      expect(await store.getTemplate("deploy")).toEqual({ name: "deploy", version: 2, definition: def(2), createdAt: 20 });
      expect((await store.getTemplate("deploy", 1))!.definition).toEqual(def(1));
      expect(await store.getTemplate("deploy", 3)).toBeUndefined();
      expect(await store.getTemplate("nope")).toBeUndefined();
      expect((await store.listTemplates()).map((t) => [t.name, t.version])).toEqual([["audit", 1], ["deploy", 2]]);
      await store.close();
    });

    it("keeps a template's version when the same content is registered again", async () => {
      const store = await make();
      const def = (n: number) => ({ name: `t${n}`, labels: {}, steps: [{ id: "a", runner: "noop", payload: String(n), dependsOn: [] }] });
      expect(await store.putTemplate("same", def(1), 10)).toMatchObject({ version: 1, existing: false });
      // Identical content: the latest version back, its time unchanged.
      expect(await store.putTemplate("same", def(1), 20)).toEqual({ name: "same", version: 1, definition: def(1), createdAt: 10, existing: true });
      // Two identical registrations at once still make one version.
      const both = await Promise.all([store.putTemplate("same", def(2), 30), store.putTemplate("same", def(2), 31)]);
      expect(both.map((t) => t.version)).toEqual([2, 2]);
      expect(both.map((t) => t.existing).sort()).toEqual([false, true]);
      // Only the latest counts: going back to earlier content is a new version.
      expect(await store.putTemplate("same", def(1), 40)).toMatchObject({ version: 3, existing: false });
      expect((await store.getTemplate("same"))!.version).toBe(3);
      await store.close();
    });

    it("lists newest first, filters by state and name, and pages", async () => {
      const store = await make();
      const name = `list-${seq}`;
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const rec = sampleRecord({ name, createdAt: 1000 + i });
        ids.push(rec.id);
        await store.createWorkflow(rec);
      }
      await store.commit(ids[1]!, { header: { state: W.RUNNING }, steps: [], events: [] });
      const page1 = await store.listWorkflows({ states: [], name, pageSize: 2, pageToken: "" });
      expect(page1.items.map((w) => w.id)).toEqual([ids[4], ids[3]]);
      const page2 = await store.listWorkflows({ states: [], name, pageSize: 2, pageToken: page1.nextPageToken });
      expect(page2.items.map((w) => w.id)).toEqual([ids[2], ids[1]]);
      const page3 = await store.listWorkflows({ states: [], name, pageSize: 2, pageToken: page2.nextPageToken });
      expect(page3.items.map((w) => w.id)).toEqual([ids[0]]);
      expect(page3.nextPageToken).toBe("");
      const running = await store.listWorkflows({ states: [W.RUNNING], name, pageSize: 10, pageToken: "" });
      expect(running.items.map((w) => w.id)).toEqual([ids[1]]);
      expect(running.items[0]).toMatchObject({ name, stepsTotal: 2, stepsSucceeded: 0 });
      await store.close();
    });

    it("keeps supervisor registrations until their lease runs out; renewing extends it", async () => {
      const store = await make();
      const t = 1_000_000;
      const name = `sup-${seq++}`;
      const reg = { name, url: "http://127.0.0.1:1", runners: { noop: 4 }, labels: { zone: "a" }, expiresAt: t + 1000 };
      await store.supervisors.register(reg);
      await store.supervisors.register({ ...reg, name: `${name}-other`, expiresAt: t + 10 });
      expect((await store.supervisors.list(t)).filter((r) => r.name.startsWith(name))).toEqual([reg, { ...reg, name: `${name}-other`, expiresAt: t + 10 }]);
      expect((await store.supervisors.list(t + 500)).filter((r) => r.name.startsWith(name))).toEqual([reg]);
      await store.supervisors.register({ ...reg, expiresAt: t + 5000 });
      expect((await store.supervisors.list(t + 2000)).filter((r) => r.name.startsWith(name)).map((r) => r.expiresAt)).toEqual([t + 5000]);
      await store.supervisors.remove(name);
      expect((await store.supervisors.list(t)).filter((r) => r.name === name)).toEqual([]);
      await store.close();
    });

    it("keeps schedules: create once per name, list by name, pause and resume, delete", async () => {
      const store = await make();
      const name = `sched-${seq++}`;
      const rec: ScheduleRecord = {
        name,
        cron: "*/5 * * * *",
        timeZone: "Europe/Paris",
        overlap: "skip",
        catchUpMs: 60_000,
        target: { template: "etl", version: 2 },
        inputs: { day: "mon", n: 3 },
        createdAt: 1_000,
        paused: false,
        lastTick: 1_000,
      };
      expect(await store.schedules.create(rec)).toBe(true);
      expect(await store.schedules.create({ ...rec, cron: "* * * * *" })).toBe(false);
      expect(await store.schedules.get(name)).toEqual(rec);
      const other = { ...rec, name: `${name}-b`, target: { yaml: "workflow: {}" } };
      await store.schedules.create(other);
      expect((await store.schedules.list()).filter((r) => r.name.startsWith(name))).toEqual([rec, other]);
      // Pausing keeps the progress; resuming moves it to now, so paused ticks are not caught up.
      expect(await store.schedules.setPaused(name, true, 5_000)).toEqual({ ...rec, paused: true });
      expect(await store.schedules.setPaused(name, false, 9_000)).toEqual({ ...rec, paused: false, lastTick: 9_000 });
      expect(await store.schedules.setPaused(`${name}-none`, true, 1)).toBeUndefined();
      expect(await store.schedules.delete(name)).toBe(true);
      expect(await store.schedules.delete(name)).toBe(false);
      expect(await store.schedules.get(name)).toBeUndefined();
      expect((await store.schedules.list()).map((r) => r.name)).not.toContain(name);
      await store.close();
    });

    it("moves a schedule's progress only forward, and never onto a newer schedule of the same name", async () => {
      const store = await make();
      const name = `sched-${seq++}`;
      const rec: ScheduleRecord = { name, cron: "* * * * * *", timeZone: "UTC", overlap: "allow", catchUpMs: 0, target: { yaml: "y" }, inputs: {}, createdAt: 1_000, paused: false, lastTick: 1_000 };
      await store.schedules.create(rec);
      expect(await store.schedules.advance(name, { createdAt: 1_000, tick: 3_000, run: { workflowId: "wf_3", at: 3_010 } })).toBe(true);
      // Another coordinator, late with tick 2 or again with tick 3: nothing changes.
      expect(await store.schedules.advance(name, { createdAt: 1_000, tick: 2_000, run: { workflowId: "wf_2", at: 3_020 } })).toBe(false);
      expect(await store.schedules.advance(name, { createdAt: 1_000, tick: 3_000, run: { workflowId: "wf_3", at: 3_030 } })).toBe(false);
      expect(await store.schedules.get(name)).toMatchObject({ lastTick: 3_000, lastWorkflowId: "wf_3", lastRunAt: 3_010 });
      // A skipped tick moves the tick, not the run; a triggered run moves the run, not the tick.
      expect(await store.schedules.advance(name, { createdAt: 1_000, tick: 4_000 })).toBe(true);
      expect(await store.schedules.advance(name, { createdAt: 1_000, run: { workflowId: "wf_t", at: 4_500 } })).toBe(true);
      expect(await store.schedules.get(name)).toMatchObject({ lastTick: 4_000, lastWorkflowId: "wf_t", lastRunAt: 4_500 });
      // Deleted and created again: the old one's progress does not land on it.
      await store.schedules.delete(name);
      await store.schedules.create({ ...rec, createdAt: 2_000, lastTick: 2_000 });
      expect(await store.schedules.advance(name, { createdAt: 1_000, tick: 5_000 })).toBe(false);
      expect(await store.schedules.get(name)).toEqual({ ...rec, createdAt: 2_000, lastTick: 2_000 });
      expect(await store.schedules.advance(`${name}-none`, { createdAt: 1_000, tick: 5_000 })).toBe(false);
      await store.close();
    });
  });
}

async function waitFor(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}
