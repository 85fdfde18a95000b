// A Python gRPC client, first time: stubs generated over the whole of proto/
// with Debian's protoc and grpc_python_plugin, grpcio and protobuf from
// Debian's python3 packages, against a live coordinator. The stubs must not
// hold a top-level `grpc` package that would shadow grpcio (the vendored
// grpc/ protos live under proto/third_party/ for that), and the client runs
// submit -> watch to the end -> outputs.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningCoordinator } from "../../src/coordinator/app.js";
import { coordinator } from "../helpers/coordinator.js";

const run = promisify(execFile);
// Debian's python3, which has python3-grpcio; a python3 earlier on PATH (pyenv, venv) may not.
const PYTHON = "/usr/bin/python3";
const PROTOC = "/usr/bin/protoc";
const PLUGIN = "/usr/bin/grpc_python_plugin";

function protoFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? protoFiles(path.join(dir, e.name)) : e.name.endsWith(".proto") ? [path.join(dir, e.name)] : []));
}

let running: RunningCoordinator;
let out: string;
beforeAll(async () => {
  ({ running } = await coordinator());
  out = mkdtempSync(path.join(tmpdir(), "horus-python-"));
});
afterAll(async () => {
  await running.close();
  rmSync(out, { recursive: true, force: true });
});

describe("a Python gRPC client", () => {
  it("has Debian's protoc, grpc_python_plugin, grpcio and protobuf (.ci/run and the global setup install them)", async () => {
    expect(existsSync(PROTOC), PROTOC).toBe(true);
    expect(existsSync(PLUGIN), PLUGIN).toBe(true);
    await run(PYTHON, ["-c", "import grpc, google.protobuf"]);
  });

  it("generates stubs over all of proto/ that import cleanly, and runs submit, watch to the end, outputs", async () => {
    await run(PROTOC, ["-I", "proto", `--python_out=${out}`, `--grpc_python_out=${out}`, `--plugin=protoc-gen-grpc_python=${PLUGIN}`, ...protoFiles("proto")]);
    // Nothing generated may be importable as `grpc`: it would hide grpcio.
    expect(readdirSync(out).sort()).not.toContain("grpc");
    expect(existsSync(path.join(out, "horus/coordinator/v1/coordinator_pb2_grpc.py"))).toBe(true);
    // Every generated module imports (a generated grpc/ would break the grpc/ ones: `grpc` is grpcio).
    const importAll = [
      "import importlib, pathlib, sys",
      "root = pathlib.Path(sys.argv[1])",
      "for f in sorted(root.rglob('*.py')):",
      "    importlib.import_module('.'.join(f.relative_to(root).with_suffix('').parts))",
      "print('ok')",
    ].join("\n");
    const imported = await run(PYTHON, ["-c", importAll, out], { env: { ...process.env, PYTHONPATH: out, PYTHONDONTWRITEBYTECODE: "1" } });
    expect(imported.stdout.trim()).toBe("ok");

    const yaml = [
      "workflow:",
      "  name: from-python",
      "  steps:",
      '    - { id: double, runner: js, payload: "inputs.n * 2" }',
      '    - { id: plus, runner: js, depends_on: [double], payload: "({ sum: input.double + 2, list: [1, null, \'x\'] })" }',
      "",
    ].join("\n");
    const target = new URL(running.url).host;
    const child = run(PYTHON, ["test/interop/python_client.py", target], { env: { ...process.env, PYTHONPATH: out, PYTHONDONTWRITEBYTECODE: "1" }, timeout: 90_000 });
    child.child.stdin!.end(yaml);
    const { stdout } = await child;
    const result = JSON.parse(stdout.trim().split("\n").at(-1)!);
    expect(result.grpc_module).not.toContain(out); // grpcio, not a generated package
    expect(result.workflow_id).toMatch(/^wf_/);
    expect(result.states[0]).toMatch(/^WORKFLOW_STATE_/);
    expect(result.states.at(-1)).toBe("WORKFLOW_STATE_SUCCEEDED");
    expect(result.state).toBe("WORKFLOW_STATE_SUCCEEDED");
    expect(result.outputs).toEqual({ double: 40, plus: { sum: 42, list: [1, null, "x"] } });
    expect(result.unknown_method).toBe("UNIMPLEMENTED");
    expect(result.invalid_argument).toBe("INVALID_ARGUMENT");
  });
});
