// `horus submit FILE...`: submit workflows without following them; prints their ids.
import { toJson } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { SubmitWorkflowResponseSchema, SubmitWorkflowsResponseSchema } from "../../../gen/horus/coordinator/v1/coordinator_pb.js";
import { collect } from "../flags.js";
import { globals } from "../globals.js";
import { print, printJson, printWarnings } from "../output.js";
import { submitMany, submitOne, type SubmitFlags } from "../submit.js";

export function registerSubmit(program: Command): void {
  program
    .command("submit")
    .description("Submit workflow files and print their ids, one line each in the order given. Several files go in one call: if any is invalid, none is submitted.")
    .argument("<file...>", "workflow YAML files")
    .option("--input <key=value>", "a workflow input (repeatable; every file gets the same)", collect, [])
    .option("--inputs <file>", "workflow inputs from a JSON object file")
    .option("--idempotency-key <key>", "submit at most once per key (with several files, file n is submitted under KEY:n)")
    .action(async (files: string[], opts: SubmitFlags) => {
      const { coordinator, json } = globals(program);
      if (files.length === 1) {
        const { res } = await submitOne(coordinator, files[0]!, opts);
        printWarnings(res.warnings);
        if (json) printJson(toJson(SubmitWorkflowResponseSchema, res));
        else print(res.workflowId);
        return;
      }
      const res = await submitMany(coordinator, files, opts);
      res.workflows.forEach((w, i) => printWarnings(w.warnings, `${files[i]}: `));
      if (json) printJson(toJson(SubmitWorkflowsResponseSchema, res));
      else print(res.workflows.map((w) => w.workflowId).join("\n"));
    });
}
