// The client READMEs show their example.ts verbatim: the tests run that file,
// so the snippet users copy is the one that passed.
import { readFileSync } from "node:fs";

export function readmeSnippet(readmePath: string): string {
  const text = readFileSync(readmePath, "utf8");
  const m = /```ts\n([\s\S]*?)```/.exec(text);
  if (!m) throw new Error(`${readmePath} has no ts code block`);
  return m[1]!;
}
