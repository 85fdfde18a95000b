// `horus retry ID`: run a failed or cancelled workflow again from where it failed, and follow it.
import type { Command } from "commander";
import { WorkflowState, workflowStateName } from "../../engine/states.js";
import { coordinatorClient } from "../client.js";
import { followWorkflow } from "../follow.js";
import { followOptions, globals } from "../globals.js";
import { print, printJson } from "../output.js";

export function registerRetry(program: Command): void {
  program
    .command("retry")
    .description("Run a FAILED or CANCELLED workflow again from where it failed (same id; succeeded steps keep their outputs).")
    .argument("<id>", "workflow id")
    .option("--no-follow", "return at once instead of following it to the end")
    .action(async (id: string, opts: { follow: boolean }) => {
      const client = coordinatorClient(globals(program).coordinator);
      const res = await client.retryWorkflow({ workflowId: id });
      if (!opts.follow) {
        if (globals(program).json) printJson({ state: workflowStateName(res.state) });
        else print(`workflow ${id} ${workflowStateName(res.state)}`);
        return;
      }
      const final = await followWorkflow(client, id, followOptions(program));
      process.exitCode = final.state === WorkflowState.SUCCEEDED ? 0 : 1;
    });
}
