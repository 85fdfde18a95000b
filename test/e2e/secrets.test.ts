// Secrets end to end, as real processes: `horus supervisor --secret-file`
// and `horus coordinator` on a real Redis. A step using a secret sees its
// value while its logs and output show it masked; the value is nowhere in
// GetWorkflow, the logs, the event stream, or any key of the Redis; a step
// asking for a secret no supervisor holds waits with a reason, gets it after
// SIGHUP re-reads the file, and otherwise fails NO_SUPERVISOR; a bad file on
// reload keeps the old set. Nothing is mocked; no assertion depends on timing.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn, type ChildProcess } from "node:child_process";
import { toJson } from "@bufbuild/protobuf";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WorkflowSchema } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { fromValue } from "../../src/common/json.js";
import { StepState } from "../../src/engine/states.js";
import { horus, kill9 } from "../helpers/cli.js";
import { coordinatorProcess, waitForEnd, WorkflowState, type CoordinatorProcess } from "../helpers/coordinator.js";
import { horusServer } from "../helpers/cli.js";
import { startRedis, type RedisServer } from "../helpers/redis.js";

const VALUE = "pg://app:hunter2-Q7x9@db.internal/prod";
const TOKEN = "tok-5f1e-9a7b-secret";

let dir: string;
let secretFile: string;
let redis: RedisServer;
let sup: { child: ChildProcess; url: string; output: () => string };
let coord: CoordinatorProcess;
let runner: { child: ChildProcess } | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "horus-secrets-e2e-"));
  secretFile = join(dir, "secrets.env");
  writeFileSync(secretFile, `# the database\nDB_URL=${VALUE}\n\n`);
  redis = await startRedis();
  sup = await horusServer(["supervisor", "--port", "0", "--name", "vault", "--secret-file", secretFile, "--log-level", "info", "--external-runner", "hero", "--redis-url", redis.url, "--redis-prefix", "secq"]);
  coord = await coordinatorProcess(["coordinator", "--port", "0", "--log-level", "warn", "--no-embedded", "--supervisor", sup.url, "--redis-url", redis.url, "--redis-prefix", "sec", "--unroutable-timeout", "15s"]);
}, 60_000);

afterAll(async () => {
  if (runner) await kill9(runner);
  if (coord) await kill9(coord);
  if (sup) await kill9(sup);
  await redis?.remove();
  rmSync(dir, { recursive: true, force: true });
});

async function until<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const got = await Promise.resolve().then(probe).catch(() => undefined);
    if (got) return got;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function submit(yaml: string): Promise<string> {
  return (await coord.client.submitWorkflow({ definition: { case: "yaml", value: yaml } })).workflowId;
}

/** Every log line of a workflow, as text. */
async function logsOf(id: string): Promise<string[]> {
  const lines: string[] = [];
  for await (const msg of coord.client.getWorkflowLogs({ workflowId: id })) lines.push(...msg.lines.map((l) => `${l.stepId}: ${l.line}`));
  return lines;
}

/** Every event of a workflow's log from the start (cursor "0-0", before the first Redis stream entry), as JSON text. */
async function eventsOf(id: string): Promise<string> {
  const out: unknown[] = [];
  const controller = new AbortController();
  for await (const msg of coord.client.watchWorkflow({ workflowId: id, cursor: "0-0" }, { signal: controller.signal, timeoutMs: 10_000 })) {
    out.push(msg.kind.value);
    if (msg.kind.case === "event" && msg.kind.value.kind.case === "workflow" && msg.kind.value.kind.value.state >= WorkflowState.SUCCEEDED) break;
    if (msg.kind.case === "snapshot" && msg.kind.value.state >= WorkflowState.SUCCEEDED) break;
  }
  controller.abort();
  return JSON.stringify(out, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v));
}

/** Whether any key of the Redis holds `needle` (strings, hashes, lists, sets, sorted sets, streams). */
async function redisHolds(needle: string): Promise<string[]> {
  const r = new Redis(redis.url);
  const found: string[] = [];
  try {
    const bytes = Buffer.from(needle);
    for (const key of await r.keys("*")) {
      const type = await r.type(key);
      let blobs: Buffer[] = [];
      if (type === "string") blobs = [(await r.getBuffer(key))!];
      else if (type === "hash") blobs = Object.values(await r.hgetallBuffer(key));
      else if (type === "list") blobs = await r.lrangeBuffer(key, 0, -1);
      else if (type === "set") blobs = await r.smembersBuffer(key);
      else if (type === "zset") blobs = await r.zrangeBuffer(key, "0", "-1");
      else if (type === "stream") blobs = (await r.xrangeBuffer(key, "-", "+")).flatMap(([, fields]) => fields);
      if (blobs.some((b) => Buffer.from(b).includes(bytes))) found.push(key);
    }
  } finally {
    r.disconnect();
  }
  return found;
}

describe("secrets, end to end", () => {
  it("shell and js steps see the value; logs, outputs and errors show ***; GetWorkflow, logs, events and Redis never hold it", async () => {
    const id = await submit(`workflow:
  name: uses-secret
  steps:
    - id: sh
      runner: shell
      secrets: [DB_URL]
      payload: |
        echo "connecting to $DB_URL"
        printf '%s' "$DB_URL" | sha256sum | cut -c1-64
    - id: js
      runner: js
      secrets: [DB_URL]
      payload: |
        console.log("js sees " + secrets.DB_URL);
        ({ url: secrets.DB_URL, length: secrets.DB_URL.length, hash: [...secrets.DB_URL].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 0) })
    - id: fails
      runner: js
      secrets: [DB_URL]
      payload: 'throw new Error("cannot connect to " + secrets.DB_URL)'
`);
    const wf = await waitForEnd(coord.client, id, 60_000);
    const step = (s: string) => wf.steps.find((x) => x.id === s)!;
    expect(step("sh").state).toBe(StepState.SUCCEEDED);
    expect(step("js").state).toBe(StepState.SUCCEEDED);
    expect(step("fails").state).toBe(StepState.FAILED);
    // Seen: each step reports a digest of the value it got (the value itself
    // is not in the definition, which the coordinator keeps).
    expect(fromValue(step("js").output)).toEqual({ url: "***", length: VALUE.length, hash: [...VALUE].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 0) });
    expect(fromValue(step("sh").output)).toBe(`connecting to ***\n${createHash("sha256").update(VALUE).digest("hex")}`);
    expect(step("fails").error?.message).toContain("cannot connect to ***");
    const logs = await logsOf(id);
    expect(logs).toContain("sh: connecting to ***");
    expect(logs).toContain("js: js sees ***");

    // Nowhere the coordinator reports or keeps.
    expect(JSON.stringify(toJson(WorkflowSchema, wf))).not.toContain("hunter2");
    expect(logs.join("\n")).not.toContain("hunter2");
    const events = await eventsOf(id);
    expect(events).toContain('"stepId":"js"');
    expect(events).toContain("cannot connect to ***");
    expect(events).not.toContain("hunter2");
    // The scan does read what the store keeps: the masked error is there.
    expect((await redisHolds("cannot connect to ***")).length).toBeGreaterThan(0);
    expect(await redisHolds("hunter2")).toEqual([]);
    // The record keeps the names the steps asked for, nothing more.
    expect(wf.spec!.steps[0]!.secrets).toEqual(["DB_URL"]);
    // Nor did the supervisor log it.
    expect(sup.output()).not.toContain("hunter2");
    // ListSupervisors shows which names each supervisor holds.
    const listed = (await coord.client.listSupervisors({})).supervisors.find((s) => s.name === "vault");
    expect(listed?.secrets).toEqual(["DB_URL"]);
  }, 90_000);

  it("a step asking for a secret no supervisor holds waits with a visible reason; SIGHUP adds it and the step runs", async () => {
    const id = await submit(`workflow:
  name: needs-token
  steps:
    - { id: t, runner: shell, secrets: [API_TOKEN], payload: 'echo "token $API_TOKEN"' }
`);
    const reason = await until("the waiting reason", async () => {
      const { workflow } = await coord.client.getWorkflow({ workflowId: id });
      return workflow!.steps[0]!.waitingReason || undefined;
    });
    expect(reason).toBe('waiting for a supervisor: none that can run runner "shell" holds secret API_TOKEN (runner "shell", secrets API_TOKEN)');

    writeFileSync(secretFile, `DB_URL=${VALUE}\nAPI_TOKEN=${TOKEN}\n`);
    sup.child.kill("SIGHUP");
    await until("the reload line", () => /secrets reloaded from .*: 2 held \(API_TOKEN, DB_URL\)/.test(sup.output()));
    const wf = await waitForEnd(coord.client, id, 60_000);
    expect(wf.state).toBe(WorkflowState.SUCCEEDED);
    expect(fromValue(wf.steps[0]!.output)).toBe("token ***");
    expect(await redisHolds(TOKEN)).toEqual([]);
  }, 90_000);

  it("a bad file on SIGHUP keeps the secrets held, with one line saying why", async () => {
    writeFileSync(secretFile, `DB_URL=${VALUE}\nthis line has no equals sign\n`);
    sup.child.kill("SIGHUP");
    const line = await until("the refusal line", () => /secrets not reloaded, keeping the 2 held: .*secrets\.env line 2: expected NAME=value/.exec(sup.output())?.[0]);
    expect(line).not.toContain("this line has no equals");
    const id = await submit(`workflow:
  name: still-has-token
  steps:
    - { id: t, runner: shell, secrets: [API_TOKEN, DB_URL], payload: 'echo "$API_TOKEN"' }
`);
    const wf = await waitForEnd(coord.client, id, 60_000);
    expect(wf.state).toBe(WorkflowState.SUCCEEDED);
    expect(fromValue(wf.steps[0]!.output)).toBe("***");
  }, 90_000);

  it("an external runner over the Redis queue gets the value in its job message; what it reports comes back masked", async () => {
    const child = spawn(process.execPath, ["clients/runner/dist/example.js"], {
      env: { ...process.env, REDIS_URL: redis.url, HORUS_REDIS_PREFIX: "secq", HORUS_RUNNER_NAME: "hero" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    runner = { child };
    let out = "";
    child.stderr.on("data", (d: Buffer) => (out += d));
    await until("the runner", () => out.includes("ready"));
    const id = await submit(`workflow:\n  name: external-secret\n  steps:\n    - { id: x, runner: hero, secrets: [DB_URL], payload: '{"secret": "DB_URL"}' }\n`);
    const wf = await waitForEnd(coord.client, id, 60_000);
    expect(wf.state).toBe(WorkflowState.SUCCEEDED);
    expect(fromValue(wf.steps[0]!.output)).toMatchObject({ secret: "***", length: VALUE.length });
    expect(await logsOf(id)).toContain("x: secret DB_URL is ***");
    // The job message (and the runner's reply) left the runner Redis with the job.
    expect(await redisHolds("hunter2")).toEqual([]);
  }, 90_000);

  it("a secret nobody ever holds fails the step NO_SUPERVISOR, naming the secret, as an unknown runner does", async () => {
    const id = await submit(`workflow:
  name: never-held
  steps:
    - { id: n, runner: shell, secrets: [NEVER_HELD], payload: 'echo hi' }
`);
    const wf = await waitForEnd(coord.client, id, 60_000);
    expect(wf.state).toBe(WorkflowState.FAILED);
    expect(wf.steps[0]!.error?.code).toBe("NO_SUPERVISOR");
    expect(wf.steps[0]!.error?.message).toMatch(/holds secret NEVER_HELD/);
  }, 90_000);
});

describe("--secret-file on the command line", () => {
  it("a bad file stops the supervisor at start with one line naming the line, never its text", async () => {
    const bad = join(dir, "bad.env");
    writeFileSync(bad, "GOOD=1\nhunter2 without a name\n");
    const r = await horus(["supervisor", "--port", "0", "--secret-file", bad]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toBe(`horus: --secret-file ${bad} line 2: expected NAME=value\n`);
    const missing = await horus(["supervisor", "--port", "0", "--secret-file", join(dir, "absent.env")]);
    expect(missing.stderr).toBe(`horus: --secret-file cannot read ${join(dir, "absent.env")}: no such file\n`);
  });

  it("horus coordinator --secret-file gives them to its in-process supervisor's steps, masked", async () => {
    const file = join(dir, "embedded.env");
    writeFileSync(file, `DB_URL=${VALUE}\n`);
    const c = await coordinatorProcess(["coordinator", "--port", "0", "--log-level", "warn", "--secret-file", file]);
    try {
      const { workflowId } = await c.client.submitWorkflow({ definition: { case: "yaml", value: `workflow:\n  name: embedded-secret\n  steps:\n    - { id: s, runner: shell, secrets: [DB_URL], payload: 'echo "$DB_URL" | wc -c; echo "$DB_URL"' }\n` } });
      const wf = await waitForEnd(c.client, workflowId, 60_000);
      expect(wf.state).toBe(WorkflowState.SUCCEEDED);
      expect(String(fromValue(wf.steps[0]!.output)).split("\n").map((l) => l.trim())).toEqual([String(VALUE.length + 1), "***"]);
      expect(JSON.stringify(toJson(WorkflowSchema, wf))).not.toContain("hunter2");
    } finally {
      await kill9(c);
    }
  }, 60_000);
});
