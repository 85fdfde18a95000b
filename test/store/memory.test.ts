import { describe, expect, it } from "vitest";
import { createMemoryStore } from "../../src/store/memory/memory-store.js";
import type { WorkflowRecord } from "../../src/engine/model.js";
import { StepState as S, WorkflowState as W } from "../../src/engine/states.js";
import type { Store } from "../../src/store/store.js";
import { sampleRecord, storeContract } from "./contract.js";

storeContract("memory", async () => createMemoryStore());

it("memory store caps log lines per attempt with one marker", async () => {
  const store = createMemoryStore({ maxLogLinesPerStep: 3 });
  const rec = sampleRecord();
  await store.createWorkflow(rec);
  const lines = Array.from({ length: 10 }, (_, i) => ({ stepId: "a", attempt: 1, time: i, stream: "stdout" as const, line: `l${i}` }));
  await store.appendLogs(rec.id, lines);
  const got = await store.readLogs(rec.id, { after: "", stepId: "", limit: 100 });
  expect(got.map((l) => l.line)).toEqual(["l0", "l1", "l2", "[log truncated: more than 3 lines for this attempt]"]);
});

it("memory store forgets the oldest finished workflows beyond its limit", async () => {
  const store = createMemoryStore({ maxFinishedWorkflows: 2 });
  const recs = [sampleRecord(), sampleRecord(), sampleRecord()];
  for (const r of recs) {
    await store.createWorkflow(r);
    await store.commit(r.id, { header: { state: W.SUCCEEDED }, steps: [], events: [] });
  }
  expect(await store.getWorkflow(recs[0]!.id)).toBeUndefined();
  expect(await store.getWorkflow(recs[2]!.id)).toBeDefined();
});

describe("memory store byte budget", () => {
  const big = (kb: number) => "x".repeat(kb * 1024);
  /** Ends a workflow with one step whose output is `output`, as the executor commits it. */
  async function finish(store: Store, rec: WorkflowRecord, output: string, state = W.SUCCEEDED): Promise<void> {
    const step = { ...rec.steps[0]!, state: S.SUCCEEDED, output };
    await store.commit(rec.id, {
      header: { state },
      steps: [{ index: 0, record: step }],
      events: [{ kind: "step", time: 1, stepId: "a", state: S.SUCCEEDED, attempt: 1, output }],
    });
  }

  it("forgets the oldest finished workflows once their outputs exceed the budget, by bytes not count", async () => {
    // 1 MiB: room for about six finished workflows holding a 150 KiB output each.
    const store = createMemoryStore({ maxMemoryBytes: 1024 * 1024 });
    const recs = Array.from({ length: 10 }, () => sampleRecord());
    for (const r of recs) {
      await store.createWorkflow(r);
      await finish(store, r, big(150));
    }
    const kept = [];
    for (const r of recs) if (await store.getWorkflow(r.id)) kept.push(r.id);
    // The newest ones stay, the oldest go; far below the count limit (10,000).
    expect(kept.length).toBeGreaterThanOrEqual(4);
    expect(kept.length).toBeLessThan(recs.length);
    expect(kept).toEqual(recs.slice(recs.length - kept.length).map((r) => r.id));
  });

  it("never forgets a running workflow, however big, and evicts finished ones for it", async () => {
    const store = createMemoryStore({ maxMemoryBytes: 512 * 1024 });
    const done = sampleRecord();
    await store.createWorkflow(done);
    await finish(store, done, big(100));
    const running = Array.from({ length: 4 }, () => sampleRecord({ state: W.RUNNING }));
    for (const r of running) {
      await store.createWorkflow(r);
      // A step of a running workflow succeeds with a big output; the workflow goes on.
      const step = { ...r.steps[0]!, state: S.SUCCEEDED, output: big(200) };
      await store.commit(r.id, { steps: [{ index: 0, record: step }], events: [] });
      await store.appendLogs(r.id, [{ stepId: "a", attempt: 1, time: 1, stream: "stdout", line: big(50) }]);
    }
    // 4 x 250 KiB running: over the budget on their own, and all kept.
    for (const r of running) expect((await store.getWorkflow(r.id))?.record.steps[0]!.output).toHaveLength(200 * 1024);
    // The finished one made room.
    expect(await store.getWorkflow(done.id)).toBeUndefined();
  });

  it("keeps everything while within the budget", async () => {
    const store = createMemoryStore({ maxMemoryBytes: 64 * 1024 * 1024 });
    const recs = Array.from({ length: 20 }, () => sampleRecord());
    for (const r of recs) {
      await store.createWorkflow(r);
      await finish(store, r, big(100));
    }
    for (const r of recs) expect(await store.getWorkflow(r.id)).toBeDefined();
  });
});
