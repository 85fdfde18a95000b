// A stored definition (WorkflowSpec) shown as the YAML a user writes: proto
// JSON with the proto's field names (depends_on, for_each), triggers in
// their YAML spelling, and a template step as `workflow: {template: NAME}`.
import { create, toJson, type JsonObject, type JsonValue, type MessageInitShape } from "@bufbuild/protobuf";
import { fromPlain, WorkflowSpecSchema, type Plain, type PlainInit, type WorkflowSpec } from "horus-client-web";
import { stringify } from "yaml";

/** The YAML document (`workflow: ...`) of a definition, as the plain client returns it (declared inputs' defaults as JSON). */
export function definitionYaml(spec: Plain<WorkflowSpec>): string {
  const message = create(WorkflowSpecSchema, fromPlain(WorkflowSpecSchema, spec as PlainInit<WorkflowSpec>) as MessageInitShape<typeof WorkflowSpecSchema>);
  const json = toJson(WorkflowSpecSchema, message, { useProtoFieldName: true }) as JsonObject;
  return stringify({ workflow: yamlShape(json) }, { lineWidth: 0 });
}

/** Proto JSON of a WorkflowSpec, in the YAML format's spelling (pure, for tests). */
export function yamlShape(spec: JsonObject): JsonObject {
  const out: JsonObject = { ...spec };
  for (const list of ["steps", "on_failure"]) {
    const steps = spec[list];
    if (Array.isArray(steps)) out[list] = steps.map((s) => stepShape(s as JsonObject));
  }
  return out;
}

function stepShape(step: JsonObject): JsonObject {
  const out: JsonObject = { ...step };
  if (typeof step.trigger === "string") out.trigger = step.trigger.replace(/^TRIGGER_RULE_/, "").toLowerCase();
  if (step.workflow && typeof step.workflow === "object") out.workflow = yamlShape(step.workflow as JsonObject);
  if (step.template && typeof step.template === "object") {
    const t = step.template as JsonObject;
    delete out.template;
    out.workflow = { template: t.name as JsonValue, ...(t.version ? { version: t.version } : {}) };
  }
  return out;
}
