// `horus validate FILE`: check a workflow file locally, with every problem;
// when a coordinator answers, also warn about runners none of its supervisors offers.
import { create, toJson } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { ValidateWorkflowResponseSchema } from "../../../gen/horus/coordinator/v1/coordinator_pb.js";
import { planToProto, problemsToProto } from "../../coordinator/convert.js";
import { parseWorkflowYaml } from "../../workflow/parse.js";
import { validateAndPlan } from "../../workflow/plan.js";
import { positive } from "../flags.js";
import { globals } from "../globals.js";
import { print, printJson, printWarnings } from "../output.js";
import { reachableRunnerWarnings } from "../runner-check.js";
import { readDefinition } from "../workflow-files.js";

export function registerValidate(program: Command): void {
  program
    .command("validate")
    .description("Check a workflow file without running it (no coordinator needed). Exit 1 with every problem when invalid. When a coordinator answers, also warn about runners none of its supervisors offers.")
    .argument("<file>", "workflow YAML file")
    .option("--max-steps <n>", "most steps one workflow may have", "10000")
    .action(async (file: string, opts: { maxSteps: string }) => {
      const parsed = parseWorkflowYaml(await readDefinition(file));
      const problems = [...parsed.problems];
      let levels: string[][] = [];
      if (parsed.definition) {
        const result = validateAndPlan(parsed.definition, { maxSteps: positive(opts.maxSteps, "--max-steps") });
        problems.push(...result.problems);
        levels = result.plan?.levels ?? [];
      }
      if (globals(program).json) {
        printJson(toJson(ValidateWorkflowResponseSchema, create(ValidateWorkflowResponseSchema, { valid: problems.length === 0, problems: problemsToProto(problems), plan: planToProto(levels) })));
      } else if (problems.length > 0) {
        process.stderr.write(`${file}: ${problems.length} problem${problems.length > 1 ? "s" : ""}\n${problems.map((p) => `  ${p.field ? `${p.field}: ` : ""}${p.message}`).join("\n")}\n`);
      } else {
        print(`${file}: valid, ${parsed.definition!.steps.length} steps in ${levels.length} levels`);
        levels.forEach((l, i) => print(`  level ${i}: ${l.join(", ")}`));
      }
      if (problems.length > 0) process.exitCode = 1;
      else printWarnings(await reachableRunnerWarnings(globals(program).coordinator, parsed.definition!));
    });
}
