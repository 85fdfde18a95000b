// What commands print: results on stdout (so they can be piped), warnings on stderr.
import { styleFor } from "./colour.js";

export function print(text: string): void {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}

export function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
}

/** Submission warnings (e.g. a runner no supervisor offers) on stderr, so stdout stays the ids or the run. */
export function printWarnings(warnings: string[], prefix = ""): void {
  const style = styleFor(process.stderr);
  for (const w of warnings) process.stderr.write(`${style.warn("warning:")} ${prefix}${w}\n`);
}
