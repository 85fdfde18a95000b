// The workflow shapes the bench runs, as YAML for the coordinator. BullMQ
// expresses the same shapes as trees (bench/bullmq.ts, bench/README.md).

/** `width` parallel noop steps feeding one aggregate noop step. */
export function wideYaml(width: number, name = "wide"): string {
  const lines = ["workflow:", `  name: ${name}`, "  steps:"];
  for (let i = 0; i < width; i++) lines.push(`    - { id: s${i}, runner: noop }`);
  lines.push(`    - { id: agg, runner: noop, depends_on: [${Array.from({ length: width }, (_, i) => `s${i}`).join(", ")}] }`);
  return lines.join("\n") + "\n";
}

/** `length` noop steps, each depending on the one before. */
export function chainYaml(length: number, name = "chain"): string {
  const lines = ["workflow:", `  name: ${name}`, "  steps:", "    - { id: c0, runner: noop }"];
  for (let i = 1; i < length; i++) lines.push(`    - { id: c${i}, runner: noop, depends_on: [c${i - 1}] }`);
  return lines.join("\n") + "\n";
}

/** The 4-step workflow of "many": three parallel steps and their aggregate (a tree, as BullMQ has it). */
export const SMALL_YAML = wideYaml(3, "small");

/**
 * One `noop` step run once per item of a list of `count` numbers: the
 * workflow ends when every instance has, and the step's output is the list
 * of their outputs (BullMQ's counterpart is a parent job with `count`
 * children). The list is a CEL list literal in `for_each`, not a workflow
 * input: every job carries the workflow's inputs, so a list given as
 * `inputs` would be sent with each of its own items' jobs (bench/README.md).
 */
export function forEachYaml(count: number): string {
  const items = Array.from({ length: count }, (_, i) => i).join(", ");
  return `workflow:\n  name: for-each\n  steps:\n    - { id: each, runner: noop, for_each: "[${items}]" }\n`;
}
