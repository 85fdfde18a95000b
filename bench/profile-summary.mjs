// Summarises a .cpuprofile: self time by function and by file (top N).
import { readFileSync } from "node:fs";
const prof = JSON.parse(readFileSync(process.argv[2], "utf8"));
const top = Number(process.argv[3] ?? 40);
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = prof.timeDeltas;
for (let i = 0; i < prof.samples.length; i++) {
  const n = byId.get(prof.samples[i]);
  self.set(n.id, (self.get(n.id) ?? 0) + (dt[i] ?? 0));
}
const fn = new Map(), file = new Map();
let total = 0;
for (const [id, us] of self) {
  const n = byId.get(id);
  const cf = n.callFrame;
  const f = (cf.url || "(native)").replace(/^.*\/(node_modules|dist)\//, "$1/");
  const key = `${cf.functionName || "(anon)"} ${f}:${cf.lineNumber + 1}`;
  fn.set(key, (fn.get(key) ?? 0) + us);
  file.set(f, (file.get(f) ?? 0) + us);
  total += us;
}
const show = (m, n) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, us]) => `${(us / 1000).toFixed(0).padStart(7)} ms ${(100 * us / total).toFixed(1).padStart(5)}%  ${k}`).join("\n");
console.log(`total ${(total / 1000).toFixed(0)} ms\n-- by function --\n${show(fn, top)}\n-- by file --\n${show(file, 25)}`);
