// Copies the Lua scripts (src/**/*.lua) next to the compiled modules in
// dist/src, where they load them from (import.meta.url): tsc emits only
// what it compiles. Run by `npm run build`, the test setup and the bench
// builds, after tsc.
import { copyFileSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

export function copyLua(from = join(root, "src"), to = join(root, "dist", "src")) {
  const copied = [];
  // A walk of our own: readdirSync's `recursive` needs Node 20.1, and engines says 20.
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const source = join(dir, entry.name);
      if (entry.isDirectory()) walk(source);
      else if (entry.isFile() && entry.name.endsWith(".lua")) {
        const target = join(to, relative(from, source));
        mkdirSync(dirname(target), { recursive: true });
        copyFileSync(source, target);
        copied.push(target);
      }
    }
  };
  walk(from);
  return copied;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) copyLua();
