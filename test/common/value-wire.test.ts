// The linear-time Value encoder writes exactly the bytes protobuf-es's
// toBinary writes, for any JSON value, and a message carrying a Value
// pre-encoded as an unknown field decodes as if the field had been set.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StepStateChangedSchema } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { BINARY_READ_OPTIONS } from "../../src/common/depth.js";
import { fromValue, toValue, type JsonValue } from "../../src/common/json.js";
import { encodeValue, wireValueField } from "../../src/common/value-wire.js";

const reference = (json: JsonValue) => toBinary(ValueSchema, toValue(json));

/** `depth` levels of objects, each holding the one below and a sibling: a noop chain's output shape. */
function nested(depth: number): JsonValue {
  let v: JsonValue = { leaf: [1, "two", true, null] };
  for (let i = 0; i < depth; i++) v = { [`c${i}`]: v, n: i };
  return v;
}

describe("encodeValue", () => {
  it("writes toBinary's bytes for every JSON value", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (json) => {
        expect(Buffer.from(encodeValue(json as JsonValue))).toEqual(Buffer.from(reference(json as JsonValue)));
      }),
      { numRuns: 500 },
    );
  });

  it("handles the edges: empty containers, empty keys, a __proto__ key, -0, huge and tiny numbers, unicode and lone surrogates, long strings", () => {
    const cases: JsonValue[] = [
      null, true, false, 0, -0, 1.5, -1e308, 5e-324, Number.MAX_SAFE_INTEGER, "", "é€😀", "\ud800x", "x".repeat(70_000),
      [], {}, { "": "" }, [[[]]], { a: { b: {} } }, ["x".repeat(200), { ["k".repeat(300)]: [null] }],
      // An own "__proto__" key (as JSON.parse makes one): dropped, as the library drops it.
      JSON.parse('{"__proto__": [], "a": 1}') as JsonValue,
    ];
    for (const json of cases) expect(Buffer.from(encodeValue(json))).toEqual(Buffer.from(reference(json)));
  });

  it("encodes values 500 levels deep (the deepest output a supervisor passes) and larger than its first buffer", () => {
    const deep = nested(500);
    const bytes = encodeValue(deep);
    expect(Buffer.from(bytes)).toEqual(Buffer.from(reference(deep)));
    expect(fromValue(fromBinary(ValueSchema, bytes, BINARY_READ_OPTIONS))).toEqual(deep);
  });

  it("a pre-encoded Value in $unknown decodes as the field itself", () => {
    const output = nested(30);
    const msg = create(StepStateChangedSchema, { stepId: "s", attempt: 2 });
    msg.$unknown = [wireValueField(StepStateChangedSchema.field.output.number, output)];
    const decoded = fromBinary(StepStateChangedSchema, toBinary(StepStateChangedSchema, msg), BINARY_READ_OPTIONS);
    expect(decoded.stepId).toBe("s");
    expect(decoded.attempt).toBe(2);
    expect(fromValue(decoded.output)).toEqual(output);
    // The same bytes as setting the field (known fields come in number order, unknown ones last; output is the last field written here).
    const set = create(StepStateChangedSchema, { stepId: "s", attempt: 2, output: toValue(output) });
    expect(fromBinary(StepStateChangedSchema, toBinary(StepStateChangedSchema, set), BINARY_READ_OPTIONS)).toEqual(decoded);
  });
});
