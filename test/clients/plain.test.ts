// Plain JSON at the clients' edges (horus-api's plain.ts), without a network:
// every google.protobuf.Value field, wherever it sits (a map, a singular
// field, inside a oneof, inside a list of messages), converts both ways;
// messages without Values pass untouched; what is not JSON is refused with
// INVALID_ARGUMENT naming its path.
import { create, fromJson, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { fromPlain, toPlain } from "../../clients/api/src/plain.js";
import { GetWorkflowResponseSchema, SubmitWorkflowRequestSchema, WatchWorkflowResponseSchema, ListWorkflowsResponseSchema } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { StepSchema, WorkflowEventSchema, WorkflowSchema } from "../../gen/horus/coordinator/v1/workflow_pb.js";

const v = (json: JsonValue) => fromJson(ValueSchema, json);

describe("fromPlain (requests)", () => {
  const cases: Array<[string, unknown]> = [
    ["null", null],
    ["a number", 21],
    ["a string", "x"],
    ["a boolean", false],
    ["an empty object", {}],
    ["an empty array", []],
    ["nested", { a: [1, { b: null, c: [true, "s"] }] }],
  ];
  for (const [name, json] of cases) {
    it(`inputs: ${name} becomes the Value carrying it`, () => {
      const init = fromPlain(SubmitWorkflowRequestSchema, { definition: { case: "yaml", value: "y" }, inputs: { k: json } });
      const msg = create(SubmitWorkflowRequestSchema, init as never);
      expect(msg.inputs.k).toEqual(v(json as JsonValue));
      expect(msg.definition).toEqual({ case: "yaml", value: "y" });
    });
  }

  const refused: Array<[string, unknown, string]> = [
    ["undefined", { x: undefined }, "inputs.x: a undefined is not a JSON value"],
    ["NaN in a list", { x: [1, Number.NaN] }, "inputs.x[1]: NaN is not a JSON number"],
    ["Infinity", { x: Infinity }, "inputs.x: Infinity is not a JSON number"],
    ["a Date in an object", { x: { when: new Date(0) } }, "inputs.x.when: a Date is not a JSON value"],
    ["a function", { f: () => 1 }, "inputs.f: a function is not a JSON value"],
    ["a bigint", { n: 1n }, "inputs.n: a bigint is not a JSON value"],
    ["a Map", { m: new Map() }, "inputs.m: a Map is not a JSON value"],
  ];
  for (const [name, inputs, message] of refused) {
    it(`refuses ${name} with INVALID_ARGUMENT naming the path`, () => {
      expect(() => fromPlain(SubmitWorkflowRequestSchema, { inputs: inputs as Record<string, unknown> })).toThrow(expect.objectContaining({ code: 3, rawMessage: message }));
    });
  }

  it("leaves a request without Values as it was", () => {
    const init = { definition: { case: "yaml" as const, value: "y" }, idempotencyKey: "k" };
    expect(fromPlain(SubmitWorkflowRequestSchema, init)).toEqual(init);
  });
});

describe("toPlain (responses)", () => {
  const step = create(StepSchema, { id: "s", output: v({ rows: [1, null] }), item: v("i") });
  const workflow = create(WorkflowSchema, { id: "wf", inputs: { n: v(21), z: v(null) }, steps: [step, create(StepSchema, { id: "none" })] });

  it("a message field with a map of Values and a list of messages holding Values", () => {
    const plain = toPlain(GetWorkflowResponseSchema, create(GetWorkflowResponseSchema, { workflow }));
    expect(plain.workflow!.inputs).toEqual({ n: 21, z: null });
    expect(plain.workflow!.steps[0]!.output).toEqual({ rows: [1, null] });
    expect(plain.workflow!.steps[0]!.item).toBe("i");
    // Unset stays unset: distinct from a null output.
    expect(plain.workflow!.steps[1]!.output).toBeUndefined();
    expect(plain.workflow!.id).toBe("wf");
  });

  it("inside oneofs: a snapshot, and a step event", () => {
    const snap = toPlain(WatchWorkflowResponseSchema, create(WatchWorkflowResponseSchema, { cursor: "1", kind: { case: "snapshot", value: workflow } }));
    expect(snap.kind.case === "snapshot" && snap.kind.value.steps[0]!.output).toEqual({ rows: [1, null] });
    const event = create(WorkflowEventSchema, { cursor: "2", kind: { case: "step", value: { stepId: "s", output: v(null) } } });
    const ev = toPlain(WatchWorkflowResponseSchema, create(WatchWorkflowResponseSchema, { cursor: "2", kind: { case: "event", value: event } }));
    expect(ev.kind.case === "event" && ev.kind.value.kind.case === "step" && ev.kind.value.kind.value.output).toBeNull();
  });

  it("does not change the message it was given, and returns a message without Values as it is", () => {
    const res = create(GetWorkflowResponseSchema, { workflow });
    toPlain(GetWorkflowResponseSchema, res);
    expect(res.workflow!.inputs.n).toEqual(v(21));
    const list = create(ListWorkflowsResponseSchema, { workflows: [{ id: "a" }] });
    expect(toPlain(ListWorkflowsResponseSchema, list)).toBe(list);
  });
});
