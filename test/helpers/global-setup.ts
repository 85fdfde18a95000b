// Compiles src/ to dist/ once before the suites: CLI tests run the real
// `horus` binary as child processes. Incremental, so repeat runs are quick.
import { execFileSync } from "node:child_process";

export default function setup(): void {
  execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.json", "--incremental", "--tsBuildInfoFile", "dist/.tsbuildinfo"], {
    stdio: "inherit",
  });
}
