// `horus run FILE`: submit a workflow and follow it live to its end; the exit code is its outcome.
import type { Command } from "commander";
import { WorkflowState } from "../../engine/states.js";
import { followWorkflow } from "../follow.js";
import { collect } from "../flags.js";
import { followOptions, globals } from "../globals.js";
import { printWarnings } from "../output.js";
import { submissionOf, type SubmitFlags } from "../submit.js";

export function registerRun(program: Command): void {
  program
    .command("run")
    .description("Submit a workflow file and follow it live until it ends. Exit 0 when it succeeds, 1 when it fails or is cancelled.")
    .argument("<file>", "workflow YAML file")
    .option("--input <key=value>", "a workflow input, converted by its declared type (else parsed as JSON when it is JSON) (repeatable)", collect, [])
    .option("--inputs <file>", "workflow inputs from a JSON object file")
    .option("--idempotency-key <key>", "submit at most once per key")
    .action(async (file: string, opts: SubmitFlags) => {
      // One RunWorkflow call: the stream is open before the first step runs.
      const { client, submit } = await submissionOf(globals(program).coordinator, file, opts);
      const final = await followWorkflow(client, { submit, onSubmitted: (res) => printWarnings(res.warnings) }, followOptions(program));
      process.exitCode = final.state === WorkflowState.SUCCEEDED ? 0 : 1;
    });
}
