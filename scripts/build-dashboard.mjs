// Bundles the dashboard page (src/dashboard/page) with esbuild into
// dist/dashboard/: app.js (the page's code with the typed web client) and
// index.html. Run by `npm run build` and by the test setup; the output is
// never committed.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

export async function buildDashboard(outDir = join(root, "dist", "dashboard")) {
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [join(root, "src/dashboard/page/app.ts")],
    outfile: join(outDir, "app.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: true,
    logLevel: "warning",
  });
  copyFileSync(join(root, "src/dashboard/page/index.html"), join(outDir, "index.html"));
  return outDir;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await buildDashboard();
