// A lazy field: read in process as the JSON it was set from, without a
// conversion; converted once when something (a wire serializer) reads it.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { JobSchema } from "../../gen/horus/coordinator/v1/supervisor_pb.js";
import { fromValueMap, toValueMap, type JsonMap, type JsonValue } from "../../src/common/json.js";
import { jsonOf, setLazyField } from "../../src/common/lazy-field.js";

const INPUT: JsonMap = { a: { rows: [1, 2, { x: null }] }, b: "é" };

function lazyJob(counter: { n: number }) {
  const job = create(JobSchema, { attemptId: "x", runner: "noop" });
  setLazyField(job, "input", INPUT, (json) => {
    counter.n++;
    return toValueMap(json as JsonMap);
  });
  return job;
}

describe("lazy fields", () => {
  it("give the JSON they were set from, unconverted, to an in-process reader", () => {
    const counter = { n: 0 };
    const job = lazyJob(counter);
    expect(jsonOf(job, "input", fromValueMap)).toBe(INPUT);
    // create() of a message keeps it as it is: the in-process hand-over reads nothing.
    expect(create(JobSchema, job)).toBe(job);
    expect(counter.n).toBe(0);
  });

  it("convert once when read, and encode as if set directly", () => {
    const counter = { n: 0 };
    const job = lazyJob(counter);
    const bytes = toBinary(JobSchema, job);
    toBinary(JobSchema, job);
    expect(counter.n).toBe(1);
    expect(bytes).toEqual(toBinary(JobSchema, create(JobSchema, { attemptId: "x", runner: "noop", input: toValueMap(INPUT) })));
    expect(fromValueMap(fromBinary(JobSchema, bytes).input)).toEqual(INPUT);
    // Still the JSON after the conversion: the two agree.
    expect(jsonOf(job, "input", fromValueMap)).toBe(INPUT);
  });

  it("copy with a spread as converted values, and forget the JSON when set", () => {
    const counter = { n: 0 };
    const job = lazyJob(counter);
    const copy = { ...job };
    expect(fromValueMap(copy.input)).toEqual(INPUT);
    const other = toValueMap({ z: 1 });
    job.input = other;
    expect(job.input).toBe(other);
    expect(jsonOf(job, "input", fromValueMap)).toEqual({ z: 1 } satisfies Record<string, JsonValue>);
  });

  it("fall back to converting a field that is not lazy (a message decoded from the wire)", () => {
    const decoded = fromBinary(JobSchema, toBinary(JobSchema, create(JobSchema, { input: toValueMap(INPUT) })));
    expect(jsonOf(decoded, "input", fromValueMap)).toEqual(INPUT);
  });
});
