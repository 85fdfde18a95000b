// `horus logs ID`: the log lines of a workflow's steps, optionally followed to its end.
import type { Command } from "commander";
import { LogStream } from "../../../gen/horus/coordinator/v1/workflow_pb.js";
import { coordinatorClient } from "../client.js";
import { globals } from "../globals.js";
import { print } from "../output.js";

export function registerLogs(program: Command): void {
  program
    .command("logs")
    .description("Print the log lines of a workflow's steps.")
    .argument("<id>", "workflow id")
    .option("-f, --follow", "keep printing new lines until the workflow ends", false)
    .option("--step <id>", "only this step")
    .action(async (id: string, opts: { follow: boolean; step?: string }) => {
      const client = coordinatorClient(globals(program).coordinator);
      for await (const res of client.getWorkflowLogs({ workflowId: id, stepId: opts.step ?? "", follow: opts.follow })) {
        for (const l of res.lines) {
          if (globals(program).json) print(JSON.stringify({ step: l.stepId, attempt: l.attempt, stream: LogStream[l.stream]?.toLowerCase(), line: l.line }));
          else print(`${l.stepId}${l.attempt > 1 ? `#${l.attempt}` : ""} | ${l.stream === LogStream.STDERR ? "! " : ""}${l.line}`);
        }
      }
    });
}
