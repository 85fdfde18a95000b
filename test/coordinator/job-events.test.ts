// Table tests of the job-event translation: wire JobEvent -> engine input or log line.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { JobEventSchema, type JobEvent } from "../../gen/horus/coordinator/v1/supervisor_pb.js";
import { LogStream } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { toValue, ts, type JsonValue } from "../../src/common/json.js";
import { jobEventEffect, outputTooLarge, type JobEventEffect } from "../../src/coordinator/executor/job-events.js";

const attemptId = "wf_1.a.2";
type Kind = NonNullable<MessageInitShape<typeof JobEventSchema>["kind"]>;
const event = (kind: Kind, time?: number): JobEvent => create(JobEventSchema, { attemptId, workflowId: "wf_1", stepId: "a", kind, ...(time !== undefined ? { time: ts(time) } : {}) });
const finished = (f: { succeeded: boolean; output?: JsonValue; error?: { code: string; message: string } }) =>
  event({ case: "finished", value: { succeeded: f.succeeded, ...(f.output !== undefined ? { output: toValue(f.output) } : {}), ...(f.error ? { error: f.error } : {}) } });
/** A finished event whose output came as output_json (a link whose coordinator reads it). */
const finishedJson = (text: string | Uint8Array) => event({ case: "finished", value: { succeeded: true, outputJson: typeof text === "string" ? Buffer.from(text, "utf8") : text } });
const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
const log = (stream: LogStream, line: string, time?: number) => event({ case: "log", value: { stream, line } }, time);

const ctx = { maxOutputBytes: 20, now: 5_000, attemptNumber: (id: string) => (id === attemptId ? 2 : 0) };

describe("job events -> engine inputs", () => {
  const table: Array<{ name: string; ev: JobEvent; expect: JobEventEffect; maxOutputBytes?: number }> = [
    { name: "started", ev: event({ case: "started", value: {} }), expect: { type: "input", input: { type: "started", attemptId } } },
    { name: "succeeded with an output", ev: finished({ succeeded: true, output: { n: 1 } }), expect: { type: "input", input: { type: "finished", attemptId, ok: true, output: { n: 1 } } } },
    { name: "succeeded without an output: null", ev: finished({ succeeded: true }), expect: { type: "input", input: { type: "finished", attemptId, ok: true, output: null } } },
    {
      name: "succeeded with an output over maxOutputBytes: OUTPUT_TOO_LARGE",
      ev: finished({ succeeded: true, output: "x".repeat(30) }),
      expect: { type: "input", input: { type: "finished", attemptId, ok: false, error: { code: "OUTPUT_TOO_LARGE", message: "step output of 32 bytes exceeds the coordinator's limit of 20 bytes (--max-output-bytes)" } } },
    },
    { name: "output_json: the output it holds", ev: finishedJson('{"t":"héllo 日本 🚀","n":[1,-2.5,1e21,null],"o":{}}'), expect: { type: "input", input: { type: "finished", attemptId, ok: true, output: { t: "héllo 日本 🚀", n: [1, -2.5, 1e21, null], o: {} } } }, maxOutputBytes: 0 },
    { name: "output_json null: null", ev: finishedJson("null"), expect: { type: "input", input: { type: "finished", attemptId, ok: true, output: null } } },
    {
      name: "output_json over maxOutputBytes (its bytes counted as sent): OUTPUT_TOO_LARGE",
      ev: finishedJson(`"${"x".repeat(30)}"`),
      expect: { type: "input", input: { type: "finished", attemptId, ok: false, error: { code: "OUTPUT_TOO_LARGE", message: "step output of 32 bytes exceeds the coordinator's limit of 20 bytes (--max-output-bytes)" } } },
    },
    {
      name: "output_json that is not JSON: RUNNER_ERROR",
      ev: finishedJson('{"a":'),
      expect: { type: "input", input: { type: "finished", attemptId, ok: false, error: { code: "RUNNER_ERROR", message: expect.stringMatching(/^the supervisor sent an output_json that cannot be read: not JSON \(/) } } },
    },
    {
      name: "output_json that is not UTF-8: RUNNER_ERROR",
      ev: finishedJson(new Uint8Array([0x22, 0xff, 0xfe, 0x22])),
      expect: { type: "input", input: { type: "finished", attemptId, ok: false, error: { code: "RUNNER_ERROR", message: "the supervisor sent an output_json that cannot be read: not UTF-8" } } },
    },
    {
      name: "output_json nesting deeper than supervisors allow: OUTPUT_TOO_DEEP",
      ev: finishedJson(deep(501)),
      maxOutputBytes: 0,
      expect: { type: "input", input: { type: "finished", attemptId, ok: false, error: { code: "OUTPUT_TOO_DEEP", message: "output nests deeper than 500 arrays/objects" } } },
    },
    { name: "output_json nesting as deep as supervisors allow: the output", ev: finishedJson(deep(500)), expect: { type: "input", input: { type: "finished", attemptId, ok: true, output: JSON.parse(deep(500)) } }, maxOutputBytes: 0 },
    { name: "failed with a code", ev: finished({ succeeded: false, error: { code: "SCRIPT_ERROR", message: "boom" } }), expect: { type: "input", input: { type: "finished", attemptId, ok: false, error: { code: "SCRIPT_ERROR", message: "boom" } } } },
    { name: "failed without an error: ERROR", ev: finished({ succeeded: false }), expect: { type: "input", input: { type: "finished", attemptId, ok: false, error: { code: "ERROR", message: "" } } } },
    { name: "failed with an empty code: ERROR", ev: finished({ succeeded: false, error: { code: "", message: "m" } }), expect: { type: "input", input: { type: "finished", attemptId, ok: false, error: { code: "ERROR", message: "m" } } } },
    // R5: the dispatcher stopped a copy, or its supervisor shut down: not the step's failure.
    { name: "ended ATTEMPT_LOST: lost (R5)", ev: finished({ succeeded: false, error: { code: "ATTEMPT_LOST", message: "superseded" } }), expect: { type: "input", input: { type: "lost", attemptId, reason: "superseded" } } },
    { name: "a log line with its time", ev: log(LogStream.STDERR, "oops", 1_234), expect: { type: "log", log: { stepId: "a", attempt: 2, time: 1_234, stream: "stderr", line: "oops" } } },
    { name: "a log line without a time: now", ev: log(LogStream.SYSTEM, "note"), expect: { type: "log", log: { stepId: "a", attempt: 2, time: 5_000, stream: "system", line: "note" } } },
    { name: "a log line on an unknown stream: stdout", ev: log(99 as LogStream, "x", 1), expect: { type: "log", log: { stepId: "a", attempt: 2, time: 1, stream: "stdout", line: "x" } } },
    { name: "an event of no known kind: nothing", ev: create(JobEventSchema, { attemptId, workflowId: "wf_1", stepId: "a" }), expect: undefined },
  ];
  for (const t of table) {
    it(t.name, () => {
      expect(jobEventEffect(t.ev, t.maxOutputBytes === undefined ? ctx : { ...ctx, maxOutputBytes: t.maxOutputBytes })).toEqual(t.expect);
    });
  }

  it("a log line of an attempt that is not current is stored under attempt 0", () => {
    const ev = log(LogStream.STDOUT, "late");
    ev.attemptId = "wf_1.a.1";
    expect(jobEventEffect(ev, ctx)).toMatchObject({ type: "log", log: { attempt: 0 } });
  });

  const limits: Array<{ output: unknown; max: number; tooLarge: boolean }> = [
    { output: "x".repeat(100), max: 0, tooLarge: false },
    { output: "x".repeat(100), max: -1, tooLarge: false },
    { output: "x".repeat(18), max: 20, tooLarge: false },
    { output: "x".repeat(19), max: 20, tooLarge: true },
    // Bytes, not characters: "é" is two in UTF-8.
    { output: "é".repeat(10), max: 20, tooLarge: true },
    { output: undefined, max: 3, tooLarge: true },
  ];
  for (const t of limits) {
    it(`outputTooLarge(${JSON.stringify(t.output)?.slice(0, 12)}…, ${t.max}) ${t.tooLarge ? "names the size" : 'is ""'}`, () => {
      expect(outputTooLarge(t.output, t.max) !== "").toBe(t.tooLarge);
    });
  }
});
