// Step logs end to end through the real `horus` binary: a coordinator
// process started with --max-log-lines and --log-level debug, a shell step's
// lines read back in order (capped, with the truncation marker), `horus logs
// --follow` streaming a line that is written only after the stream is open
// (a file gate, no timing), and the coordinator's JSON log lines carrying
// workflow and step ids.
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CoordinatorService } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { exited, horus, horusServer, HORUS } from "../helpers/cli.js";
import { waitForEnd, type CoordinatorClient } from "../helpers/coordinator.js";
import { until } from "../helpers/wait.js";

let coord: { child: ChildProcess; url: string; output: () => string };
let client: CoordinatorClient;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "horus-logs-"));
  coord = await horusServer(["coordinator", "--port", "0", "--max-log-lines", "5", "--log-level", "debug"]);
  client = createClient(CoordinatorService, createConnectTransport({ baseUrl: coord.url, httpVersion: "1.1" }));
});

afterAll(async () => {
  coord?.child.kill("SIGTERM");
  if (coord) await exited(coord.child);
  rmSync(dir, { recursive: true, force: true });
});

async function submit(yaml: string): Promise<string> {
  return (await client.submitWorkflow({ definition: { case: "yaml", value: yaml } })).workflowId;
}

describe("step logs through the CLI", () => {
  it("keeps a shell step's lines in order up to --max-log-lines, then one truncation marker", async () => {
    const id = await submit(`workflow:\n  name: chatty\n  steps:\n    - { id: sh, runner: shell, payload: "for i in 1 2 3 4 5 6 7 8; do echo line $i; done" }\n`);
    await waitForEnd(client, id);
    const r = await horus(["--coordinator", coord.url, "logs", id, "--step", "sh"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual([
      ...["line 1", "line 2", "line 3", "line 4", "line 5"].map((l) => `sh | ${l}`),
      "sh | [log truncated: more than 5 lines for this attempt]",
    ]);
  });

  it("horus logs --follow streams a line written after it started, and ends with the workflow", async () => {
    const gate = join(dir, "gate");
    const id = await submit(
      `workflow:\n  name: gated\n  steps:\n    - { id: g, runner: shell, payload: "echo before; while [ ! -e ${gate} ]; do sleep 0.05; done; echo after" }\n`,
    );
    const child = spawn(process.execPath, [...HORUS, "--coordinator", coord.url, "logs", id, "--follow"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const sawBefore = new Promise<void>((resolve) =>
      child.stdout.on("data", (d) => {
        out += d;
        if (out.includes("before")) resolve();
      }),
    );
    await sawBefore;
    // "after" does not exist yet: it can only arrive through the open stream.
    expect(out).not.toContain("after");
    writeFileSync(gate, "");
    expect(await exited(child)).toBe(0);
    const lines = out.trim().split("\n");
    expect(lines.findIndex((l) => l.includes("before"))).toBeLessThan(lines.findIndex((l) => l.includes("after")));
  });

  it("writes JSON log lines with workflow and step ids", async () => {
    const id = await submit(`workflow:\n  name: logged\n  steps:\n    - { id: one, runner: js, payload: "1" }\n`);
    await waitForEnd(client, id);
    const parse = () =>
      coord
        .output()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    // The line is written once the final commit is stored, which is also
    // when watchers see the end: it may reach the pipe a moment later.
    await until(() => parse().find((r) => r.msg === "workflow state" && r.workflowId === id && r.state === "SUCCEEDED"));
    const records = parse();
    expect(records.find((r) => r.msg === "step state" && r.workflowId === id && r.stepId === "one" && r.state === "SUCCEEDED")).toBeDefined();
    // The embedded supervisor's job lines carry the same ids.
    expect(records.find((r) => r.msg === "job finished" && r.workflowId === id && r.stepId === "one" && r.supervisor === "embedded")).toBeDefined();
    expect(records.every((r) => typeof r.level === "number" && typeof r.time === "number")).toBe(true);
  });
});
