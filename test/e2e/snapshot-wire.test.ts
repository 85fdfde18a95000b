// A watch's snapshot written straight from the record (workflow-wire.ts)
// reaches binary clients as the one protobuf-es builds: the same workflow
// GetWorkflow gives, with outputs in the format asked for, on every binary
// protocol.
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CoordinatorService, OutputFormat } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import type { RunningCoordinator } from "../../src/coordinator/app.js";
import { coordinator, PROTOCOLS, waitForEnd, type CoordinatorClient } from "../helpers/coordinator.js";

let running: RunningCoordinator;
let client: CoordinatorClient;

beforeAll(async () => {
  ({ running, client } = await coordinator());
});
afterAll(async () => {
  await running.close();
});

const steps = Array.from({ length: 12 }, (_, i) => `    - { id: s${i}, runner: js, payload: "({ i: ${i}, s: 'é😀', deep: [[{ x: null }]] })"${i > 0 ? `, depends_on: [s${i - 1}]` : ""} }`).join("\n");
const YAML = `workflow:\n  name: snapshot\n  steps:\n${steps}\n`;

describe("a snapshot written from the record", () => {
  for (const [name, transport] of Object.entries(PROTOCOLS).filter(([n]) => !n.includes("json"))) {
    it(`${name}: is the workflow GetWorkflow gives, with outputs as asked`, async () => {
      const { workflowId } = await client.submitWorkflow({ definition: { case: "yaml", value: YAML } });
      await waitForEnd(client, workflowId);
      const want = (await client.getWorkflow({ workflowId })).workflow!;
      const c = createClient(CoordinatorService, transport(running.url));
      for (const format of [OutputFormat.VALUE_UNSPECIFIED, OutputFormat.JSON, OutputFormat.NONE]) {
        const first = await c.watchWorkflow({ workflowId, outputs: format })[Symbol.asyncIterator]().next();
        expect(first.value?.kind.case, `${name} ${format}`).toBe("snapshot");
        const got = first.value!.kind.value as typeof want;
        expect(got.id).toBe(workflowId);
        expect(got.spec).toEqual(want.spec);
        expect(got.steps.map((s) => [s.id, s.state, s.attempts])).toEqual(want.steps.map((s) => [s.id, s.state, s.attempts]));
        for (const [i, s] of got.steps.entries()) {
          if (format === OutputFormat.JSON) {
            expect(s.output, `${name} ${format}`).toBeUndefined();
            expect(JSON.parse(s.outputJson)).toEqual({ i, s: "é😀", deep: [[{ x: null }]] });
          } else if (format === OutputFormat.NONE) {
            expect(s.output).toBeUndefined();
            expect(s.outputJson).toBe("");
          } else expect(s.output).toEqual(want.steps[i]!.output);
        }
      }
    });
  }
});
