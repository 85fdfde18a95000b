// `horus list`: workflows, newest first, one line each (ListWorkflows).
import { toJson } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { ListWorkflowsResponseSchema } from "../../../gen/horus/coordinator/v1/coordinator_pb.js";
import { parseWorkflowState } from "../../engine/states.js";
import { coordinatorClient } from "../client.js";
import { styleFor } from "../colour.js";
import { CliError } from "../errors.js";
import { collect, positive } from "../flags.js";
import { summaryLine } from "../format.js";
import { globals } from "../globals.js";
import { print, printJson } from "../output.js";

export function registerList(program: Command): void {
  program
    .command("list")
    .description("List workflows, newest first.")
    .option("--state <state>", "only this state: pending, running, succeeded, failed, cancelled (repeatable)", collect, [])
    .option("--name <name>", "only workflows with this name")
    .option("--limit <n>", "how many", "50")
    .option("--page-token <token>", "continue a previous listing")
    .action(async (opts: { state: string[]; name?: string; limit: string; pageToken?: string }) => {
      const states = opts.state.map((s) => {
        const st = parseWorkflowState(s);
        if (st === undefined) throw new CliError(`unknown state "${s}" (use pending, running, succeeded, failed or cancelled)`);
        return st;
      });
      const res = await coordinatorClient(globals(program).coordinator).listWorkflows({
        states,
        name: opts.name ?? "",
        pageSize: positive(opts.limit, "--limit"),
        pageToken: opts.pageToken ?? "",
      });
      if (globals(program).json) return printJson(toJson(ListWorkflowsResponseSchema, res));
      if (res.workflows.length === 0) return print("no workflows");
      const style = styleFor(process.stdout);
      print(res.workflows.map((w) => summaryLine(w, style)).join("\n"));
      if (res.nextPageToken) print(`more: --page-token ${res.nextPageToken}`);
    });
}
