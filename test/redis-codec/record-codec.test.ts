// The record codec (src/store/redis/record-codec.ts): a workflow written as
// hash fields reads back equal, and a summary read from the copied fields
// equals the memory store's summary of the same record.
import { describe, expect, it } from "vitest";
import type { WorkflowRecord } from "../../src/engine/model.js";
import { StepState as S, WorkflowState as W } from "../../src/engine/states.js";
import { SUMMARY_FIELDS, bucket, decodeLog, decodeRecord, decodeSummary, encodeRecord } from "../../src/store/redis/record-codec.js";
import { summarize } from "../../src/store/summary.js";

function record(overrides: Partial<WorkflowRecord> = {}): WorkflowRecord {
  return {
    id: "wf_1",
    name: "w",
    state: W.RUNNING,
    definition: { name: "w", labels: {}, steps: [{ id: "a", runner: "noop", payload: "", dependsOn: [] }] } as unknown as WorkflowRecord["definition"],
    levels: [0, 1, 1],
    steps: [
      { id: "a", state: S.SUCCEEDED, attempts: [] },
      { id: "b", state: S.RUNNING, attempts: [] },
      { id: "c", state: S.FAILED, attempts: [], error: { code: "X", message: "no" } as never },
    ],
    inputs: { n: 1 },
    labels: {},
    createdAt: 1000,
    ...overrides,
  };
}

/** The hash Redis would hold after the create script: the encoded fields (owner and the rest are the script's). */
function hash(r: WorkflowRecord): Record<string, string> {
  const f = encodeRecord(r);
  const h: Record<string, string> = {};
  for (let i = 0; i < f.length; i += 2) h[f[i]!] = f[i + 1]!;
  return h;
}

const cases: Array<[string, WorkflowRecord]> = [
  ["a plain running workflow", record()],
  ["a finished one with an error", record({ state: W.FAILED, startedAt: 1100, finishedAt: 1200, error: "step c failed" })],
  ["a child with labels, a template and an idempotency key", record({ labels: { team: "x" }, parent: { workflowId: "wf_0", stepId: "s", attemptId: "at" }, depth: 1, template: { name: "t", version: 2 }, idempotencyKey: "k" })],
  ["no steps yet", record({ steps: [], levels: [] })],
];

describe("record codec", () => {
  for (const [name, r] of cases) {
    it(`${name}: reads back equal`, () => expect(decodeRecord(hash(r))).toEqual(r));
    it(`${name}: its summary fields give the memory store's summary`, () => {
      const h = hash(r);
      expect(decodeSummary(r.id, SUMMARY_FIELDS.map((f) => h[f] ?? null))).toEqual(summarize(r));
    });
  }

  it("an expired workflow (no fields) has no summary", () => {
    expect(decodeSummary("wf_1", SUMMARY_FIELDS.map(() => null))).toBeUndefined();
  });

  it("buckets: succeeded, failed, running (dispatched counts as running), the rest none", () => {
    expect([S.SUCCEEDED, S.FAILED, S.RUNNING, S.DISPATCHED, S.PENDING, S.READY, S.SKIPPED, S.CANCELLED].map(bucket)).toEqual(["s", "f", "r", "r", "", "", "", ""]);
  });

  it("writes each step's record and bucket, and the bucket counters", () => {
    const h = hash(record());
    expect(h).toMatchObject({ "b:0": "s", "b:1": "r", "b:2": "f", cs: "1", cr: "1", cf: "1", n: "3" });
    expect(JSON.parse(h["s:1"]!)).toEqual({ id: "b", state: S.RUNNING, attempts: [] });
  });

  it("a log entry is read by position; an unknown stream name reads as stdout", () => {
    expect(decodeLog("1-0", ["s", "a", "a", "2", "t", "9", "o", "stderr", "l", "hi"])).toEqual({ stepId: "a", attempt: 2, time: 9, stream: "stderr", line: "hi", cursor: "1-0" });
    expect(decodeLog("1-1", ["s", "a", "a", "1", "t", "9", "o", "tty", "l", "x"]).stream).toBe("stdout");
  });
});
