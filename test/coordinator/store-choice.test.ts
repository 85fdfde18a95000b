// The one place a coordinator's store is chosen: an injected store as given,
// else Redis when configured, else the memory store with the options the
// flags describe (events kept, log lines kept).
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../src/common/logger.js";
import { openStore } from "../../src/coordinator/store-choice.js";
import { StepState as S } from "../../src/engine/states.js";
import { createMemoryStore } from "../../src/store/memory/memory-store.js";
import { sampleRecord } from "../store/contract.js";

describe("openStore", () => {
  it("returns an injected store as it is, even beside other options", async () => {
    const store = createMemoryStore();
    expect(await openStore({ store, memory: { maxEventsPerWorkflow: 1 }, maxLogLinesPerStep: 1 }, silentLogger())).toBe(store);
  });

  it("without Redis: the memory store, with the events and log lines it is told to keep", async () => {
    const store = await openStore({ memory: { maxEventsPerWorkflow: 2 }, maxLogLinesPerStep: 1 }, silentLogger());
    expect([store.kind, store.durable]).toEqual(["memory", false]);
    const rec = sampleRecord();
    await store.createWorkflow(rec);
    const events = [1, 2, 3, 4].map((time) => ({ kind: "step" as const, time, stepId: "a", state: S.RUNNING, attempt: time }));
    await store.commit(rec.id, { steps: [], events });
    expect((await store.readEvents(rec.id, "", 100)).map((e) => e.time)).toEqual([3, 4]);
    await store.appendLogs(rec.id, [1, 2].map((time) => ({ stepId: "a", attempt: 1, time, stream: "stdout" as const, line: `l${time}` })));
    expect((await store.readLogs(rec.id, { after: "", stepId: "", limit: 100 })).map((l) => l.line)).toEqual(["l1", "[log truncated: more than 1 lines for this attempt]"]);
  });
});
