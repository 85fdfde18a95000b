import { expect, it } from "vitest";
import { createMemoryStore } from "../../src/store/memory/memory-store.js";
import { WorkflowState as W } from "../../src/engine/states.js";
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
