// `horus cancel ID`: cancel a workflow (CancelWorkflow); its running jobs are asked to stop.
import type { Command } from "commander";
import { workflowStateName } from "../../engine/states.js";
import { coordinatorClient } from "../client.js";
import { globals } from "../globals.js";
import { print, printJson } from "../output.js";

export function registerCancel(program: Command): void {
  program
    .command("cancel")
    .description("Cancel a workflow; running jobs are asked to stop.")
    .argument("<id>", "workflow id")
    .option("--reason <text>", "why, recorded with the workflow")
    .action(async (id: string, opts: { reason?: string }) => {
      const res = await coordinatorClient(globals(program).coordinator).cancelWorkflow({ workflowId: id, reason: opts.reason ?? "" });
      if (globals(program).json) printJson({ state: workflowStateName(res.state) });
      else print(`workflow ${id} ${workflowStateName(res.state)}`);
    });
}
