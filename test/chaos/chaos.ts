// The chaos suite: real processes on loopback (two coordinators sharing a
// Redis with AOF, two supervisors, an external runner process), TCP proxies
// in between that can cut every connection, and 100+ workflows running
// while faults are injected: kill -9 a coordinator, a supervisor and the
// runner (each restarted), restart Redis, cut connections, and kill -9 a
// coordinator while Redis holds its writes (CLIENT PAUSE WRITE), so that it
// dies between sending jobs and storing the commit that made them ready
// (pipelined hops). Unauthenticated
// and under-privileged calls are fired at every server all along.
// Invariants checked at the end:
//   - no workflow lost (every submitted id is found) or stuck (all end)
//   - every workflow ends as expected (SUCCEEDED, or CANCELLED when cancelled)
//   - no step success applied twice (the event log in Redis)
//   - every cancellation reached its running jobs (each shell job's pid is gone)
//   - no job outlived its supervisor's kill -9 (the process guard)
//   - no shell step completed twice unless a supervisor that ran one of the
//     copies was declared down, restarted or killed in between, or a
//     coordinator lost its lease on the workflow: a successor that
//     re-derives a pipelined attempt must find it, not run it again
//   - no unauthenticated or under-privileged call succeeded
// It also reports double executions: every shell step appends a line to a
// marker file when it completes, and a step (workflow, step id) with more
// than one completion ran twice, which at-least-once delivery allows only
// when a supervisor dies between a job's end and its report, or is cut off
// long enough to be declared down (then the step runs as a new attempt).
// `npm run chaos` runs the full size; the CI test a reduced one.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { CoordinatorService } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { SupervisorService } from "../../gen/horus/coordinator/v1/supervisor_pb.js";
import { createCoordinatorClient } from "../../clients/node/index.js";
import { isTerminalWorkflow, StepState, WorkflowState } from "../../src/engine/states.js";
import { Redis } from "ioredis";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import { HORUS } from "../helpers/cli.js";
import { tcpProxy } from "../helpers/proxy.js";
import { processGone } from "../helpers/wait.js";
import { freePort, startRedis, type RedisServer } from "../helpers/redis.js";

export interface ChaosOptions {
  workflows: number;
  /** Fault rounds (each: cut, kill coordinator, kill supervisor, kill runner, restart Redis). */
  rounds: number;
  /** How long to wait for every workflow to end after the last fault. */
  settleMs: number;
  log?: (line: string) => void;
}

export interface ChaosReport {
  faults: Record<string, number>;
  workflows: number;
  cancelled: number;
  steps: number;
  stepSuccesses: number;
  unauthenticatedCalls: number;
  violations: string[];
  orphansOfKilledSupervisors: number;
  /** Shell steps that ran to completion more than once. */
  doubleExecutions: number;
  /** Of those, steps whose one attempt id completed twice (on two supervisors). */
  sameAttemptDoubles: number;
  /** Shell jobs that were running on a supervisor when it was killed with -9. */
  shellJobsAtSupervisorKills: number;
  table: string;
}

interface Proc {
  name: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  child: ChildProcess;
  out: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** When a coordinator found its copy of a workflow taken over (its lease had lapsed) or its writes lost, from their logs. */
function droppedCopyTimes(logs: string[]): Array<{ workflowId: string; time: number }> {
  const out: Array<{ workflowId: string; time: number }> = [];
  for (const log of logs) {
    for (const m of log.matchAll(/"time":(\d+),[^\n]*"workflowId":"([^"]+)"[^\n]*"msg":"(?:workflow taken over by another coordinator|the store lost writes)/g)) out.push({ workflowId: m[2]!, time: Number(m[1]) });
  }
  return out;
}

/** How long before a job's start its dispatch may have been sent (a loaded machine starts shell jobs late). */
const IN_TRANSIT_MS = 3_000;

/** When any coordinator gave up on a supervisor's jobs (declared it down, saw it restart, or dropped it), from their logs. */
function supervisorFaultTimes(logs: string[]): Array<{ name: string; time: number }> {
  const out: Array<{ name: string; time: number }> = [];
  for (const log of logs) {
    for (const m of log.matchAll(/"time":(\d+),[^\n]*"msg":"supervisor (\S+) (?:is down|restarted|left the pool)/g)) out.push({ name: m[2]!, time: Number(m[1]) });
  }
  return out;
}

function launch(name: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    const p: Proc = { name, args, env, child, out: "" };
    let done = false;
    const onData = (d: Buffer) => {
      p.out += d;
      if (p.out.length > 2_000_000) p.out = p.out.slice(-1_000_000);
      if (!done && ready.test(p.out)) {
        done = true;
        resolve(p);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      if (!done) reject(new Error(`${name} exited with ${code} before it was ready: ${p.out.slice(-2000)}`));
    });
  });
}

async function kill9(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const gone = new Promise((r) => p.child.once("exit", r));
  p.child.kill("SIGKILL");
  await gone;
}

async function restart(p: Proc, ready: RegExp): Promise<Proc> {
  const again = await launch(p.name, p.args, p.env, ready);
  const before = p.out;
  Object.assign(p, { child: again.child, out: "" });
  // Keep the earlier life's output: the new process appends to it.
  again.child.stdout!.on("data", () => (p.out = before + "\n--- restarted ---\n" + again.out));
  again.child.stderr!.on("data", () => (p.out = before + "\n--- restarted ---\n" + again.out));
  p.out = before + "\n--- restarted ---\n" + again.out;
  return p;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), "horus-chaos-"));
  const pidDir = join(dir, "pids");
  mkdirSync(pidDir);
  // One line per shell job start ("start WF STEP ATTEMPT_ID SUPERVISOR_PID SHELL_PID") and completion ("done WF STEP ATTEMPT_ID ...").
  const markers = join(dir, "markers");
  writeFileSync(markers, "");
  const killedSupervisorPids: number[] = [];
  const tok = () => randomBytes(24).toString("hex");
  const admin = tok();
  const viewer = tok();
  const supervisorToken = tok();
  const tokenFile = join(dir, "tokens");
  writeFileSync(tokenFile, `${admin} admin\n${viewer} viewer\n`);
  const supIn = join(dir, "sup-tokens");
  writeFileSync(supIn, `${supervisorToken}\n`);

  const faults: Record<string, number> = { "proxy cut": 0, "kill -9 coordinator": 0, "kill -9 coordinator between send and commit": 0, "kill -9 supervisor": 0, "kill -9 runner": 0, "redis restart": 0 };
  const procs: Proc[] = [];
  const closers: Array<() => Promise<unknown>> = [];
  let redis: RedisServer | undefined;
  const stop = new AbortController();
  try {
    redis = await startRedis({ appendonly: true, appendfsync: "always" });
    const redisProxy = await tcpProxy(redis.port);
    closers.push(() => redisProxy.close());

    const supPorts = [await freePort(), await freePort()];
    const supervisors: Proc[] = [];
    for (const [i, port] of supPorts.entries()) {
      supervisors.push(
        await launch(`supervisor${i + 1}`, [
          ...HORUS, "supervisor", "--port", String(port), "--name", `s${i + 1}`, "--capacity", "32",
          "--token-file", supIn, "--external-runner", "ext", "--redis-url", redis.url, "--runner-lease", "1s",
        ], {}, /listening on/),
      );
    }
    procs.push(...supervisors);
    /** Supervisor name (s1, s2) by process id, over restarts: shell jobs know their supervisor by its pid. */
    const supNames = new Map(supervisors.map((s, i) => [s.child.pid!, `s${i + 1}`]));
    const supProxies = await Promise.all(supPorts.map((p) => tcpProxy(p)));
    for (const p of supProxies) closers.push(() => p.close());
    const runner = await launch("runner", ["clients/runner/dist/example.js"], { HORUS_RUNNER_NAME: "ext", REDIS_URL: redis.url, HORUS_RUNNER_CONCURRENCY: "16" }, /ready/);
    procs.push(runner);

    const supArgs = supProxies.flatMap((p) => ["--supervisor", `http://127.0.0.1:${p.port}`]);
    const coordPorts = [await freePort(), await freePort()];
    const coordinators: Proc[] = [];
    for (const [i, port] of coordPorts.entries()) {
      // Coordinator 1 reaches Redis through a proxy that gets cut.
      const redisUrl = i === 0 ? `redis://127.0.0.1:${redisProxy.port}` : redis.url;
      coordinators.push(
        await launch(`coordinator${i + 1}`, [
          ...HORUS, "coordinator", "--port", String(port), "--redis-url", redisUrl, ...supArgs, "--lease", "1s",
          "--supervisor-timeout", "1s", "--token-file", tokenFile, "--supervisor-token-file", supIn, "--max-submit-rate", "0",
        ], {}, /listening on/),
      );
    }
    procs.push(...coordinators);
    const urls = coordPorts.map((p) => `http://127.0.0.1:${p}`);
    const clients = urls.map((u) => createCoordinatorClient(u, { token: admin, protocol: "grpc" }));

    // Unauthenticated and under-privileged calls, all along; any success is a violation.
    let probes = 0;
    const probeSuccesses: string[] = [];
    const anon: Array<[string, () => Promise<unknown>]> = [];
    for (const u of urls) {
      const noToken = createClient(CoordinatorService, createConnectTransport({ baseUrl: u, httpVersion: "1.1" }));
      const grpc = createClient(CoordinatorService, createGrpcTransport({ baseUrl: u }));
      const viewerClient = createCoordinatorClient(u, { token: viewer });
      const wrong = createCoordinatorClient(u, { token: tok() });
      const yaml = "workflow:\n  name: intruder\n  steps:\n    - { id: a, runner: noop }\n";
      anon.push(
        ["connect list", () => noToken.listWorkflows({})],
        ["grpc submit", () => grpc.submitWorkflow({ definition: { case: "yaml", value: yaml } })],
        ["viewer submit", () => viewerClient.submitWorkflow({ definition: { case: "yaml", value: yaml } })],
        ["wrong-token cancel", () => wrong.cancelWorkflow({ workflowId: "x" })],
        ["jsonrpc list", async () => {
          const r = (await (await fetch(`${u}/rpc`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "list_workflows" }) })).json()) as { error?: unknown };
          if (r.error) throw new Error("refused");
        }],
      );
    }
    for (const port of supPorts) {
      const s = createClient(SupervisorService, createConnectTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: "1.1" }));
      anon.push(["supervisor describe", () => s.describeSupervisor({})]);
    }
    const prober = (async () => {
      for (let i = 0; !stop.signal.aborted; i++) {
        const [name, call] = anon[i % anon.length]!;
        probes++;
        try {
          await call();
          probeSuccesses.push(name);
        } catch {
          // refused (or the server was down): both fine
        }
        await sleep(20);
      }
    })();

    // Workflows: most run shell -> external runner -> js, beside a longer shell step; some are cancelled while their shell job runs.
    const mark = (what: string) => `echo ${what} $(date +%s%3N) $HORUS_WORKFLOW_ID $HORUS_STEP_ID $HORUS_ATTEMPT_ID $PPID $$ >> ${markers}`;
    const normal = (i: number) => `workflow:\n  name: chaos-${i}\n  steps:\n` +
      `    - { id: a, runner: shell, payload: "${mark("start")}; sleep 0.$((${i} % 5)); ${mark("done")}; echo ${i}" }\n` +
      `    - { id: l, runner: shell, payload: "${mark("start")}; sleep 1.$((${i} % 10)); ${mark("done")}" }\n` +
      `    - { id: b, runner: ext, depends_on: [a], payload: '{"sleep_ms": 150, "echo": ${i}}' }\n` +
      `    - { id: c, runner: js, depends_on: [a, b], payload: "input.a + input.b.echo" }\n` +
      `    - { id: d, runner: noop, depends_on: [a] }\n`;
    const cancellable = (i: number) => `workflow:\n  name: chaos-cancel-${i}\n  steps:\n` +
      `    - { id: long, runner: shell, payload: "echo $$ $PPID > ${pidDir}/$HORUS_WORKFLOW_ID.$HORUS_ATTEMPT_ID; exec sleep 120" }\n` +
      `    - { id: after, runner: noop, depends_on: [long] }\n`;
    const submitted: Array<{ id: string; cancel: boolean; i: number }> = [];
    const submitOne = async (i: number) => {
      const cancel = i % 7 === 3;
      const yaml = cancel ? cancellable(i) : normal(i);
      for (let attempt = 0; ; attempt++) {
        const client = clients[(i + attempt) % clients.length]!;
        try {
          const res = await client.submitWorkflow({ definition: { case: "yaml", value: yaml }, idempotencyKey: `chaos-${i}` }, { timeoutMs: 5_000 });
          submitted.push({ id: res.workflowId, cancel, i });
          return;
        } catch (err) {
          if (attempt > 200) throw err;
          await sleep(100);
        }
      }
    };
    const cancelWhenRunning = async (w: { id: string }) => {
      // Wait for the job to write its pid (it runs), then cancel, through whichever coordinator answers.
      for (let n = 0; n < 600 && !readdirSync(pidDir).some((f) => f.startsWith(`${w.id}.`)); n++) await sleep(50);
      for (let attempt = 0; ; attempt++) {
        try {
          await clients[attempt % clients.length]!.cancelWorkflow({ workflowId: w.id, reason: "chaos" }, { timeoutMs: 5_000 });
          return;
        } catch (err) {
          if (attempt > 200) throw err;
          await sleep(100);
        }
      }
    };

    const fault = async (kind: string, round: number) => {
      log(`fault: ${kind} (round ${round + 1})`);
      faults[kind]!++;
      if (kind === "proxy cut") {
        redisProxy.cut();
        for (const p of supProxies) p.cut();
      } else if (kind === "kill -9 coordinator") {
        const c = coordinators[round % coordinators.length]!;
        await kill9(c);
        await sleep(500);
        await restart(c, /listening on/);
      } else if (kind === "kill -9 coordinator between send and commit") {
        // Writes stall while reads and job sends go on: the jobs of the
        // transitions made meanwhile are out, their commits are not stored.
        const c = coordinators[(round + 1) % coordinators.length]!;
        const pauser = new Redis(redis!.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
        try {
          await pauser.connect();
          await pauser.call("CLIENT", "PAUSE", "3000", "WRITE");
          await sleep(400);
          await kill9(c);
          await pauser.call("CLIENT", "UNPAUSE");
        } finally {
          pauser.disconnect();
        }
        await sleep(300);
        await restart(c, /listening on/);
      } else if (kind === "kill -9 supervisor") {
        const s = supervisors[round % supervisors.length]!;
        killedSupervisorPids.push(s.child.pid!);
        await kill9(s);
        await sleep(500);
        await restart(s, /listening on/);
        supNames.set(s.child.pid!, `s${(round % supervisors.length) + 1}`);
      } else if (kind === "kill -9 runner") {
        await kill9(runner);
        await sleep(300);
        await restart(runner, /ready/);
      } else if (kind === "redis restart") {
        await redis!.restart();
      }
    };

    const kinds = Object.keys(faults);
    const steps = options.rounds * kinds.length;
    const perStep = Math.ceil(options.workflows / (steps + 1));
    const cancels: Array<Promise<void>> = [];
    let next = 0;
    const submitBatch = async () => {
      const batch: Array<Promise<void>> = [];
      for (let k = 0; k < perStep && next < options.workflows; k++) batch.push(submitOne(next++));
      await Promise.all(batch);
      for (const w of submitted) if (w.cancel && !(w as { queued?: boolean }).queued) {
        (w as { queued?: boolean }).queued = true;
        cancels.push(cancelWhenRunning(w));
      }
    };
    for (let r = 0; r < options.rounds; r++) {
      for (const kind of kinds) {
        await submitBatch();
        await sleep(300);
        await fault(kind, r);
      }
    }
    while (next < options.workflows) await submitBatch();
    await Promise.all(cancels);

    // Settle: every workflow must end.
    const final = new Map<string, WorkflowState>();
    const deadline = Date.now() + options.settleMs;
    const violations: string[] = [];
    for (const w of submitted) {
      for (;;) {
        let state: WorkflowState | undefined;
        try {
          const got = await clients[0]!.getWorkflow({ workflowId: w.id }, { timeoutMs: 5_000 });
          state = got.workflow!.state;
        } catch (err) {
          if (ConnectError.from(err).code === Code.NotFound) {
            violations.push(`workflow ${w.id} lost (NOT_FOUND)`);
            break;
          }
        }
        if (state !== undefined && isTerminalWorkflow(state)) {
          final.set(w.id, state);
          break;
        }
        if (Date.now() > deadline) {
          const wf = (await clients[0]!.getWorkflow({ workflowId: w.id }).catch(() => undefined))?.workflow;
          const steps = wf?.steps.map((s) => `${s.id}:${StepState[s.state]}/${s.attempts} attempts ${s.attemptHistory.map((a) => `${a.supervisor}`).join(",")}`).join(" ");
          violations.push(`workflow ${w.id} stuck in state ${state}: ${steps}`);
          break;
        }
        await sleep(200);
      }
    }
    stop.abort();
    await prober;
    for (const w of submitted) {
      const want = w.cancel ? WorkflowState.CANCELLED : WorkflowState.SUCCEEDED;
      const got = final.get(w.id);
      if (got !== undefined && got !== want) {
        const wf = (await clients[0]!.getWorkflow({ workflowId: w.id })).workflow!;
        const why = wf.steps.map((s) => `${s.id}:${StepState[s.state]}${s.error ? `(${s.error.code}: ${s.error.message})` : ""}`).join(" ");
        violations.push(`workflow ${w.id} (${w.cancel ? "cancelled" : "normal"}) ended ${WorkflowState[got]}, expected ${WorkflowState[want]}: ${why}`);
      }
    }
    if (submitted.length !== options.workflows) violations.push(`${options.workflows - submitted.length} submissions never accepted`);

    // No step success applied twice: the event log in Redis.
    const store = await createRedisStore({ url: redis.url });
    let stepCount = 0;
    let successes = 0;
    try {
      for (const w of submitted) {
        const events = await store.readEvents(w.id, "", 100_000);
        const seen = new Map<string, string[]>();
        for (const e of events) {
          if (e.kind !== "step" || e.state !== StepState.SUCCEEDED) continue;
          const key = `${e.stepId}#${e.instance ?? ""}`;
          seen.set(key, [...(seen.get(key) ?? []), `attempt ${e.attempt} on ${e.supervisor ?? "?"} at ${e.time} cursor ${e.cursor}`]);
          successes++;
        }
        for (const [key, list] of seen) if (list.length > 1) violations.push(`workflow ${w.id} step ${key}: success applied ${list.length} times: ${list.join("; ")}`);
        stepCount += w.cancel ? 2 : 5;
      }
    } finally {
      await store.close();
    }

    // Every cancellation reached its running jobs: each recorded shell pid ends.
    let orphans = 0;
    const livePids = new Set([...supervisors.map((s) => s.child.pid)]);
    for (const f of readdirSync(pidDir)) {
      const [pid, ppid] = readFileSync(join(pidDir, f), "utf8").trim().split(/\s+/).map(Number);
      for (let n = 0; n < 100 && !processGone(pid!); n++) await sleep(100);
      if (processGone(pid!)) continue;
      if (!livePids.has(ppid)) {
        // Its supervisor was killed with -9 and the job lives on: the process guard failed.
        orphans++;
        try {
          process.kill(-pid!, "SIGKILL");
        } catch {
          process.kill(pid!, "SIGKILL");
        }
      } else {
        const wf = (await clients[0]!.getWorkflow({ workflowId: f.split(".")[0]! }).catch(() => undefined))?.workflow;
        const steps = wf?.steps.map((s) => `${s.id}:${StepState[s.state]} attempts ${s.attemptHistory.map((a) => `${a.supervisor}:${a.error?.code ?? "ok"}`).join(",")}`).join(" ");
        violations.push(`cancelled job ${f} (pid ${pid}, supervisor pid ${ppid}) still running on a live supervisor; workflow ${WorkflowState[wf?.state ?? 0]}: ${steps}`);
      }
    }
    if (orphans > 0) violations.push(`${orphans} cancelled shell job(s) outlived their kill -9'd supervisor`);
    for (const s of probeSuccesses) violations.push(`unauthenticated or under-privileged call succeeded: ${s}`);

    // Double executions, and that the supervisor kills hit running shell jobs.
    const starts: Array<[attemptId: string, { ppid: number; pid: number }]> = [];
    const completions = new Map<string, string[]>();
    /** "ATTEMPT_ID SUPERVISOR_PID" of every completed job: one attempt id may run on two supervisors. */
    const completed = new Set<string>();
    /** Per step ("WF STEP"): the span from its first copy's start to its last copy's end, and the supervisor pids of its copies. */
    const spans = new Map<string, { from: number; to: number; pids: Set<number> }>();
    for (const line of readFileSync(markers, "utf8").split("\n")) {
      const [what, time, wf, step, attemptId, ppid, pid] = line.split(" ");
      if (what !== "start" && what !== "done") continue;
      const span = spans.get(`${wf} ${step}`) ?? { from: Infinity, to: 0, pids: new Set<number>() };
      span.from = Math.min(span.from, Number(time));
      span.to = Math.max(span.to, Number(time));
      span.pids.add(Number(ppid));
      spans.set(`${wf} ${step}`, span);
      if (what === "start") starts.push([attemptId!, { ppid: Number(ppid), pid: Number(pid) }]);
      else {
        completions.set(`${wf} ${step}`, [...(completions.get(`${wf} ${step}`) ?? []), `${attemptId} on supervisor pid ${ppid}`]);
        completed.add(`${attemptId} ${ppid}`);
      }
    }
    const doubles = [...completions].filter(([, list]) => list.length > 1);
    // One attempt id completed twice: the same dispatch ran on two
    // supervisors, which placement must never do (a new attempt after a
    // supervisor was declared down is at-least-once delivery, counted apart).
    const sameAttempt = doubles.filter(([, list]) => new Set(list.map((x) => x.split(" ")[0])).size < list.length);
    const killedPids = new Set(killedSupervisorPids);
    const markKilled = (where: string) => where.replace(/supervisor pid (\d+)/, (m, pid: string) => (killedPids.has(Number(pid)) ? `${m} (later killed -9)` : m));
    for (const [key, list] of doubles) log(`double execution: ${key} completed ${list.length} times (${list.map(markKilled).join(", ")})`);
    // At-least-once delivery runs a step again only when a supervisor that
    // had it stopped answering (declared down), restarted or was killed
    // while it ran, or while its job was on the way there (a job sent just
    // before its supervisor was declared down may start after); any other
    // double is a dispatch fault.
    // The same holds for a coordinator cut off from Redis long enough to lose
    // its lease: its copy of the workflow ran on until its next commit was
    // refused. A coordinator killed between send and commit is not such a
    // case: its successor must find what it sent.
    const outs = coordinators.map((c) => c.out);
    const supervisorFaults = supervisorFaultTimes(outs);
    const dropped = droppedCopyTimes(outs);
    const within = (time: number, span: { from: number; to: number }) => time >= span.from - IN_TRANSIT_MS && time <= span.to;
    const unexplained = doubles.filter(([key]) => {
      const span = spans.get(key)!;
      if (dropped.some((d) => d.workflowId === key.split(" ")[0] && within(d.time, span))) return false;
      return ![...span.pids].some((pid) => killedPids.has(pid) || supervisorFaults.some((f) => f.name === supNames.get(pid) && within(f.time, span)));
    });
    for (const [key, list] of unexplained) violations.push(`${key} completed ${list.length} times while no supervisor of its copies was down, restarted or killed, and no coordinator lost it: ${list.join(", ")}`);
    const killedWithSupervisor = starts.filter(([attemptId, { ppid }]) => killedPids.has(ppid) && !completed.has(`${attemptId} ${ppid}`));
    const atKills = killedWithSupervisor.length;
    // Each of them must be gone: the guard kills a supervisor's jobs when it dies.
    for (const [attemptId, { pid }] of killedWithSupervisor) {
      for (let n = 0; n < 50 && !processGone(pid); n++) await sleep(100);
      if (processGone(pid)) continue;
      violations.push(`shell job ${attemptId} (pid ${pid}) outlived its kill -9'd supervisor`);
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }

    if (violations.length > 0) {
      for (const p of procs) writeFileSync(join(dir, `${p.name}.log`), p.out);
      violations.push(`(process logs in ${dir})`);
    }
    const rows: Array<[string, string | number]> = [
      ...Object.entries(faults).map(([k, v]) => [`faults: ${k}`, v] as [string, number]),
      ["workflows", submitted.length],
      ["  of which cancelled mid-run", submitted.filter((w) => w.cancel).length],
      ["steps", stepCount],
      ["step successes in the event log", successes],
      ["unauthenticated/denied calls fired", probes],
      ["shell jobs running at supervisor kills -9", atKills],
      ["cancelled jobs outliving their supervisor", orphans],
      ["shell steps completed twice", doubles.length],
      ["  of which the same attempt twice", sameAttempt.length],
      ["violations", violations.length],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    const table = ["chaos summary", ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${String(v).padStart(6)}`)].join("\n");
    return {
      faults,
      workflows: submitted.length,
      cancelled: submitted.filter((w) => w.cancel).length,
      steps: stepCount,
      stepSuccesses: successes,
      unauthenticatedCalls: probes,
      violations,
      orphansOfKilledSupervisors: orphans,
      doubleExecutions: doubles.length,
      sameAttemptDoubles: sameAttempt.length,
      shellJobsAtSupervisorKills: atKills,
      table,
    };
  } finally {
    stop.abort();
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
    await Promise.all(procs.map((p) => (p.child.exitCode !== null || p.child.signalCode !== null ? undefined : new Promise((r) => p.child.once("exit", r)))));
    for (const c of closers) await c().catch(() => {});
    await redis?.remove();
  }
}
