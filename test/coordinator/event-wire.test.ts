// The direct event writer produces exactly the bytes of the library's path
// (eventToProto, then toBinary) for every event the engine can store, in
// each output format, and a batched message written by it decodes to the
// same WatchWorkflowResponse.
import { fromBinary, toBinary, toJson, create } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { OutputFormat, RunWorkflowResponseSchema, WatchWorkflowResponseSchema } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { WorkflowEventSchema } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { BINARY_READ_OPTIONS } from "../../src/common/depth.js";
import type { JsonValue } from "../../src/common/json.js";
import { eventToProto } from "../../src/coordinator/convert.js";
import { directlyEncodable, encodeEvent, eventsMessage } from "../../src/coordinator/event-wire.js";
import type { StoredEvent } from "../../src/engine/model.js";

const FORMATS = [OutputFormat.VALUE_UNSPECIFIED, OutputFormat.JSON, OutputFormat.NONE];

const reference = (id: string, e: StoredEvent, outputs: OutputFormat) => toBinary(WorkflowEventSchema, eventToProto(id, e, { binary: true, outputs }));

const text = fc.oneof(fc.constant(""), fc.string(), fc.string({ unit: "binary" }));
const int32 = fc.oneof(fc.constant(0), fc.nat(), fc.constant(0x7fffffff));
const time = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 4_102_444_800_000 }), fc.constant(1_764_650_000_123));
const optional = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

const workflowEvent: fc.Arbitrary<StoredEvent> = fc.record(
  { kind: fc.constant("workflow" as const), time, state: fc.integer({ min: 0, max: 6 }), error: optional(text), cursor: text },
  { requiredKeys: ["kind", "time", "state", "cursor"] },
);

const stepEvent: fc.Arbitrary<StoredEvent> = fc.record(
  {
    kind: fc.constant("step" as const),
    time,
    stepId: text,
    state: fc.integer({ min: 0, max: 9 }),
    attempt: int32,
    supervisor: optional(text),
    output: optional(fc.jsonValue({ maxDepth: 5 }) as fc.Arbitrary<JsonValue>),
    error: optional(fc.record({ code: text, message: text })),
    instance: optional(int32),
    nextRetryAt: optional(time),
    waitingReason: optional(text),
    cursor: text,
  },
  { requiredKeys: ["kind", "time", "stepId", "state", "attempt", "cursor"] },
);

const anyEvent = fc.oneof(workflowEvent, stepEvent);

describe("encodeEvent", () => {
  it("writes the library's bytes for every event, in each output format", () => {
    fc.assert(
      fc.property(text, anyEvent, fc.constantFrom(...FORMATS), (id, e, outputs) => {
        expect(directlyEncodable(e)).toBe(true);
        expect(Buffer.from(encodeEvent(id, e, outputs))).toEqual(Buffer.from(reference(id, e, outputs)));
      }),
      { numRuns: 1000 },
    );
  });

  it("handles the edges: a zero time, attempt and instance, an empty error, deep and unicode outputs", () => {
    let deep: JsonValue = { leaf: [1, "é€😀", null] };
    for (let i = 0; i < 150; i++) deep = { [`c${i}`]: deep };
    const cases: StoredEvent[] = [
      { kind: "workflow", time: 0, state: 0, cursor: "" },
      { kind: "workflow", time: 1_764_650_000_999, state: 4, error: "step x failed", cursor: "12" },
      { kind: "step", time: 0, stepId: "", state: 0, attempt: 0, instance: 0, error: { code: "", message: "" }, cursor: "1" },
      { kind: "step", time: 5, stepId: "s", state: 5, attempt: 2, output: deep, nextRetryAt: 7_000, supervisor: "sup", waitingReason: "no supervisor", cursor: "99" },
      { kind: "step", time: 5, stepId: "s", state: 5, attempt: 1, output: null, cursor: "2" },
      { kind: "step", time: 5, stepId: "s", state: 5, attempt: 1, output: "x".repeat(70_000), cursor: "3" },
    ];
    for (const e of cases) for (const outputs of FORMATS) expect(Buffer.from(encodeEvent("wf", e, outputs))).toEqual(Buffer.from(reference("wf", e, outputs)));
  });

  it("leaves to the library what it cannot write: fractional or negative numbers", () => {
    expect(directlyEncodable({ kind: "workflow", time: 1.5, state: 1, cursor: "1" })).toBe(false);
    expect(directlyEncodable({ kind: "step", time: 1, stepId: "s", state: 1, attempt: -1, cursor: "1" })).toBe(false);
    expect(directlyEncodable({ kind: "step", time: 1, stepId: "s", state: 1, attempt: 1, instance: -2, cursor: "1" })).toBe(false);
    expect(directlyEncodable({ kind: "step", time: 1, stepId: "s", state: 1, attempt: 2 ** 31, cursor: "1" })).toBe(false);
  });
});

describe("eventsMessage", () => {
  it("decodes to the WatchWorkflowResponse the library would have sent", () => {
    fc.assert(
      fc.property(fc.array(anyEvent, { maxLength: 20 }), fc.constantFrom(...FORMATS), text, (events, outputs, cursor) => {
        const direct = fromBinary(WatchWorkflowResponseSchema, toBinary(WatchWorkflowResponseSchema, eventsMessage("wf", events, outputs, cursor)), BINARY_READ_OPTIONS);
        const library = create(WatchWorkflowResponseSchema, { kind: { case: "events", value: { events: events.map((e) => eventToProto("wf", e, { outputs })) } }, cursor });
        expect(toJson(WatchWorkflowResponseSchema, direct)).toEqual(toJson(WatchWorkflowResponseSchema, library));
      }),
      { numRuns: 300 },
    );
  });
});

describe("RunWorkflow's messages", () => {
  it("have every field of WatchWorkflowResponse under the same number and type, so pre-encoded batches stay valid", () => {
    const shape = (fields: readonly { name: string; number: number; fieldKind: string; message?: { typeName: string } }[]) =>
      fields.map((f) => [f.name, f.number, f.fieldKind, f.message?.typeName]);
    const run = shape(RunWorkflowResponseSchema.fields);
    for (const f of shape(WatchWorkflowResponseSchema.fields)) expect(run).toContainEqual(f);
  });

  it("a batch written for WatchWorkflow decodes as a RunWorkflow message with the same events", () => {
    const events: StoredEvent[] = [
      { kind: "step", stepId: "a", state: 5, attempt: 1, time: 1_700_000_000_000, cursor: "7", output: { n: 1 } } as StoredEvent,
      { kind: "workflow", state: 3, time: 1_700_000_000_001, cursor: "8" } as StoredEvent,
    ];
    const bytes = toBinary(WatchWorkflowResponseSchema, eventsMessage("wf_1", events, OutputFormat.JSON, "8"));
    const asRun = fromBinary(RunWorkflowResponseSchema, bytes, BINARY_READ_OPTIONS);
    const asWatch = fromBinary(WatchWorkflowResponseSchema, bytes, BINARY_READ_OPTIONS);
    expect(asRun.cursor).toBe("8");
    expect(asRun.kind.case).toBe("events");
    expect(asRun.kind.value).toEqual(asWatch.kind.value);
  });
});
