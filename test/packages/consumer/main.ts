// The scratch project's program (test/packages/packages.test.ts copies it
// next to the READMEs' examples and compiles them together, strictly):
// runs the examples against the coordinator at argv[2] and prints what they
// returned as one JSON line.
import { startCoordinator, type RunningCoordinator } from "horus-coordinator";
import type { Plain, Step } from "horus-client-node";
import { planOf } from "./api-example.js";
import { example } from "./node-example.js";

const url = process.argv[2]!;
const node = await example(url);
const plan = await planOf(url, "workflow:\n  name: p\n  steps:\n    - { id: a, runner: noop }\n    - { id: b, runner: noop, depends_on: [a] }\n    - { id: c, runner: noop, depends_on: [a] }\n");

// A step as the client returns it: its output is plain JSON, `unknown`.
const output: Plain<Step>["output"] = node.outputs.sum;
const sum: number = typeof output === "number" ? output : Number.NaN;

// The coordinator's public entry point, from the installed package.
const own: RunningCoordinator = await startCoordinator({ port: 0 });
const embedded = own.url;
await own.close();

// Its internals are not importable (package.json "exports").
let internal = "importable";
const path: string = "horus-coordinator/dist/src/cli/main.js";
try {
  await import(path);
} catch (err) {
  internal = (err as { code?: string }).code ?? String(err);
}

process.stdout.write(JSON.stringify({ node, plan, sum, embedded, internal }) + "\n");
