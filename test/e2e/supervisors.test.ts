// Many supervisors as real processes: load spread within capacity, kill -9
// of a supervisor mid-run, registration and heartbeat expiry, pinning and
// label routing, and external runner processes over Redis killed mid-job.
// Nothing is mocked; no assertion depends on timing.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, describe, expect, it } from "vitest";
import { CoordinatorService } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { JobState, SupervisorService } from "../../gen/horus/coordinator/v1/supervisor_pb.js";
import { StepState as S } from "../../src/engine/states.js";
import { fromValue } from "../../src/common/json.js";
import { horus, horusServer, kill9 } from "../helpers/cli.js";
import { PROTOCOLS, waitForEnd, WorkflowState, type CoordinatorClient } from "../helpers/coordinator.js";
import { tcpProxy } from "../helpers/proxy.js";
import { sharedRedisUrl, stopSharedRedis } from "../helpers/redis.js";
import { alive } from "../helpers/wait.js";

interface Proc {
  child: ChildProcess;
  url: string;
  output: () => string;
}

const procs: Proc[] = [];
afterAll(async () => {
  for (const p of procs) await kill9(p);
  await stopSharedRedis();
});

async function server(args: string[]): Promise<Proc> {
  const p = await horusServer(args);
  procs.push(p);
  return p;
}

function supervisorArgs(name: string, extra: string[] = []): string[] {
  return ["supervisor", "--port", "0", "--name", name, "--log-level", "warn", ...extra];
}

function coordinatorClient(url: string): CoordinatorClient {
  return createClient(CoordinatorService, PROTOCOLS["connect+binary over h2c"](url));
}

function supervisorClient(url: string): Client<typeof SupervisorService> {
  return createClient(SupervisorService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const got = await probe().catch(() => undefined);
    if (got) return got;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A workflow of `n` independent steps plus one join, all short. */
function fanOut(name: string, n: number, runner: string, payload: string): string {
  const steps = Array.from({ length: n }, (_, i) => `    - { id: s${i}, runner: ${runner}, payload: ${JSON.stringify(payload)} }`);
  return `workflow:\n  name: ${name}\n  steps:\n${steps.join("\n")}\n    - { id: join, runner: noop, depends_on: [${Array.from({ length: n }, (_, i) => `s${i}`).join(", ")}] }\n`;
}

async function submitAll(client: CoordinatorClient, yamls: string[]): Promise<string[]> {
  const res = await Promise.all(yamls.map((value) => client.submitWorkflow({ definition: { case: "yaml", value } })));
  return res.map((r) => r.workflowId);
}

describe("many supervisors", () => {
  it("two coordinators sharing one supervisor never hold more of its slots together than its capacity (credits over the Link)", async () => {
    const sup = await server(supervisorArgs("shared", ["--capacity", "3"]));
    const coords = await Promise.all([1, 2].map(() => server(["coordinator", "--port", "0", "--log-level", "warn", "--no-embedded", "--supervisor", sup.url])));
    const clients = coords.map((c) => coordinatorClient(c.url));
    // Each coordinator alone could fill all 3 slots: 2 x 24 shell steps keep both saturated.
    const ids = await Promise.all(clients.map((c, k) => submitAll(c, Array.from({ length: 4 }, (_, i) => fanOut(`shared-${k}-${i}`, 6, "shell", "sleep 0.05; echo 1")))));
    const finals = await Promise.all(ids.flatMap((list, k) => list.map((id) => waitForEnd(clients[k]!, id, 120_000))));
    expect(finals.filter((w) => w.state !== WorkflowState.SUCCEEDED)).toEqual([]);
    const shell = (await supervisorClient(sup.url).describeSupervisor({})).runners.find((r) => r.name === "shell")!;
    expect(Number(shell.accepted)).toBe(48);
    expect(shell.maxHeld).toBeLessThanOrEqual(3);
    expect(shell.maxRunning).toBe(3);
  }, 180_000);

  it("three supervisors of equal capacity share 300 steps within ±20% of a third each, none ever above its capacity", async () => {
    const sups = await Promise.all(["even1", "even2", "even3"].map((n) => server(supervisorArgs(n, ["--capacity", "4"]))));
    const coord = await server(["coordinator", "--port", "0", "--log-level", "warn", ...sups.flatMap((s) => ["--supervisor", s.url])]);
    const client = coordinatorClient(coord.url);
    // 30 workflows x (9 shell + 1 noop) = 300 steps.
    const ids = await submitAll(client, Array.from({ length: 30 }, (_, i) => fanOut(`even-${i}`, 9, "shell", "sleep 0.02; echo 1")));
    const finals = await Promise.all(ids.map((id) => waitForEnd(client, id, 120_000)));
    expect(finals.filter((w) => w.state !== WorkflowState.SUCCEEDED)).toEqual([]);

    const described = await Promise.all(sups.map((s) => supervisorClient(s.url).describeSupervisor({})));
    const accepted = described.map((d) => d.runners.reduce((sum, r) => sum + Number(r.accepted), 0));
    expect(accepted.reduce((a, b) => a + b, 0)).toBe(300);
    for (const n of accepted) {
      expect(n).toBeGreaterThanOrEqual(80);
      expect(n).toBeLessThanOrEqual(120);
    }
    for (const d of described) {
      for (const r of d.runners) {
        expect(r.maxRunning, `${d.name} ${r.name}`).toBeLessThanOrEqual(r.capacity);
        expect(r.maxHeld, `${d.name} ${r.name}`).toBeLessThanOrEqual(r.capacity);
      }
    }
    // Saturated: the coordinator kept the rest waiting, so every supervisor reached its capacity.
    for (const d of described) expect(d.runners.find((r) => r.name === "shell")!.maxHeld).toBe(4);
    const listed = await horus(["--coordinator", coord.url, "supervisors"]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/even1\s+up\s+static/);
    for (const s of sups) await kill9(s);
    await kill9(coord);
  }, 150_000);

  it("kill -9 of a supervisor mid-run: every workflow completes, its jobs run elsewhere as new attempts marked ATTEMPT_LOST, no step fails", async () => {
    const sups = await Promise.all(["k1", "k2", "k3"].map((n) => server(supervisorArgs(n, ["--capacity", "4"]))));
    const coord = await server(["coordinator", "--port", "0", "--log-level", "warn", "--supervisor-timeout", "2s", ...sups.flatMap((s) => ["--supervisor", s.url])]);
    const client = coordinatorClient(coord.url);
    const ids = await submitAll(client, Array.from({ length: 12 }, (_, i) => fanOut(`kill-${i}`, 4, "shell", "sleep 0.3; echo 1")));
    // Wait until a step runs on the victim as far as the workflow knows
    // (its acceptance recorded), then kill it under it.
    const victim = sups[1]!;
    await until("a step running on k2", async () => {
      for (const id of ids) {
        const wf = (await client.getWorkflow({ workflowId: id })).workflow!;
        if (wf.steps.some((s) => s.state === S.RUNNING && s.supervisor === "k2")) return true;
      }
      return false;
    });
    await kill9(victim);

    const finals = await Promise.all(ids.map((id) => waitForEnd(client, id, 120_000)));
    expect(finals.filter((w) => w.state !== WorkflowState.SUCCEEDED).map((w) => w.error)).toEqual([]);
    let lost = 0;
    for (const wf of finals) {
      for (const step of wf.steps) {
        const history = step.attemptHistory;
        // Every attempt before the last was lost, never failed: no retry budget used.
        for (const a of history.slice(0, -1)) {
          expect(a.error?.code, `${wf.id} ${step.id}`).toBe("ATTEMPT_LOST");
          expect(a.supervisor, `${wf.id} ${step.id}: an attempt lost on a live supervisor; the coordinator's log:\n${coord.output()}`).toBe("k2");
          lost++;
        }
        expect(history.at(-1)!.state).toBe(S.SUCCEEDED);
        if (history.length > 1) expect(history.at(-1)!.supervisor).not.toBe("k2");
      }
    }
    expect(lost, `${coord.output()}\n${JSON.stringify(finals.map((w) => w.steps.map((s) => `${s.id}:${s.supervisor}:${s.attempts}`)))}`).toBeGreaterThan(0);
    const listed = await client.listSupervisors({});
    expect(listed.supervisors.find((s) => s.name === "k2")?.health).toBe("down");
    for (const s of sups) await kill9(s);
    await kill9(coord);
  }, 150_000);

  it("a job whose dispatch got no answer (the link froze after the request left) and that is then cancelled is stopped on that supervisor", async () => {
    const sup = await server(supervisorArgs("f1"));
    const proxy = await tcpProxy(Number(new URL(sup.url).port));
    const coord = await server(["coordinator", "--port", "0", "--log-level", "warn", "--supervisor-timeout", "600ms", "--no-embedded", "--supervisor", `http://127.0.0.1:${proxy.port}`]);
    const client = coordinatorClient(coord.url);
    const pidFile = join(mkdtempSync(join(tmpdir(), "horus-frozen-")), "pid");
    try {
      await until("the supervisor up", async () => (await client.listSupervisors({})).supervisors.some((s) => s.health === "up"));
      // Requests still reach the supervisor, its answers no longer come back.
      proxy.freeze();
      const yaml = `workflow:\n  name: frozen\n  steps:\n    - { id: s, runner: shell, payload: 'echo $$ > ${pidFile}; exec sleep 60' }\n`;
      const { workflowId } = await client.submitWorkflow({ definition: { case: "yaml", value: yaml } });
      const pid = await until("the job running", async () => Number(readFileSync(pidFile, "utf8").trim()) || undefined);
      // The coordinator never heard back: it declares the supervisor down and holds the attempt to send again.
      await until("the supervisor down", async () => (await client.listSupervisors({})).supervisors.some((s) => s.health === "down"));
      const res = await client.cancelWorkflow({ workflowId, reason: "stop" });
      expect(res.state).toBe(WorkflowState.CANCELLED);
      proxy.thaw();
      // The cancel reaches the supervisor once it answers again, and the job stops.
      await until("the job stopped", async () => !alive(pid), 20_000);
    } finally {
      await proxy.close();
      await kill9(coord);
      await kill9(sup);
    }
  }, 60_000);

  it("a job whose dispatch got no answer runs once elsewhere: the stale copy is stopped and its cancellation is not taken for the attempt's result", async () => {
    const f1 = await server(supervisorArgs("g1"));
    const proxy = await tcpProxy(Number(new URL(f1.url).port));
    const coord = await server(["coordinator", "--port", "0", "--log-level", "warn", "--supervisor-timeout", "600ms", "--supervisor", `http://127.0.0.1:${proxy.port}`]);
    const client = coordinatorClient(coord.url);
    try {
      await until("g1 up", async () => (await client.listSupervisors({})).supervisors.some((s) => s.health === "up"));
      proxy.freeze();
      const yaml = `workflow:\n  name: stale-copy\n  steps:\n    - { id: s, runner: shell, payload: 'sleep 3; echo done' }\n`;
      const { workflowId } = await client.submitWorkflow({ definition: { case: "yaml", value: yaml } });
      await until("g1 down", async () => (await client.listSupervisors({})).supervisors.some((s) => s.health === "down"));
      // A second supervisor joins: the attempt, never acknowledged, goes there under the same id.
      await server(supervisorArgs("g2", ["--register", coord.url]));
      await until("the attempt accepted by g2", async () => (await client.getWorkflow({ workflowId })).workflow!.steps[0]!.supervisor === "g2");
      // g1 answers again: it gets the cancel of its copy, whose CANCELLED end must not count.
      proxy.thaw();
      const wf = await waitForEnd(client, workflowId, 30_000);
      expect(wf.state, JSON.stringify(wf.steps[0]?.error)).toBe(WorkflowState.SUCCEEDED);
      expect(wf.steps[0]!.attempts).toBe(1);
      expect(fromValue(wf.steps[0]!.output)).toBe("done");
    } finally {
      await proxy.close();
      await kill9(coord);
    }
  }, 60_000);

  it("a dispatch answered only after its supervisor was declared down (a stall, not a loss) is adopted there: the step runs once and succeeds", async () => {
    const sup = await server(supervisorArgs("h1"));
    const proxy = await tcpProxy(Number(new URL(sup.url).port));
    const coord = await server(["coordinator", "--port", "0", "--log-level", "warn", "--no-embedded", "--supervisor-timeout", "600ms", "--supervisor", `http://127.0.0.1:${proxy.port}`]);
    const client = coordinatorClient(coord.url);
    const marker = join(mkdtempSync(join(tmpdir(), "horus-stall-")), "runs");
    try {
      await until("h1 up", async () => (await client.listSupervisors({})).supervisors.some((s) => s.health === "up"));
      // The dispatch reaches the supervisor, its answer (and every other) is held back.
      proxy.hold();
      const yaml = `workflow:\n  name: stall\n  steps:\n    - { id: s, runner: shell, payload: 'echo run >> ${marker}; sleep 1; echo done' }\n`;
      const { workflowId } = await client.submitWorkflow({ definition: { case: "yaml", value: yaml } });
      await until("h1 down", async () => (await client.listSupervisors({})).supervisors.some((s) => s.health === "down"));
      // The held answers arrive late, acceptance first: the job runs there and must not be stopped as a stale copy.
      proxy.release();
      const wf = await waitForEnd(client, workflowId, 30_000);
      expect(wf.state, JSON.stringify(wf.steps[0]?.error)).toBe(WorkflowState.SUCCEEDED);
      expect(fromValue(wf.steps[0]!.output)).toBe("done");
      expect(readFileSync(marker, "utf8").trim().split("\n")).toEqual(["run"]);
    } finally {
      await proxy.close();
      await kill9(coord);
    }
  }, 60_000);

  it("a dispatch whose answer was cut is not sent to another supervisor while the first can still say it has the job: the step runs once", async () => {
    const h1 = await server(supervisorArgs("u1"));
    const h2 = await server(supervisorArgs("u2"));
    const p1 = await tcpProxy(Number(new URL(h1.url).port));
    const p2 = await tcpProxy(Number(new URL(h2.url).port));
    // u2 is unreachable at first, so the job can only go to u1.
    p2.block();
    const coord = await server(["coordinator", "--port", "0", "--log-level", "warn", "--no-embedded", "--supervisor-timeout", "5s", "--supervisor", `http://127.0.0.1:${p1.port}`, "--supervisor", `http://127.0.0.1:${p2.port}`]);
    const client = coordinatorClient(coord.url);
    const marker = join(mkdtempSync(join(tmpdir(), "horus-uncertain-")), "runs");
    try {
      await until("u1 up", async () => (await client.listSupervisors({})).supervisors.some((s) => s.name === "u1" && s.health === "up"));
      // The dispatch reaches u1; its answer is held back, then the connection is cut under it.
      p1.hold();
      const yaml = `workflow:\n  name: uncertain\n  steps:\n    - { id: s, runner: shell, payload: 'echo run >> ${marker}; sleep 2; echo done' }\n`;
      const { workflowId } = await client.submitWorkflow({ definition: { case: "yaml", value: yaml } });
      await until("the job running on u1", async () => readFileSync(marker, "utf8").includes("run"));
      // u2 can take jobs now, and the dispatch to u1 fails without an answer.
      p2.unblock();
      await until("u2 up", async () => (await client.listSupervisors({})).supervisors.some((s) => s.name === "u2" && s.health === "up"));
      p1.cut();
      p1.release();
      const wf = await waitForEnd(client, workflowId, 30_000);
      expect(wf.state, JSON.stringify(wf.steps[0]?.error)).toBe(WorkflowState.SUCCEEDED);
      expect(readFileSync(marker, "utf8").trim().split("\n")).toEqual(["run"]);
      expect(wf.steps[0]!.attemptHistory.map((a) => a.supervisor)).toEqual(["u1"]);
    } finally {
      await p1.close();
      await p2.close();
      await kill9(coord);
    }
  }, 60_000);

  it("a coordinator that dies before its cancel reached the job: the client's retried cancel, through another coordinator, stops it", async () => {
    const redisUrl = await sharedRedisUrl();
    const prefix = `restop${process.pid}`;
    const sup = await server(supervisorArgs("r1"));
    const proxy = await tcpProxy(Number(new URL(sup.url).port));
    const coordArgs = ["coordinator", "--port", "0", "--log-level", "warn", "--redis-url", redisUrl, "--redis-prefix", prefix, "--supervisor", `http://127.0.0.1:${proxy.port}`];
    const a = await server(coordArgs);
    const pidFile = join(mkdtempSync(join(tmpdir(), "horus-restop-")), "pid");
    try {
      const yaml = `workflow:\n  name: restop\n  steps:\n    - { id: s, runner: shell, payload: 'echo $$ > ${pidFile}; exec sleep 60' }\n`;
      const { workflowId } = await coordinatorClient(a.url).submitWorkflow({ definition: { case: "yaml", value: yaml } });
      const pid = await until("the job running", async () => Number(readFileSync(pidFile, "utf8").trim()) || undefined);
      // The supervisor becomes unreachable: A stores the cancellation but cannot tell the job, then dies.
      proxy.block();
      expect((await coordinatorClient(a.url).cancelWorkflow({ workflowId, reason: "stop" })).state).toBe(WorkflowState.CANCELLED);
      await kill9(a);
      proxy.unblock();
      expect(alive(pid)).toBe(true);
      const b = await server(coordArgs);
      expect((await coordinatorClient(b.url).cancelWorkflow({ workflowId, reason: "stop" })).state).toBe(WorkflowState.CANCELLED);
      await until("the job stopped", async () => !alive(pid), 20_000);
      await kill9(b);
    } finally {
      await proxy.close();
      await kill9(sup);
    }
  }, 60_000);

  it("a supervisor registered at run time receives jobs, is seen by every coordinator on the Redis, and is removed when it stops heartbeating", async () => {
    const redisUrl = await sharedRedisUrl();
    const prefix = `regtest${process.pid}`;
    const base = await server(supervisorArgs("base", ["--capacity", "2"]));
    const coordArgs = ["coordinator", "--port", "0", "--log-level", "warn", "--redis-url", redisUrl, "--redis-prefix", prefix, "--supervisor", base.url, "--registration-lease", "1s", "--supervisor-timeout", "1s"];
    const a = await server(coordArgs);
    const b = await server(coordArgs);
    const ca = coordinatorClient(a.url);
    const cb = coordinatorClient(b.url);
    const joiner = await server(supervisorArgs("joiner", ["--capacity", "2", "--register", a.url]));
    // Registered through A; B sees it too (the registration is in Redis).
    await until("joiner listed by B", async () => (await cb.listSupervisors({})).supervisors.find((s) => s.name === "joiner" && s.health === "up"));
    const listed = (await cb.listSupervisors({})).supervisors.find((s) => s.name === "joiner")!;
    expect(listed.source).toBe("registered");
    expect(listed.url).toBe(joiner.url);
    expect(listed.leaseExpiresAt).toBeDefined();

    // Work for a while (16 x 0.2 s on base's 2 slots alone): a joiner's first credits take a round trip or two on a loaded machine.
    const ids = await submitAll(cb, Array.from({ length: 4 }, (_, i) => fanOut(`reg-${i}`, 4, "shell", "sleep 0.2; echo 1")));
    const finals = await Promise.all(ids.map((id) => waitForEnd(cb, id, 60_000)));
    expect(finals.every((w) => w.state === WorkflowState.SUCCEEDED)).toBe(true);
    expect(finals.flatMap((w) => w.steps.map((s) => s.supervisor))).toContain("joiner");

    // Stop it (SIGSTOP: alive but silent, so no heartbeat): both coordinators drop it.
    joiner.child.kill("SIGSTOP");
    await until("joiner removed from A", async () => !(await ca.listSupervisors({})).supervisors.some((s) => s.name === "joiner"));
    await until("joiner removed from B", async () => !(await cb.listSupervisors({})).supervisors.some((s) => s.name === "joiner"));
    // It comes back by itself and is used again.
    joiner.child.kill("SIGCONT");
    await until("joiner back", async () => (await ca.listSupervisors({})).supervisors.find((s) => s.name === "joiner" && s.health === "up"), 30_000);
    const again = await waitForEnd(ca, (await ca.submitWorkflow({ definition: { case: "yaml", value: "workflow:\n  name: pinned-back\n  steps:\n    - { id: a, runner: noop, supervisor: joiner }\n" } })).workflowId, 30_000);
    expect(again.steps[0]!.supervisor).toBe("joiner");
    await kill9(a);
    await kill9(b);
  }, 120_000);

  it("a pinned step runs on its supervisor, a label-selected step on a matching one; an impossible pin waits visibly, then fails NO_SUPERVISOR", async () => {
    const east = await server(supervisorArgs("east", ["--label", "zone=east", "--label", "gpu=yes"]));
    const west = await server(supervisorArgs("west", ["--label", "zone=west"]));
    const plain = await server(supervisorArgs("plain"));
    const coord = await server(["coordinator", "--port", "0", "--log-level", "warn", "--unroutable-timeout", "1s", ...[east, west, plain].flatMap((s) => ["--supervisor", s.url])]);
    const client = coordinatorClient(coord.url);
    const steps = Array.from({ length: 10 }, (_, i) => `    - { id: pin${i}, runner: noop, supervisor: plain }\n    - { id: lab${i}, runner: js, payload: "1", labels: { zone: west } }\n    - { id: two${i}, runner: shell, payload: "echo 1", labels: { zone: east, gpu: "yes" } }`);
    const wf = await waitForEnd(client, (await client.submitWorkflow({ definition: { case: "yaml", value: `workflow:\n  name: routed\n  steps:\n${steps.join("\n")}\n` } })).workflowId, 60_000);
    expect(wf.state).toBe(WorkflowState.SUCCEEDED);
    for (const s of wf.steps) {
      const want = s.id.startsWith("pin") ? "plain" : s.id.startsWith("lab") ? "west" : "east";
      expect(s.supervisor, s.id).toBe(want);
    }
    expect(wf.spec!.steps[0]!.supervisor).toBe("plain");
    expect(wf.spec!.steps[1]!.labels).toEqual({ zone: "west" });

    const { workflowId } = await client.submitWorkflow({ definition: { case: "yaml", value: "workflow:\n  name: nowhere\n  steps:\n    - { id: lost, runner: noop, labels: { zone: mars } }\n" } });
    const reason = await until("a waiting reason", async () => {
      const got = (await client.getWorkflow({ workflowId })).workflow!;
      return got.steps[0]!.state === S.READY && got.steps[0]!.waitingReason;
    });
    expect(reason).toContain("labels zone=mars");
    const failed = await waitForEnd(client, workflowId, 30_000);
    expect(failed.state).toBe(WorkflowState.FAILED);
    expect(failed.steps[0]!.error?.code).toBe("NO_SUPERVISOR");

    const invalid = await client
      .submitWorkflow({ definition: { case: "yaml", value: "workflow:\n  name: bad\n  steps:\n    - { id: a, runner: noop, supervisor: [x], labels: nope }\n" } })
      .catch((e: Error) => e);
    expect(String(invalid)).toContain("invalid_argument");
    expect(String(invalid)).toContain('step "a": supervisor must be a supervisor name');
    expect(String(invalid)).toContain('step "a": labels must be a mapping');
    for (const p of [east, west, plain, coord]) await kill9(p);
  }, 90_000);

  it("an external runner process killed mid-job (kill -9): the job is re-queued and completes on another runner process", async () => {
    const redisUrl = await sharedRedisUrl();
    const prefix = `ext${process.pid}`;
    const sup = await server(supervisorArgs("ext", ["--external-runner", "hero", "--redis-url", redisUrl, "--redis-prefix", prefix, "--runner-lease", "1s"]));
    const coord = await server(["coordinator", "--port", "0", "--log-level", "warn", "--supervisor", sup.url]);
    const client = coordinatorClient(coord.url);
    const runners = await Promise.all([0, 1].map(() => startRunner(redisUrl, prefix, "hero")));

    const yaml = `workflow:\n  name: external\n  steps:\n    - { id: a, runner: noop }\n    - { id: slow, runner: hero, depends_on: [a], payload: '{"sleep_ms": 3000, "echo": "done"}' }\n`;
    const { workflowId } = await client.submitWorkflow({ definition: { case: "yaml", value: yaml } });
    // The runner process that took the job says so in the step's log.
    const taker = await until("a runner took the job", async () => {
      for await (const res of client.getWorkflowLogs({ workflowId, stepId: "slow" })) {
        for (const l of res.lines) {
          const m = /^worker \S+:(\d+) took/.exec(l.line);
          if (m) return Number(m[1]);
        }
      }
      return undefined;
    });
    const victim = runners.find((r) => r.child.pid === taker)!;
    expect(victim).toBeDefined();
    await kill9(victim);

    const wf = await waitForEnd(client, workflowId, 60_000);
    expect(wf.state).toBe(WorkflowState.SUCCEEDED);
    const slow = wf.steps[1]!;
    const out = fromValue(slow.output) as { echo: string; worker: string; input: unknown };
    expect(out.echo).toBe("done");
    expect(out.worker).not.toContain(`:${taker}`);
    expect(out.input).toEqual({ a: {} });
    // Re-queued inside the supervisor: still the first attempt.
    expect(slow.attempts).toBe(1);
    const logs: string[] = [];
    for await (const res of client.getWorkflowLogs({ workflowId, stepId: "slow" })) logs.push(...res.lines.map((l) => l.line));
    expect(logs.some((l) => l.includes("re-queued"))).toBe(true);

    // A failing handler fails the step with its code.
    const failing = await waitForEnd(client, (await client.submitWorkflow({ definition: { case: "yaml", value: `workflow:\n  name: ext-fail\n  steps:\n    - { id: f, runner: hero, payload: '{"fail": true}' }\n` } })).workflowId, 30_000);
    expect(failing.steps[0]!.error?.code).toBe("EXAMPLE_FAILURE");
    for (const r of runners) await kill9(r);
    await kill9(sup);
    await kill9(coord);
  }, 90_000);

  it("a superseded stop of an external-runner job stops only that supervisor's copy: the same attempt on another supervisor still finishes", async () => {
    const redisUrl = await sharedRedisUrl();
    const prefix = `extcopy${process.pid}`;
    const ext = ["--external-runner", "hero", "--redis-url", redisUrl, "--redis-prefix", prefix];
    const [x1, x2] = [await server(supervisorArgs("x1", ext)), await server(supervisorArgs("x2", ext))];
    const runners = await Promise.all([0, 1].map(() => startRunner(redisUrl, prefix, "hero")));
    const job = { attemptId: "wf_copy.s.1", workflowId: "wf_copy", stepId: "s", attempt: 1, runner: "hero", payload: '{"sleep_ms": 1500, "echo": "done"}' };
    const [c1, c2] = [supervisorClient(x1!.url), supervisorClient(x2!.url)];
    await c1.dispatchJobs({ jobs: [job] });
    await c2.dispatchJobs({ jobs: [job] });
    const state = async (c: typeof c1) => (await c.getJobs({ attemptIds: [job.attemptId] })).jobs[0]!;
    await until("both copies running", async () => (await state(c1)).state === JobState.RUNNING && (await state(c2)).state === JobState.RUNNING);
    await c1.cancelJobs({ attemptIds: [job.attemptId], reason: "re-dispatched elsewhere", superseded: true });
    const one = await until("x1's copy stopped", async () => ((await state(c1)).state === JobState.FAILED ? state(c1) : undefined));
    expect(one.error).toMatchObject({ code: "ATTEMPT_LOST" });
    const two = await until("x2's copy finished", async () => {
      const j = await state(c2);
      return j.state === JobState.SUCCEEDED || j.state === JobState.FAILED ? j : undefined;
    });
    expect(two.error?.message ?? "", two.error?.code).toBe("");
    expect(two.state).toBe(JobState.SUCCEEDED);
    expect(fromValue(two.output)).toMatchObject({ echo: "done" });
    for (const r of runners) await kill9(r);
  }, 60_000);
});

function startRunner(redisUrl: string, prefix: string, name: string): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["clients/runner/dist/example.js"], {
      env: { ...process.env, REDIS_URL: redisUrl, HORUS_REDIS_PREFIX: prefix, HORUS_RUNNER_NAME: name },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    const p: Proc = { child, url: "", output: () => out };
    procs.push(p);
    const onData = (d: Buffer) => {
      out += d;
      if (out.includes("ready")) resolve(p);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => reject(new Error(`runner exited with ${code}: ${out}`)));
  });
}
