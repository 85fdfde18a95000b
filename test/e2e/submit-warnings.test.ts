// SubmitWorkflow's warnings follow the pool: a runner no supervisor offers is
// named, and once a supervisor offering it registers, the same submission
// gets none (and the waiting step runs there).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { coordinator, waitForEnd, WorkflowState, type CoordinatorClient } from "../helpers/coordinator.js";
import { startSupervisorServer } from "../../src/server/supervisor-server.js";
import { builtinRunners } from "../../src/runners/index.js";
import type { RunningCoordinator } from "../../src/coordinator/app.js";

let running: RunningCoordinator;
let client: CoordinatorClient;

beforeAll(async () => {
  ({ running, client } = await coordinator());
});
afterAll(async () => {
  await running.close();
});

const yaml = `workflow:\n  name: hero\n  steps:\n    - { id: a, runner: hero, payload: "'ran on hero'" }\n`;

describe("submission warnings", () => {
  it("name a runner no supervisor offers, until one that does registers", async () => {
    const first = await client.submitWorkflow({ definition: { case: "yaml", value: yaml } });
    expect(first.warnings).toEqual(['no supervisor offers runner "hero" (offered: js, noop, shell): step a will wait until one does']);

    // A supervisor whose js runner is also served under the name "hero".
    const runners = builtinRunners();
    runners.set("hero", runners.get("js")!);
    const sup = await startSupervisorServer({ port: 0, register: [running.url], supervisor: { name: "hero-sup", runners } });
    try {
      const done = await waitForEnd(client, first.workflowId, 20_000);
      expect(done.state).toBe(WorkflowState.SUCCEEDED);
      const second = await client.submitWorkflow({ definition: { case: "yaml", value: yaml } });
      expect(second.warnings).toEqual([]);
      expect((await waitForEnd(client, second.workflowId, 20_000)).state).toBe(WorkflowState.SUCCEEDED);
    } finally {
      await sup.close();
    }
  });
});
