// WatchWorkflow snapshots encoded in a definition worker
// (definition-pool.ts encodeWorkflow): the bytes are exactly the main
// thread's (workflowToProto, then toBinary) for every kind of record a real
// coordinator stores, the pool answers `undefined` rather than make the
// caller wait for a worker, and a worker that fails mid-job rejects the
// promise without harm. snapshotMessage carries such bytes as the snapshot
// field. What it saves the main thread is measured in .scratch, not asserted.
import { create, fromBinary, toBinary, toJson } from "@bufbuild/protobuf";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OutputFormat, RunWorkflowResponseSchema, WatchWorkflowResponseSchema } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { WorkflowSchema } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { BINARY_READ_OPTIONS } from "../../src/common/depth.js";
import { workflowToProto, type ConvertOptions } from "../../src/coordinator/convert.js";
import { createDefinitionPool, type DefinitionPool, type DefinitionPoolOptions } from "../../src/coordinator/definition-pool.js";
import { snapshotMessage } from "../../src/coordinator/snapshot-wire.js";
import type { WorkflowRecord } from "../../src/engine/model.js";
import type { JsonValue } from "../../src/common/json.js";
import { WorkflowState as State } from "../../src/engine/states.js";
import { coordinator, waitForEnd, type CoordinatorClient } from "../helpers/coordinator.js";
import type { RunningCoordinator } from "../../src/coordinator/app.js";

const OPTIONS: ConvertOptions[] = [
  { binary: true },
  { binary: true, outputs: OutputFormat.JSON },
  { binary: true, outputs: OutputFormat.NONE },
  { binary: false },
];

const reference = (record: WorkflowRecord, options: ConvertOptions) => toBinary(WorkflowSchema, workflowToProto(record, options));

const pools: DefinitionPool[] = [];
function pool(options: DefinitionPoolOptions = {}): DefinitionPool {
  const p = createDefinitionPool({ encodeMinSteps: 0, ...options });
  pools.push(p);
  return p;
}

/** A pool with one worker started, ready and idle: it has read a small definition. */
async function warm(options: DefinitionPoolOptions = {}): Promise<DefinitionPool> {
  const p = pool({ offloadChars: 1, ...options });
  expect((await p.check("workflow:\n  name: w\n  steps:\n    - {id: a, runner: noop}\n", {})).problems).toEqual([]);
  return p;
}

/** Waits for the worker that missed snapshots start in the background (see encodeWorkflow). */
async function warmInBackground(p: DefinitionPool, record: WorkflowRecord): Promise<Promise<Uint8Array> | undefined> {
  expect(p.encodeWorkflow(record, { binary: true })).toBeUndefined();
  expect(p.encodeWorkflow(record, { binary: true })).toBeUndefined();
  // Its worker has started, idle but not ready yet: a job now would wait for its modules to load.
  expect(p.encodeWorkflow(record, { binary: true })).toBeUndefined();
  let promise: Promise<Uint8Array> | undefined;
  for (let i = 0; i < 600 && !promise; i++) {
    await new Promise((r) => setTimeout(r, 50));
    promise = p.encodeWorkflow(record, { binary: true });
  }
  return promise;
}

function encoded(p: DefinitionPool, record: WorkflowRecord, options: ConvertOptions): Promise<Uint8Array> {
  const promise = p.encodeWorkflow(record, options);
  expect(promise, "a worker is ready and idle").toBeDefined();
  return promise!;
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

describe("snapshots encoded in a worker", () => {
  let running: RunningCoordinator;
  let client: CoordinatorClient;
  const records = new Map<string, WorkflowRecord>();

  beforeAll(async () => {
    ({ running, client } = await coordinator());
    for (const [name, yaml] of Object.entries(WORKFLOWS)) {
      const { workflowId } = await client.submitWorkflow({ definition: { case: "yaml", value: yaml } });
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
    for (const p of pools) await p.close();
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
  });

  for (const name of [...Object.keys(WORKFLOWS), `${Object.keys(WORKFLOWS).at(-1)}: its child`]) {
    it(`the main thread's bytes for ${name}, in each output format`, async () => {
      const record = records.get(name)!;
      const p = await warm();
      for (const options of OPTIONS) {
        const bytes = await encoded(p, record, options);
        expect(Buffer.from(bytes), JSON.stringify(options)).toEqual(Buffer.from(reference(record, options)));
      }
    });
  }

  it("the main thread's bytes for a 2,000-step workflow, whose snapshot needs a multi-byte length", async () => {
    const base = records.get("a pending 100-step chain (its first step waits for a supervisor)")!;
    const record: WorkflowRecord = {
      ...base,
      definition: { ...base.definition, steps: Array.from({ length: 2_000 }, (_, i) => ({ ...base.definition.steps[0]!, id: `w${i}` })) },
      levels: Array.from({ length: 2_000 }, () => 0),
      steps: Array.from({ length: 2_000 }, (_, i) => ({ ...base.steps[0]!, id: `w${i}` })),
    };
    const bytes = await encoded(await warm(), record, { binary: true });
    expect(bytes.length).toBeGreaterThan(100_000);
    expect(Buffer.from(bytes)).toEqual(Buffer.from(reference(record, { binary: true })));
    const msg = fromBinary(WatchWorkflowResponseSchema, toBinary(WatchWorkflowResponseSchema, snapshotMessage(bytes, "7")), BINARY_READ_OPTIONS);
    expect(msg.kind.case === "snapshot" && msg.kind.value.steps).toHaveLength(2_000);
  });

  it("snapshotMessage decodes as the message the library would send, for WatchWorkflow and RunWorkflow", async () => {
    const p = await warm();
    for (const [name, record] of records) {
      for (const options of OPTIONS.filter((o) => o.binary)) {
        const msg = snapshotMessage(await encoded(p, record, options), "42");
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

  it("snapshotMessage is for the binary format only: JSON has no snapshot in it", async () => {
    const record = records.get("a sub-workflow parent")!;
    const msg = snapshotMessage(await encoded(await warm(), record, { binary: true }), "9");
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

  it("undefined while no worker is ready and idle, and for small records; never queued behind a definition", async () => {
    const record = records.get("a pending 100-step chain (its first step waits for a supervisor)")!;
    // No worker started yet.
    expect(pool().encodeWorkflow(record, { binary: true })).toBeUndefined();
    // Its one worker busy reading a definition.
    const p = await warm({ size: 1 });
    const reading = p.check(chainYaml(3_000, "noop"), {});
    expect(p.encodeWorkflow(record, { binary: true })).toBeUndefined();
    expect((await reading).problems).toEqual([]);
    // Free again, and the bytes come from it.
    expect(Buffer.from(await encoded(p, record, { binary: true }))).toEqual(Buffer.from(reference(record, { binary: true })));
    // Below encodeMinSteps: the caller's.
    const small = await warm({ encodeMinSteps: 101 });
    expect(small.encodeWorkflow(record, { binary: true })).toBeUndefined();
  });

  it("snapshots asked for while none is ready start a worker in the background for the next ones", async () => {
    const record = records.get("a for_each with instances")!;
    const promise = await warmInBackground(pool(), record);
    expect(promise, "a worker became ready").toBeDefined();
    expect(Buffer.from(await promise!)).toEqual(Buffer.from(reference(record, { binary: true })));
  });

  it("a worker that runs out of time or memory mid-snapshot rejects the promise, and the pool goes on", async () => {
    const base = records.get("a finished workflow with nested, non-ASCII outputs")!;
    // Large enough that encoding takes longer than 1 ms, and more than 16 MiB of heap.
    const big: WorkflowRecord = { ...base, steps: Array.from({ length: 40_000 }, (_, i) => ({ ...base.steps[0]!, id: `s${i}`, instanceOf: 0, output: { i, text: "x".repeat(400) } })) };
    const small = records.get("a for_each with instances")!;
    // One deep output shared by 10,000 steps: cloned once, but converted and
    // encoded by reflection once per step, which takes far longer than 1 s.
    let deep: JsonValue = { leaf: "x" };
    for (let i = 0; i < 400; i++) deep = { [`c${i}`]: [deep] };
    const slow: WorkflowRecord = { ...base, steps: Array.from({ length: 10_000 }, (_, i) => ({ ...base.steps[0]!, id: `s${i}`, instanceOf: 0, output: deep })) };
    // Started in the background, which has no time limit.
    const hurried = pool({ maxMs: 1_000 });
    expect(Buffer.from(await (await warmInBackground(hurried, small))!)).toEqual(Buffer.from(reference(small, { binary: true })));
    await expect(encoded(hurried, slow, { binary: false })).rejects.toThrow(/encoding the workflow snapshot took longer than 1s/);
    const starved = await warm({ maxHeapMb: 16 });
    await expect(encoded(starved, big, { binary: true })).rejects.toThrow(/encoding the workflow snapshot (needed more than the worker's 16 MiB|failed)/);
    // Its worker is gone; the next definition starts another, which encodes.
    expect((await starved.check("workflow:\n  name: w\n  steps:\n    - {id: a, runner: noop}\n", {})).problems).toEqual([]);
    expect(Buffer.from(await encoded(starved, small, { binary: true }))).toEqual(Buffer.from(reference(small, { binary: true })));
  }, 60_000);

  it("a record that does not clone, or does not convert, is rejected, and the worker stays usable", async () => {
    const record = records.get("a for_each with instances")!;
    const p = await warm();
    const odd = { ...record, labels: { ...record.labels, get: (() => "x") as unknown as string } };
    await expect(encoded(p, odd, { binary: true })).rejects.toThrow(/encoding the workflow snapshot failed: .*could not be cloned/);
    // A step record with no definition: workflowToProto throws in the worker.
    const broken = { ...record, steps: [...record.steps, { ...record.steps[0]!, id: "stray" }] };
    expect(() => reference(broken, { binary: true })).toThrow();
    await expect(encoded(p, broken, { binary: true })).rejects.toThrow(/encoding the workflow snapshot failed: /);
    expect(Buffer.from(await encoded(p, record, { binary: true }))).toEqual(Buffer.from(reference(record, { binary: true })));
  });

  it("closing the pool mid-snapshot rejects the promise", async () => {
    const base = records.get("a pending 100-step chain (its first step waits for a supervisor)")!;
    const p = await warm();
    const rejected = expect(encoded(p, base, { binary: true })).rejects.toThrow(/shutting down/);
    await p.close();
    await rejected;
  });
});
