// `horus status ID`: one workflow and its steps (GetWorkflow).
import { toJson } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { WorkflowSchema } from "../../../gen/horus/coordinator/v1/workflow_pb.js";
import { coordinatorClient } from "../client.js";
import { styleFor } from "../colour.js";
import { workflowText } from "../format.js";
import { globals } from "../globals.js";
import { print, printJson } from "../output.js";

export function registerStatus(program: Command): void {
  program
    .command("status")
    .description("Show a workflow and its steps.")
    .argument("<id>", "workflow id")
    .action(async (id: string) => {
      const res = await coordinatorClient(globals(program).coordinator).getWorkflow({ workflowId: id });
      if (globals(program).json) printJson(toJson(WorkflowSchema, res.workflow!));
      else print(workflowText(res.workflow!, styleFor(process.stdout)));
    });
}
