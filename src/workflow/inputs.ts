// Declared workflow inputs (`workflow.inputs`): reading the declarations,
// checking them, and checking a submission's inputs against them. Pure: the
// coordinator (SubmitWorkflow, a sub-workflow's start) and the CLI (`--input
// n=3` converted by the declared type) call these; docs/semantics.md I1-I5.
import type { JsonValue } from "../common/json.js";
import { INPUT_TYPES, type InputDeclaration, type InputDeclarations, type InputType, type Problem } from "./definition.js";

export { INPUT_TYPES, type InputDeclaration, type InputDeclarations, type InputType } from "./definition.js";

/** Input names are read as `inputs.<name>` in CEL and scripts. */
export const INPUT_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

const DECLARATION_FIELDS = new Set(["type", "required", "default", "description"]);

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The type of a JSON value in the declaration vocabulary (null has none). */
export function typeOf(v: unknown): InputType | "null" {
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "object") return "object";
  if (typeof v === "number") return "number";
  if (typeof v === "boolean") return "boolean";
  return "string";
}

/**
 * Reads `inputs:` of the YAML format: a mapping of name to either a
 * declaration mapping or a bare type name (`count: number`, optional and
 * without default). Problems go to `problems`; `path` is where the mapping
 * sits (e.g. "workflow.inputs").
 */
export function inputsFromPlain(raw: unknown, path: string, problems: Problem[]): InputDeclarations | undefined {
  if (!isMap(raw)) {
    problems.push({ stepId: "", field: path, message: `${path} must be a mapping of input name to declaration (type, required, default, description)` });
    return undefined;
  }
  const out: InputDeclarations = {};
  for (const [name, value] of Object.entries(raw)) {
    const at = `${path}.${name}`;
    if (typeof value === "string") {
      const type = readType(value, at, name, problems);
      if (type) out[name] = { type, required: false };
      continue;
    }
    if (!isMap(value)) {
      problems.push({ stepId: "", field: at, message: `input "${name}": the declaration must be a mapping (type, required, default, description) or a type name` });
      continue;
    }
    for (const key of Object.keys(value)) {
      if (!DECLARATION_FIELDS.has(key)) problems.push({ stepId: "", field: `${at}.${key}`, message: `input "${name}": unknown field "${key}" (allowed: ${[...DECLARATION_FIELDS].join(", ")})` });
    }
    const type = readType(value.type, `${at}.type`, name, problems);
    let required = false;
    if (value.required !== undefined && value.required !== null) {
      if (typeof value.required === "boolean") required = value.required;
      else problems.push({ stepId: "", field: `${at}.required`, message: `input "${name}": required must be true or false` });
    }
    const decl: InputDeclaration = { type: type ?? "string", required };
    // `default: null` (or `default:` with nothing) is no default.
    if (value.default !== undefined && value.default !== null) decl.default = value.default as JsonValue;
    if (value.description !== undefined && value.description !== null) {
      if (typeof value.description === "string") decl.description = value.description;
      else problems.push({ stepId: "", field: `${at}.description`, message: `input "${name}": description must be a string` });
    }
    if (type) out[name] = decl;
  }
  return out;
}

function readType(v: unknown, field: string, name: string, problems: Problem[]): InputType | undefined {
  if (typeof v === "string" && (INPUT_TYPES as readonly string[]).includes(v)) return v as InputType;
  const got = v === undefined || v === null ? "nothing" : JSON.stringify(v);
  problems.push({ stepId: "", field, message: `input "${name}": type must be one of ${INPUT_TYPES.join(", ")}, got ${got}` });
  return undefined;
}

/**
 * Checks declarations that parsed (both forms): names usable as
 * `inputs.<name>`, a default of the declared type, and no default on a
 * required input (it could never apply, so one of the two is a mistake).
 */
export function checkDeclarations(decls: InputDeclarations, path = "workflow.inputs"): Problem[] {
  const problems: Problem[] = [];
  for (const [name, d] of Object.entries(decls)) {
    const at = `${path}.${name}`;
    if (!INPUT_NAME_PATTERN.test(name)) {
      problems.push({ stepId: "", field: at, message: `input "${name.slice(0, 64)}": a name must start with a letter or _ and contain only letters, digits and _ (at most 128)` });
    }
    if (!(INPUT_TYPES as readonly string[]).includes(d.type)) {
      problems.push({ stepId: "", field: `${at}.type`, message: `input "${name}": type must be one of ${INPUT_TYPES.join(", ")}, got ${JSON.stringify(d.type)}` });
      continue;
    }
    if (d.default !== undefined) {
      if (d.required) problems.push({ stepId: "", field: `${at}.default`, message: `input "${name}": a required input has no default (drop required or the default)` });
      else if (typeOf(d.default) !== d.type) problems.push({ stepId: "", field: `${at}.default`, message: `input "${name}": the default must be ${article(d.type)}, got ${article(typeOf(d.default))}` });
    }
  }
  return problems;
}

function article(t: string): string {
  return t === "null" ? "null" : `${/^[aeiou]/.test(t) ? "an" : "a"} ${t}`;
}

export interface ApplyOptions {
  /**
   * Inputs not declared are kept as given instead of refused. A
   * sub-workflow's inputs are its parent step's dependency outputs, which
   * the parent cannot choose, so only its declared ones are checked.
   */
  keepUndeclared?: boolean;
}

/**
 * The inputs a run starts with: `given` checked against `decls` (every
 * required one present, each of its declared type, none undeclared unless
 * keepUndeclared) with the defaults filled in. With no declarations the
 * inputs are returned as given. Problems name the input; their field is
 * `inputs.<name>`.
 */
export function applyInputs(
  decls: InputDeclarations | undefined,
  given: Record<string, JsonValue>,
  options: ApplyOptions = {},
): { inputs: Record<string, JsonValue>; problems: Problem[] } {
  if (!decls || Object.keys(decls).length === 0) return { inputs: given, problems: [] };
  const problems: Problem[] = [];
  const inputs: Record<string, JsonValue> = {};
  for (const [name, value] of Object.entries(given)) {
    const d = Object.hasOwn(decls, name) ? decls[name] : undefined;
    if (!d) {
      if (options.keepUndeclared) inputs[name] = value;
      else problems.push({ stepId: "", field: `inputs.${name}`, message: `input "${name.slice(0, 64)}" is not declared in workflow.inputs (declared: ${Object.keys(decls).join(", ")})` });
      continue;
    }
    const t = typeOf(value);
    if (t !== d.type) problems.push({ stepId: "", field: `inputs.${name}`, message: `input "${name}" must be ${article(d.type)}, got ${article(t)}` });
    else inputs[name] = value;
  }
  for (const [name, d] of Object.entries(decls)) {
    if (Object.hasOwn(given, name)) continue;
    if (d.default !== undefined) inputs[name] = d.default;
    else if (d.required) problems.push({ stepId: "", field: `inputs.${name}`, message: `input "${name}" is required (${article(d.type)}${d.description ? `: ${d.description}` : ""})` });
  }
  return { inputs, problems };
}

/**
 * The value of `--input name=text` for an input declared `type`: a string
 * as written, a number or boolean parsed, an object or array read as JSON.
 * An error names the input.
 */
export function parseInputText(name: string, type: InputType, text: string): { value: JsonValue } | { error: string } {
  switch (type) {
    case "string":
      return { value: text };
    case "number": {
      const n = text.trim() === "" ? NaN : Number(text);
      return Number.isFinite(n) ? { value: n } : { error: `input "${name}" is declared number, got "${text}"` };
    }
    case "boolean":
      if (text === "true") return { value: true };
      if (text === "false") return { value: false };
      return { error: `input "${name}" is declared boolean, got "${text}" (use true or false)` };
    case "object":
    case "array": {
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch {
        return { error: `input "${name}" is declared ${type}, and "${text.slice(0, 80)}" is not JSON` };
      }
      return typeOf(v) === type ? { value: v as JsonValue } : { error: `input "${name}" is declared ${type}, got ${article(typeOf(v))}` };
    }
  }
}
