// Reading what a user hands a command: workflow files, and inputs from
// --input pairs and --inputs files. Every problem is one CliError naming the
// file or the flag.
import { readFile } from "node:fs/promises";
import type { JsonMap, JsonValue } from "../common/json.js";
import { parseInputText } from "../workflow/inputs.js";
import { parseWorkflowYaml } from "../workflow/parse.js";
import { CliError } from "./errors.js";

export async function readDefinition(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read ${file}: ${code === "ENOENT" ? "no such file" : code ?? String(err)}`);
  }
}

/**
 * `--input key=value` and `--inputs file.json`. A value is converted by its
 * input's declared type when the workflow declares it (`yaml`: the
 * definition), else parsed as JSON when it is JSON.
 */
export async function collectInputs(pairs: string[], file: string | undefined, yaml?: string): Promise<JsonMap> {
  const declared = yaml === undefined ? undefined : parseWorkflowYaml(yaml).definition?.inputs;
  const inputs: JsonMap = {};
  if (file) {
    const text = await readDefinition(file);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new CliError(`${file} is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new CliError(`${file} must hold a JSON object`);
    Object.assign(inputs, parsed);
  }
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new CliError(`--input expects key=value, got "${pair}"`);
    const raw = pair.slice(eq + 1);
    const key = pair.slice(0, eq);
    const decl = declared && Object.hasOwn(declared, key) ? declared[key] : undefined;
    if (decl) {
      const got = parseInputText(key, decl.type, raw);
      if ("error" in got) throw new CliError(`--input ${got.error}`);
      inputs[key] = got.value;
      continue;
    }
    let value: JsonValue;
    try {
      value = JSON.parse(raw) as JsonValue;
    } catch {
      value = raw;
    }
    inputs[key] = value;
  }
  return inputs;
}
