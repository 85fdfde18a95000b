// WatchWorkflow snapshots written straight from the record
// (workflow-wire.ts encodeWorkflow): the bytes are exactly protobuf-es's
// (workflowToProto, then toBinary) for every kind of record a real
// coordinator stores and every field a definition can hold, in each output
// format; a record the writer does not handle gets undefined, so the caller
// takes protobuf-es's way. snapshotMessage carries such bytes as the
// snapshot field. What it saves the main thread is a bench figure, not
// asserted here.
import { create, fromBinary, toBinary, toJson } from "@bufbuild/protobuf";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OutputFormat, RunWorkflowResponseSchema, WatchWorkflowResponseSchema } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { WorkflowSchema } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { BINARY_READ_OPTIONS } from "../../src/common/depth.js";
import { toValueMap } from "../../src/common/json.js";
import { workflowToProto, type ConvertOptions } from "../../src/coordinator/convert.js";
import { snapshotMessage } from "../../src/coordinator/snapshot-wire.js";
import { encodeWorkflow } from "../../src/coordinator/workflow-wire.js";
import type { WorkflowRecord } from "../../src/engine/model.js";
import { WorkflowState as State } from "../../src/engine/states.js";
import { coordinator, waitForEnd, type CoordinatorClient } from "../helpers/coordinator.js";
import type { RunningCoordinator } from "../../src/coordinator/app.js";

const OPTIONS: ConvertOptions[] = [
  { binary: true },
  { binary: true, outputs: OutputFormat.JSON },
  { binary: true, outputs: OutputFormat.NONE },
];

const reference = (record: WorkflowRecord, options: ConvertOptions) => toBinary(WorkflowSchema, workflowToProto(record, options));

function encoded(record: WorkflowRecord, options: ConvertOptions): Uint8Array {
  const bytes = encodeWorkflow(record, options);
  expect(bytes, "the writer handles the record").toBeDefined();
  return bytes!;
}

const chainYaml = (n: number, runner: string) =>
  ["workflow:", "  name: chain", "  steps:", `    - {id: s0, runner: ${runner}}`, ...Array.from({ length: n - 1 }, (_, i) => `    - {id: s${i + 1}, runner: ${runner}, depends_on: [s${i}]}`)].join("\n") + "\n";

const WORKFLOWS = {
  "a pending 100-step chain (its first step waits for a supervisor)": chainYaml(100, "nosuch"),
  "a finished workflow with nested, non-ASCII outputs": `workflow:
  name: outputs
  steps:
    - id: make
      runner: js
      payload: "({ deep: { list: [1, 2.5, -0, null, true, 'é€😀'], 'ключ': { nested: [[[{}]]] } }, big: 1e21, tiny: 5e-324 })"
    - {id: pass, runner: noop, depends_on: [make]}
    - {id: text, runner: js, depends_on: [pass], payload: "'日本語 ' + JSON.stringify(input.pass.make.deep)"}
`,
  "a for_each with instances": `workflow:
  name: fan
  steps:
    - {id: list, runner: js, payload: "[1, 'zwei', {drei: 3}, [4], null]"}
    - {id: each, runner: noop, depends_on: [list], for_each: input.list, max_parallel: 2}
    - {id: after, runner: noop, depends_on: [each]}
`,
  "a failed workflow with retries, errors and on_failure steps": `workflow:
  name: failing
  steps:
    - {id: ok, runner: noop}
    - {id: bad, runner: js, depends_on: [ok], retry: {max_attempts: 2, initial_backoff: 1ms}, payload: "throw new Error('boom é')"}
    - {id: skipped, runner: noop, depends_on: [bad]}
  on_failure:
    - {id: report, runner: noop}
`,
  "a pending workflow whose definition holds every field": `workflow:
  name: every-field
  labels: { team: "données", tier: "1", "": "empty key" }
  timeout: 1h
  retry: { max_attempts: 3, initial_backoff: 250ms, max_backoff: 90s, multiplier: 1.5, jitter: 0.25, non_retryable: [SCRIPT_ERROR, MY_CODE] }
  inputs:
    day: { type: string, required: true, description: "YYYY-MM-DD" }
    limit: { type: number, default: 1000 }
    opts: { type: object, default: { deep: [1, "x", null, true] } }
  steps:
    - { id: gate, runner: nosuch, supervisor: "far-away", labels: { zone: eu, gpu: "" }, secrets: [DB_URL, API_KEY], timeout: 1500ms, retry: { max_attempts: 1 }, when: "inputs.limit > 0", payload: "ééé" }
    - { id: fan, runner: noop, depends_on: [gate], for_each: "[1, 2]", max_parallel: 7, trigger: all_done }
    - { id: tpl, depends_on: [gate], workflow: { template: some-template, version: 4 }, trigger: none_failed }
    - { id: latest, depends_on: [gate], workflow: { template: some-template } }
    - id: inline
      depends_on: [gate]
      trigger: one_success
      workflow:
        name: inner
        labels: { a: b }
        retry: { multiplier: 1 }
        steps:
          - { id: x, runner: js, payload: "1", retry: { jitter: 0, non_retryable: [] } }
  on_failure:
    - { id: report, runner: noop, trigger: one_failed }
`,
  "a sub-workflow parent": `workflow:
  name: parent
  steps:
    - {id: before, runner: noop}
    - id: child
      depends_on: [before]
      workflow:
        name: inner
        steps:
          - {id: x, runner: js, payload: "'from the child'"}
          - {id: y, runner: noop, depends_on: [x]}
`,
};

describe("snapshots written from the record", () => {
  let running: RunningCoordinator;
  let client: CoordinatorClient;
  const records = new Map<string, WorkflowRecord>();

  beforeAll(async () => {
    ({ running, client } = await coordinator());
    for (const [name, yaml] of Object.entries(WORKFLOWS)) {
      const inputs = toValueMap(name.includes("every field") ? { day: "2026-12-02" } : {});
      const { workflowId } = await client.submitWorkflow({ definition: { case: "yaml", value: yaml }, inputs });
      if (!name.startsWith("a pending")) await waitForEnd(client, workflowId);
      const got = await running.store.getWorkflow(workflowId);
      records.set(name, got!.record);
      // The parent's child workflow too: it names its parent.
      for (const step of got!.record.steps) {
        for (const a of step.attempts) if (a.childWorkflowId) records.set(`${name}: its child`, (await running.store.getWorkflow(a.childWorkflowId))!.record);
      }
    }
  }, 60_000);

  afterAll(async () => {
    await running?.close();
  });

  it("the records cover what they are meant to", () => {
    const all = [...records.values()];
    expect(all.some((r) => r.state === State.PENDING || r.state === State.RUNNING)).toBe(true);
    expect(all.some((r) => r.steps.some((s) => s.instances) && r.steps.some((s) => s.instanceOf !== undefined))).toBe(true);
    expect(all.some((r) => (r.definition.onFailure?.length ?? 0) > 0 && r.steps.some((s) => s.error))).toBe(true);
    expect(all.some((r) => r.steps.some((s) => s.attempts.length > 1))).toBe(true);
    expect(all.some((r) => r.steps.some((s) => s.attempts.some((a) => a.childWorkflowId)))).toBe(true);
    expect(all.some((r) => r.parent)).toBe(true);
    expect(all.some((r) => r.error)).toBe(true);
    expect(JSON.stringify(all)).toContain("é€😀");
    const every = records.get("a pending workflow whose definition holds every field")!.definition;
    expect(every.inputs && every.retry && every.timeoutMs && every.onFailure).toBeTruthy();
    expect(every.steps.map((s) => [s.trigger, s.workflow, s.secrets, s.labels, s.supervisor, s.retry, s.when, s.forEach, s.maxParallel].filter((x) => x !== undefined).length)).toEqual([5, 3, 2, 1, 2]);
  });

  for (const name of [...Object.keys(WORKFLOWS), `${Object.keys(WORKFLOWS).at(-1)}: its child`]) {
    it(`protobuf-es's bytes for ${name}, in each output format`, () => {
      const record = records.get(name)!;
      for (const options of OPTIONS) {
        expect(Buffer.from(encoded(record, options)), JSON.stringify(options)).toEqual(Buffer.from(reference(record, options)));
      }
      // The JSON format has no pre-encoded fields: protobuf-es builds those.
      expect(encodeWorkflow(record, { binary: false })).toBeUndefined();
    });
  }

  it("protobuf-es's bytes for a 2,000-step workflow, whose snapshot needs a multi-byte length", () => {
    const base = records.get("a pending 100-step chain (its first step waits for a supervisor)")!;
    const record: WorkflowRecord = {
      ...base,
      definition: { ...base.definition, steps: Array.from({ length: 2_000 }, (_, i) => ({ ...base.definition.steps[0]!, id: `w${i}` })) },
      levels: Array.from({ length: 2_000 }, () => 0),
      steps: Array.from({ length: 2_000 }, (_, i) => ({ ...base.steps[0]!, id: `w${i}` })),
    };
    const bytes = encoded(record, { binary: true });
    expect(bytes.length).toBeGreaterThan(100_000);
    expect(Buffer.from(bytes)).toEqual(Buffer.from(reference(record, { binary: true })));
    const msg = fromBinary(WatchWorkflowResponseSchema, toBinary(WatchWorkflowResponseSchema, snapshotMessage(bytes, "7")), BINARY_READ_OPTIONS);
    expect(msg.kind.case === "snapshot" && msg.kind.value.steps).toHaveLength(2_000);
  });

  it("snapshotMessage decodes as the message the library would send, for WatchWorkflow and RunWorkflow", () => {
    for (const [name, record] of records) {
      for (const options of OPTIONS) {
        const msg = snapshotMessage(encoded(record, options), "42");
        for (const schema of [WatchWorkflowResponseSchema, RunWorkflowResponseSchema] as const) {
          const expected = create(schema, { kind: { case: "snapshot", value: workflowToProto(record, options) }, cursor: "42" });
          // As RunWorkflow passes it on (service.ts asRunResponse): the cursor, and $unknown as it is.
          const sent = schema === WatchWorkflowResponseSchema ? msg : Object.assign(create(RunWorkflowResponseSchema, { cursor: msg.cursor }), { $unknown: msg.$unknown });
          const decoded = fromBinary(schema, toBinary(schema, sent as never), BINARY_READ_OPTIONS);
          expect(decoded, `${name} ${JSON.stringify(options)}`).toEqual(fromBinary(schema, toBinary(schema, expected as never), BINARY_READ_OPTIONS));
        }
      }
    }
  });

  it("snapshotMessage is for the binary format only: JSON has no snapshot in it", () => {
    const record = records.get("a sub-workflow parent")!;
    const msg = snapshotMessage(encoded(record, { binary: true }), "9");
    expect(toJson(WatchWorkflowResponseSchema, msg)).toEqual({ cursor: "9" });
  });

  it("snapshotMessage writes each length's varint", () => {
    for (const n of [0, 1, 127, 128, 16_383, 16_384, 2_097_152]) {
      const data = snapshotMessage(new Uint8Array(n).fill(7), "").$unknown![0]!.data;
      const reader = new BinaryReader(data);
      expect(reader.uint32()).toBe(n);
      expect(data.length - reader.pos).toBe(n);
    }
  });

  it("a record with a number the writer does not handle gets undefined, and protobuf-es still encodes it", () => {
    const base = records.get("a for_each with instances")!;
    const step = base.steps[0]!;
    const odd: WorkflowRecord[] = [
      { ...base, createdAt: 1.5 },
      { ...base, finishedAt: -1 },
      { ...base, levels: base.levels.map(() => -1) },
      { ...base, steps: [{ ...step, attempts: step.attempts.map((a) => ({ ...a, number: -1 })) }, ...base.steps.slice(1)] },
      { ...base, definition: { ...base.definition, timeoutMs: -5 } },
      { ...base, definition: { ...base.definition, steps: base.definition.steps.map((s) => ({ ...s, timeoutMs: 0.5 })) } },
    ];
    for (const [i, record] of odd.entries()) {
      expect(encodeWorkflow(record, { binary: true }), `case ${i}`).toBeUndefined();
      expect(() => reference(record, { binary: true })).not.toThrow();
    }
  });
});
