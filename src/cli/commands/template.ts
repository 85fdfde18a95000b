// `horus template register|list|get`: versioned workflow templates, which
// sub-workflow steps run by name.
import { toJson } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { WorkflowTemplateSchema } from "../../../gen/horus/coordinator/v1/workflow_pb.js";
import { coordinatorClient } from "../client.js";
import { CliError } from "../errors.js";
import { globals } from "../globals.js";
import { print, printJson } from "../output.js";
import { readDefinition } from "../workflow-files.js";

export function registerTemplate(program: Command): void {
  const client = () => coordinatorClient(globals(program).coordinator);
  const template = program.command("template").description("Versioned workflow templates, run by sub-workflow steps (`workflow: {template: NAME}`).");

  template
    .command("register")
    .description("Store a workflow file as the next version of a template (the same content as the latest version keeps that version).")
    .argument("<name>", "template name")
    .argument("<file>", "workflow YAML file")
    .action(async (name: string, file: string) => {
      const yaml = await readDefinition(file);
      const res = await client().registerWorkflowTemplate({ name, definition: { case: "yaml", value: yaml } });
      if (globals(program).json) printJson(toJson(WorkflowTemplateSchema, res.template!));
      else print(`template ${name} version ${res.template!.version}${res.existing ? " (unchanged: same content as that version)" : ""}`);
    });

  template
    .command("list")
    .description("Every template with its latest version.")
    .action(async () => {
      const res = await client().listWorkflowTemplates({});
      if (globals(program).json) printJson(res.templates.map((t) => toJson(WorkflowTemplateSchema, t)));
      else for (const t of res.templates) print(`${t.name}  v${t.version}  ${t.spec?.steps.length ?? 0} steps`);
    });

  template
    .command("get")
    .description("Print one version of a template (the latest by default) as JSON.")
    .argument("<name>", "template name")
    .option("--version <n>", "version number", "0")
    .action(async (name: string, opts: { version: string }) => {
      const version = Number(opts.version);
      if (!Number.isInteger(version) || version < 0) throw new CliError(`--version must be a version number, got "${opts.version}"`);
      const res = await client().getWorkflowTemplate({ name, version });
      printJson(toJson(WorkflowTemplateSchema, res.template!));
    });
}
