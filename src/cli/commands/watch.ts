// `horus watch ID`: follow a running workflow live to its end; the exit code is its outcome.
import type { Command } from "commander";
import { WorkflowState } from "../../engine/states.js";
import { coordinatorClient } from "../client.js";
import { followWorkflow } from "../follow.js";
import { followOptions, globals } from "../globals.js";

export function registerWatch(program: Command): void {
  program
    .command("watch")
    .description("Follow a workflow live until it ends (exit code as for run).")
    .argument("<id>", "workflow id")
    .action(async (id: string) => {
      const client = coordinatorClient(globals(program).coordinator);
      const final = await followWorkflow(client, id, followOptions(program));
      process.exitCode = final.state === WorkflowState.SUCCEEDED ? 0 : 1;
    });
}
