// A copy of a workflow that was dropped while one of its writes waited (the
// workflow was taken over, or taken back by this node after its lease
// lapsed) must not commit when the write resumes: the store would check it
// against the ownership this node holds now, the new copy's, and the old
// copy's transitions (here: a success the new copy does not know of) would
// be applied twice. A real executor on a real Redis store; the store's
// appendLogs is held at a gate, where such a write waits while Redis is
// away.
import { randomBytes } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { pino } from "pino";
import { afterAll, expect, it } from "vitest";
import { JobEventSchema } from "../../gen/horus/coordinator/v1/supervisor_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { LogStream } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { createExecutor } from "../../src/coordinator/executor.js";
import { newWorkflowRecord } from "../../src/coordinator/records.js";
import { attemptIdFor } from "../../src/engine/attempts.js";
import { StepState as S } from "../../src/engine/states.js";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import type { Store } from "../../src/store/store.js";
import { parseWorkflowYaml } from "../../src/workflow/parse.js";
import { validateAndPlan } from "../../src/workflow/plan.js";
import { sharedRedisUrl, stopSharedRedis } from "../helpers/redis.js";

afterAll(stopSharedRedis);

for (const [name, yaml] of [
  ["a step's success (the workflow goes on)", "workflow:\n  name: w\n  steps:\n    - { id: a, runner: noop }\n    - { id: b, runner: noop, depends_on: [a] }\n"],
  ["the workflow's final commit", "workflow:\n  name: w\n  steps:\n    - { id: a, runner: noop }\n"],
] as const) {
  it(`a copy dropped while its write waited does not commit under the ownership taken since: ${name}`, async () => {
    const store = await createRedisStore({ url: await sharedRedisUrl(), prefix: `t${randomBytes(4).toString("hex")}`, nodeId: "n1" });
    let entered: () => void = () => undefined;
    const waiting = new Promise<void>((r) => (entered = r));
    let open: () => void = () => undefined;
    const gate = new Promise<void>((r) => (open = r));
    const commits: string[] = [];
    const gated: Store = {
      ...store,
      async appendLogs(id, lines) {
        entered();
        await gate;
        return store.appendLogs(id, lines);
      },
      async commit(id, commit) {
        commits.push(JSON.stringify(commit.events.map((e) => ("stepId" in e ? `${e.stepId}:${e.state}` : `wf:${e.state}`))));
        return store.commit(id, commit);
      },
    };
    const executor = createExecutor({ store: gated, logger: pino({ level: "silent" }) });
    try {
      const definition = parseWorkflowYaml(yaml).definition!;
      const plan = validateAndPlan(definition).plan!;
      const { id } = await executor.start(newWorkflowRecord({ definition, plan, inputs: {}, now: Date.now() }), plan);
      const attemptId = attemptIdFor(id, "a", 1);
      executor.listener.accepted(attemptId, "s1");
      const ev = (kind: NonNullable<MessageInitShape<typeof JobEventSchema>["kind"]>) => create(JobEventSchema, { attemptId, workflowId: id, stepId: "a", kind });
      executor.listener.jobEvents("s1", [
        ev({ case: "started", value: {} }),
        ev({ case: "log", value: { stream: LogStream.STDOUT, line: "done" } }),
        ev({ case: "finished", value: { succeeded: true } }),
      ]);
      // The success's write waits at appendLogs. Meanwhile this node takes the workflow back, as ownership.ts does.
      await waiting;
      const before = commits.length;
      executor.forget(id);
      const record = await store.ownership!.claim(id, "n1");
      expect(record!.steps[0]!.state).not.toBe(S.SUCCEEDED);
      open();
      // The held write goes on now; give it every chance to reach the store.
      for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 10));
      expect(commits.slice(before)).toEqual([]);
      const stored = await store.getWorkflow(id);
      expect(stored!.record.steps[0]!.state).not.toBe(S.SUCCEEDED);
      expect((await store.readEvents(id, "", 100)).filter((e) => e.kind === "step" && e.state === S.SUCCEEDED)).toEqual([]);
    } finally {
      await executor.drain();
      await store.close();
    }
  });
}
