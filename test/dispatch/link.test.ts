// The supervisor Link (src/dispatch/link.ts against src/supervisor/link.ts):
// real HTTP/2 supervisor servers on port 0, a TCP proxy for faults. The
// link must answer as the unary calls do, deduplicate by attempt id, fail
// its calls UNAVAILABLE when the stream breaks (so the pool's reconcile by
// GetJobs applies) and reopen on the next call, notice a supervisor that
// stops answering pings, keep credits within capacity across coordinators,
// and fall back to the unary calls on a supervisor without Link.
import { randomBytes } from "node:crypto";
import http2 from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import { Code, ConnectError, createClient, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter, createConnectTransport } from "@connectrpc/connect-node";
import { JobState, SupervisorService, type LinkRequest, type WatchJobEventsResponse } from "../../gen/horus/coordinator/v1/supervisor_pb.js";
import { fromValue, toValue } from "../../src/common/json.js";
import { decodeJson } from "../../src/common/json-bytes.js";
import { bearerToken } from "../../clients/api/src/token.js";
import { createInProcessTransport } from "../../src/dispatch/in-process.js";
import { createSupervisorLink, type SupervisorLink } from "../../src/dispatch/link.js";
import { SUPERVISOR_BINARY_OPTIONS } from "../../src/common/depth.js";
import type { Runner } from "../../src/runners/types.js";
import { parseTokens } from "../../src/server/auth.js";
import { startSupervisorServer, type RunningSupervisor } from "../../src/server/supervisor-server.js";
import { createSupervisor, type Supervisor, type SupervisorOptions } from "../../src/supervisor/index.js";
import { tcpProxy, type TcpProxy } from "../helpers/proxy.js";
import { until } from "../helpers/wait.js";

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function transport(url: string) {
  return createConnectTransport({ baseUrl: url, httpVersion: "2", useBinaryFormat: true, binaryOptions: SUPERVISOR_BINARY_OPTIONS });
}

/** A runner whose jobs wait until released; counts the jobs it started. */
function gateRunner(name = "gate") {
  const started: string[] = [];
  const waiting = new Map<string, () => void>();
  const runner: Runner = {
    name,
    run({ job, signal }) {
      started.push(job.attemptId);
      return new Promise((resolve) => {
        const done = () => resolve({ ok: true, output: { attempt: job.attemptId, inputs: job.inputs } });
        waiting.set(job.attemptId, done);
        signal.addEventListener("abort", () => resolve({ ok: false, error: { code: "CANCELLED", message: "cancelled" } }), { once: true });
      });
    },
  };
  return {
    runner,
    started,
    release(id: string) {
      waiting.get(id)?.();
      waiting.delete(id);
    },
    releaseAll() {
      for (const f of waiting.values()) f();
      waiting.clear();
    },
  };
}

async function supervisorServer(options: SupervisorOptions = {}): Promise<RunningSupervisor> {
  const sup = await startSupervisorServer({ port: 0, supervisor: { name: "link-sup", shutdownGraceMs: 50, ...options } });
  cleanup.push(() => sup.close());
  return sup;
}

function link(url: string, options: Parameters<typeof createSupervisorLink>[1] = {}): SupervisorLink {
  const l = createSupervisorLink(transport(url), options);
  cleanup.push(() => l.close());
  return l;
}

/** A job status's output, whichever way it travelled (output_json on a link, a Value on the unary calls). */
function outputOf(s: { output?: Parameters<typeof fromValue>[0]; outputJson: Uint8Array }) {
  return s.outputJson.length > 0 ? decodeJson(s.outputJson) : s.output && fromValue(s.output);
}

let n = 0;
function job(runner: string, extra: { attemptId?: string; workflowId?: string } = {}) {
  n++;
  return { attemptId: extra.attemptId ?? `att-${n}`, workflowId: extra.workflowId ?? "wf", stepId: `s${n}`, attempt: 1, runner, payload: "" };
}

/** Follows watchJobEvents in the background. */
function follow(iterable: AsyncIterable<WatchJobEventsResponse>) {
  const messages: WatchJobEventsResponse[] = [];
  let failure: unknown;
  const done = (async () => {
    try {
      for await (const m of iterable) messages.push(m);
    } catch (err) {
      failure = err;
    }
  })();
  return { messages, done, failure: () => failure, events: () => messages.flatMap((m) => m.events) };
}

describe("supervisor link", () => {
  it("answers every call as the unary calls do", async () => {
    const sup = await supervisorServer();
    const unary = createClient(SupervisorService, transport(sup.url));
    const l = link(sup.url);

    const viaLink = await l.describeSupervisor({});
    expect(l.mode()).toBe("link");
    const viaUnary = await unary.describeSupervisor({});
    expect(viaLink.name).toBe("link-sup");
    expect(viaLink.instanceId).toBe(viaUnary.instanceId);
    expect(viaLink.runners.map((r) => [r.name, r.capacity])).toEqual(viaUnary.runners.map((r) => [r.name, r.capacity]));

    const a = job("noop");
    const b = job("noop");
    const linkAck = await l.dispatchJobs({ jobs: [a, { ...job("nope") }] });
    const unaryAck = await unary.dispatchJobs({ jobs: [b] });
    expect(linkAck.instanceId).toBe(unaryAck.instanceId);
    expect(linkAck.acks.map((x) => [x.accepted, x.duplicate])).toEqual([[true, false], [false, false]]);
    expect(linkAck.acks[1]!.reason).toMatch(/unknown runner "nope"/);
    // The same attempt again, once on each path: both see a duplicate.
    expect((await l.dispatchJobs({ jobs: [b] })).acks[0]).toMatchObject({ accepted: true, duplicate: true });
    expect((await unary.dispatchJobs({ jobs: [a] })).acks[0]).toMatchObject({ accepted: true, duplicate: true });

    const ids = [a.attemptId, b.attemptId, "never-sent"];
    const finished = await (async () => {
      for (;;) {
        const r = await l.getJobs({ attemptIds: ids });
        if (r.jobs[0]!.state === JobState.SUCCEEDED && r.jobs[1]!.state === JobState.SUCCEEDED) return r;
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const fromUnary = await unary.getJobs({ attemptIds: ids });
    expect(finished.jobs.map((j) => j.state)).toEqual([JobState.SUCCEEDED, JobState.SUCCEEDED, JobState.UNKNOWN]);
    expect(finished.jobs.map((j) => [j.attemptId, j.state, outputOf(j)])).toEqual(fromUnary.jobs.map((j) => [j.attemptId, j.state, outputOf(j)]));
    // On the link as JSON bytes (the link's hello said so), on the unary calls as Values.
    expect(finished.jobs[0]!.outputJson.length).toBeGreaterThan(0);
    expect(finished.jobs[0]!.output).toBeUndefined();
    expect(fromUnary.jobs[0]!.outputJson.length).toBe(0);

    expect(await l.cancelJobs({ attemptIds: [a.attemptId, "early"], reason: "x" })).toEqual(await unary.cancelJobs({ attemptIds: [a.attemptId, "early2"], reason: "x" }));

    // Events: the same sequence numbers and contents on both.
    const ctl = new AbortController();
    const w1 = follow(l.watchJobEvents({ afterSeq: 0n }, { signal: ctl.signal }));
    const w2 = follow(unary.watchJobEvents({ afterSeq: 0n }, { signal: ctl.signal }));
    await until(() => (w1.events().length >= 4 && w2.events().length >= 4 ? true : undefined));
    ctl.abort();
    await Promise.all([w1.done, w2.done]);
    const brief = (e: { seq: bigint; attemptId: string; kind: { case: string | undefined } }) => [e.seq, e.attemptId, e.kind.case];
    expect(w1.events().map(brief)).toEqual(w2.events().map(brief));
    expect(w1.messages[0]!.instanceId).toBe(viaUnary.instanceId);
  });

  it("runs a repeated attempt once, wherever it is sent from", async () => {
    const gate = gateRunner();
    const sup = await supervisorServer({ runners: new Map([["gate", gate.runner]]) });
    const l1 = link(sup.url);
    const l2 = link(sup.url);
    const j = job("gate", { attemptId: "wf.s.1" });
    const acks = await Promise.all([l1.dispatchJobs({ jobs: [j] }), l2.dispatchJobs({ jobs: [j] }), l1.dispatchJobs({ jobs: [j] })]);
    expect(acks.map((a) => a.acks[0]!.accepted)).toEqual([true, true, true]);
    expect(acks.filter((a) => !a.acks[0]!.duplicate)).toHaveLength(1);
    await until(() => (gate.started.length === 1 ? true : undefined));
    gate.release("wf.s.1");
    const st = await (async () => {
      for (;;) {
        const r = await l2.getJobs({ attemptIds: ["wf.s.1"] });
        if (r.jobs[0]!.state === JobState.SUCCEEDED) return r;
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    expect(outputOf(st.jobs[0]!)).toMatchObject({ attempt: "wf.s.1" });
    expect(gate.started).toEqual(["wf.s.1"]);
  });

  it("fails calls in flight UNAVAILABLE when the stream breaks, reopens on the next call, and reconciles by attempt id", async () => {
    const gate = gateRunner();
    const sup = await supervisorServer({ runners: new Map([["gate", gate.runner]]) });
    const proxy: TcpProxy = await tcpProxy(Number(new URL(sup.url).port));
    cleanup.push(() => proxy.close());
    const l = link(`http://127.0.0.1:${proxy.port}`, { pongTimeoutMs: 60_000 });
    const watch = follow(l.watchJobEvents({ afterSeq: 0n }));
    const j = job("gate", { attemptId: "wf.a.1" });
    expect((await l.dispatchJobs({ jobs: [j] })).acks[0]!.accepted).toBe(true);
    await until(() => (gate.started.length === 1 ? true : undefined));
    expect(proxy.connections()).toBe(1);

    // Answers are held back, the call goes out, then the connection is cut.
    proxy.hold();
    const inFlight = l.getJobs({ attemptIds: ["wf.a.1"] });
    await new Promise((r) => setTimeout(r, 50));
    proxy.cut();
    proxy.release();
    const err = await inFlight.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Unavailable);
    await watch.done;
    expect((watch.failure() as ConnectError).code).toBe(Code.Unavailable);
    expect(l.credits("gate")).toBeUndefined();

    // The job ran on meanwhile; the next call opens a new stream and finds it by attempt id.
    gate.release("wf.a.1");
    const st = await (async () => {
      for (;;) {
        const r = await l.getJobs({ attemptIds: ["wf.a.1"] });
        if (r.jobs[0]!.state === JobState.SUCCEEDED) return r;
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    expect(st.jobs[0]!.state).toBe(JobState.SUCCEEDED);
    expect(proxy.connections()).toBe(2);
    expect(l.mode()).toBe("link");
    // A repeated dispatch after the reconnect is a duplicate, not a second run.
    expect((await l.dispatchJobs({ jobs: [j] })).acks[0]!.duplicate).toBe(true);
    expect(gate.started).toEqual(["wf.a.1"]);
  });

  it("tears the link down when pongs stop coming", async () => {
    const sup = await supervisorServer();
    const proxy = await tcpProxy(Number(new URL(sup.url).port));
    cleanup.push(() => proxy.close());
    const l = link(`http://127.0.0.1:${proxy.port}`, { pingEveryMs: 50, pongTimeoutMs: 300 });
    await l.describeSupervisor({});
    const watch = follow(l.watchJobEvents({ afterSeq: 0n }));
    await until(() => (watch.messages.length > 0 ? true : undefined));
    // The supervisor still gets everything, but nothing comes back: only the pong deadline can tell.
    proxy.freeze();
    await watch.done;
    expect(watch.failure()).toBeInstanceOf(ConnectError);
    expect((watch.failure() as ConnectError).code).toBe(Code.Unavailable);
    expect((watch.failure() as ConnectError).rawMessage).toMatch(/no pong within 300 ms/);
    proxy.thaw();
    // The next call opens a new link (a call racing the cut of the old
    // connection may fail first, as a unary call would).
    const name = async () => (await l.describeSupervisor({})).name;
    expect(await name().catch(() => name())).toBe("link-sup");
  });

  it("outlives the server's request body timeout (the link has its own heartbeat)", async () => {
    const sup = await startSupervisorServer({ port: 0, supervisor: { name: "link-sup", shutdownGraceMs: 50 }, security: { connections: { bodyTimeoutMs: 200 } } });
    cleanup.push(() => sup.close());
    const l = link(sup.url, { pingEveryMs: 50 });
    await l.describeSupervisor({});
    const watch = follow(l.watchJobEvents({ afterSeq: 0n }));
    await new Promise((r) => setTimeout(r, 800));
    expect(watch.failure()).toBeUndefined();
    expect((await l.dispatchJobs({ jobs: [job("noop")] })).acks[0]!.accepted).toBe(true);
    await until(() => (watch.events().some((e) => e.kind.case === "finished") ? true : undefined));
  });

  it("closes a stream nobody uses, and opens one again for the next call", async () => {
    const sup = await supervisorServer();
    const l = link(sup.url, { pingEveryMs: 20, idleCloseMs: 100 });
    const first = await l.describeSupervisor({});
    expect(l.mode()).toBe("link");
    await until(() => (l.mode() === "idle" ? true : undefined));
    expect(sup.name).toBe("link-sup");
    expect((await l.describeSupervisor({})).instanceId).toBe(first.instanceId);
    expect(l.mode()).toBe("link");
  });

  it("needs the supervisor's token like the unary calls, and says so rather than falling back", async () => {
    const tok = randomBytes(24).toString("hex");
    const sup = await startSupervisorServer({ port: 0, supervisor: { name: "link-sup", shutdownGraceMs: 50 }, security: { tokens: parseTokens(tok, "t") } });
    cleanup.push(() => sup.close());
    const without = link(sup.url);
    const err = await without.describeSupervisor({}).then(() => undefined, (e: unknown) => e);
    expect((err as ConnectError).code).toBe(Code.Unauthenticated);
    expect(without.mode()).toBe("idle");
    const withToken = createSupervisorLink(createConnectTransport({ baseUrl: sup.url, httpVersion: "2", useBinaryFormat: true, binaryOptions: SUPERVISOR_BINARY_OPTIONS, interceptors: [bearerToken(tok)] }));
    cleanup.push(() => withToken.close());
    expect((await withToken.describeSupervisor({})).name).toBe("link-sup");
    expect(withToken.mode()).toBe("link");
  });

  it("is closed by the supervisor when it stays silent", async () => {
    const sup = await supervisorServer({ linkSilenceLimitMs: 200 });
    // Pings far apart: the supervisor's silence limit runs out first.
    const l = link(sup.url, { pingEveryMs: 60_000 });
    await l.describeSupervisor({});
    const watch = follow(l.watchJobEvents({ afterSeq: 0n }));
    await watch.done;
    expect((watch.failure() as ConnectError).code).toBe(Code.Unavailable);
    expect((watch.failure() as ConnectError).rawMessage).toMatch(/nothing received for 200 ms/);
  });

  it("never grants two coordinators more credit than the supervisor's capacity", async () => {
    const gate = gateRunner();
    const supervisor: Supervisor = createSupervisor({ name: "credit-sup", runners: new Map([["gate", gate.runner]]), capacity: 4, shutdownGraceMs: 50 });
    cleanup.push(() => supervisor.close());
    const server = http2.createServer(connectNodeAdapter({ routes: (r: ConnectRouter) => r.service(SupervisorService, supervisor.service), binaryOptions: SUPERVISOR_BINARY_OPTIONS }));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    cleanup.push(() => new Promise<void>((r) => { server.close(() => r()); for (const s of sessions) s.destroy(); }));
    const sessions = new Set<http2.Http2Session>();
    server.on("session", (s) => sessions.add(s));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

    const a = link(url);
    const b = link(url);
    const total = () => supervisor.stats().linkCredits.reduce((s, c) => s + (c.gate ?? 0), 0) + supervisor.stats().runners.gate!.running + supervisor.stats().runners.gate!.queued;
    const checks: number[] = [];
    const check = () => checks.push(total());
    a.onCredits(check);
    b.onCredits(check);
    await Promise.all([a.describeSupervisor({}), b.describeSupervisor({})]);
    // Idle: each gets a fair share at once.
    await until(() => (a.credits("gate") === 2 && b.credits("gate") === 2 ? true : undefined));

    // Both want more than there is; each sends only against its credit.
    a.setDemand("gate", 10);
    b.setDemand("gate", 10);
    let sentA = 0;
    let sentB = 0;
    const sendWhatCreditAllows = async (l: SupervisorLink, tag: string, already: number, want: number) => {
      const c = Math.min(l.credits("gate") ?? 0, want - already);
      if (c <= 0) return 0;
      const jobs = Array.from({ length: c }, (_, i) => job("gate", { attemptId: `${tag}-${already + i}` }));
      await l.dispatchJobs({ jobs });
      return c;
    };
    sentA += await sendWhatCreditAllows(a, "a", sentA, 10);
    sentB += await sendWhatCreditAllows(b, "b", sentB, 10);
    await until(() => (supervisor.stats().runners.gate!.running === 4 ? true : undefined));
    expect(a.credits("gate")).toBe(0);
    expect(b.credits("gate")).toBe(0);
    // Slots free one by one and the credits follow them, never past capacity.
    while (sentA + sentB < 20) {
      gate.releaseAll();
      await until(() => ((a.credits("gate") ?? 0) + (b.credits("gate") ?? 0) > 0 ? true : undefined));
      sentA += await sendWhatCreditAllows(a, "a", sentA, 10);
      sentB += await sendWhatCreditAllows(b, "b", sentB, 10);
      a.setDemand("gate", 10 - sentA);
      b.setDemand("gate", 10 - sentB);
      check();
      expect(supervisor.stats().runners.gate!.queued).toBe(0);
    }
    gate.releaseAll();
    expect(Math.max(...checks)).toBeLessThanOrEqual(4);
    expect(supervisor.stats().runners.gate!.maxHeld).toBeLessThanOrEqual(4);
    expect(sentA).toBe(10);
    expect(sentB).toBe(10);
  });

  describe("workflow inputs once per stream", () => {
    /** A gate runner that records the inputs each job ran with. */
    function inputsRunner() {
      const gate = gateRunner();
      const seen = new Map<string, unknown>();
      const run = gate.runner.run.bind(gate.runner);
      gate.runner.run = (ctx) => {
        seen.set(ctx.job.attemptId, ctx.job.inputs);
        return run(ctx);
      };
      return { ...gate, seen };
    }
    const inputs = { items: toValue(Array.from({ length: 200 }, (_, i) => `item-${i}`)) };
    const wfJob = (wf: string, id: string) => ({ ...job("gate", { attemptId: id, workflowId: wf }), inputs });

    it("sends a workflow's inputs with its first job on a stream only, and every job runs with them", async () => {
      const gate = inputsRunner();
      const sup = await supervisorServer({ runners: new Map([["gate", gate.runner]]) });
      // What goes on the wire, seen by an interceptor on the link's transport.
      const sent: Array<{ attemptId: string; omitted: boolean; inputs: number; values: number }> = [];
      const recorder: Interceptor = (next) => async (req) => {
        if (!req.stream || req.method.name !== "Link") return next(req);
        const original = req.message;
        async function* recorded() {
          for await (const m of original as AsyncIterable<LinkRequest>) {
            if (m.kind.case === "dispatch") {
              for (const j of m.kind.value.jobs) {
                const inputs = j.inputsJson.length > 0 ? Object.keys(decodeJson(j.inputsJson) as object).length : 0;
                sent.push({ attemptId: j.attemptId, omitted: j.inputsOmitted, inputs, values: Object.keys(j.inputs).length });
              }
            }
            yield m;
          }
        }
        return next({ ...req, message: recorded() });
      };
      const l = createSupervisorLink(createConnectTransport({ baseUrl: sup.url, httpVersion: "2", useBinaryFormat: true, binaryOptions: SUPERVISOR_BINARY_OPTIONS, interceptors: [recorder] }));
      cleanup.push(() => l.close());
      const first = await l.dispatchJobs({ jobs: [wfJob("wf-in", "i.0"), wfJob("wf-in", "i.1"), wfJob("wf-other", "o.0")] });
      const second = await l.dispatchJobs({ jobs: [wfJob("wf-in", "i.2")] });
      expect([...first.acks, ...second.acks].every((a) => a.accepted)).toBe(true);
      expect(sent).toEqual([
        { attemptId: "i.0", omitted: false, inputs: 1, values: 0 },
        { attemptId: "i.1", omitted: true, inputs: 0, values: 0 },
        { attemptId: "o.0", omitted: false, inputs: 1, values: 0 },
        { attemptId: "i.2", omitted: true, inputs: 0, values: 0 },
      ]);
      await until(() => (gate.seen.size === 4 ? true : undefined));
      for (const id of ["i.0", "i.1", "i.2", "o.0"]) expect(gate.seen.get(id)).toEqual({ items: fromValue(inputs.items) });
    });

    it("refuses a job whose left-out inputs it does not keep, without running it", async () => {
      const gate = inputsRunner();
      const sup = await supervisorServer({ runners: new Map([["gate", gate.runner]]) });
      const unary = createClient(SupervisorService, transport(sup.url));
      const res = await unary.dispatchJobs({ jobs: [{ ...job("gate", { attemptId: "u.1", workflowId: "never-seen" }), inputsOmitted: true }] });
      expect(res.acks[0]).toMatchObject({ accepted: false });
      expect(res.acks[0]!.reason).toMatch(/^inputs unknown: .*workflow never-seen/);
      expect((await unary.getJobs({ attemptIds: ["u.1"] })).jobs[0]!.state).toBe(JobState.UNKNOWN);
      expect(gate.started).toEqual([]);
    });

    it("sends a job again in full when the supervisor no longer keeps its workflow's inputs", async () => {
      const gate = inputsRunner();
      // Keeps the inputs of one workflow (beyond those it holds jobs of).
      const sup = await supervisorServer({ runners: new Map([["gate", gate.runner]]), maxKeptInputs: 1 });
      const l = link(sup.url);
      await l.dispatchJobs({ jobs: [wfJob("wf-1", "w1.0")] });
      await l.dispatchJobs({ jobs: [wfJob("wf-2", "w2.0")] });
      await until(() => (gate.started.length === 2 ? true : undefined));
      gate.releaseAll();
      // Both finished: wf-1's inputs go when wf-3's arrive.
      for (;;) {
        const r = await l.getJobs({ attemptIds: ["w1.0", "w2.0"] });
        if (r.jobs.every((j) => j.state === JobState.SUCCEEDED)) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      await l.dispatchJobs({ jobs: [wfJob("wf-3", "w3.0")] });
      const res = await l.dispatchJobs({ jobs: [wfJob("wf-1", "w1.1")] });
      expect(res.acks).toHaveLength(1);
      expect(res.acks[0]).toMatchObject({ attemptId: "w1.1", accepted: true, duplicate: false });
      await until(() => (gate.seen.has("w1.1") ? true : undefined));
      expect(gate.seen.get("w1.1")).toEqual({ items: fromValue(inputs.items) });
    });
  });

  it("falls back to the unary calls on a supervisor without Link", async () => {
    const supervisor = createSupervisor({ name: "old-sup", shutdownGraceMs: 50 });
    cleanup.push(() => supervisor.close());
    // An older supervisor: every method but Link.
    const { link: _omitted, ...older } = supervisor.service;
    const server = http2.createServer(connectNodeAdapter({ routes: (r: ConnectRouter) => r.service(SupervisorService, older), binaryOptions: SUPERVISOR_BINARY_OPTIONS }));
    const sessions = new Set<http2.Http2Session>();
    server.on("session", (s) => sessions.add(s));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    cleanup.push(() => new Promise<void>((r) => { server.close(() => r()); for (const s of sessions) s.destroy(); }));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

    const l = link(url);
    expect((await l.describeSupervisor({}, { timeoutMs: 5_000 })).name).toBe("old-sup");
    expect(l.mode()).toBe("unary");
    expect(l.credits("noop")).toBeUndefined();
    const j = job("noop");
    expect((await l.dispatchJobs({ jobs: [j] })).acks[0]!.accepted).toBe(true);
    const ctl = new AbortController();
    const w = follow(l.watchJobEvents({ afterSeq: 0n }, { signal: ctl.signal }));
    await until(() => (w.events().some((e) => e.attemptId === j.attemptId && e.kind.case === "finished") ? true : undefined));
    ctl.abort();
    await w.done;
  });

  it("falls back to the unary calls over the in-process transport (the embedded supervisor)", async () => {
    const supervisor = createSupervisor({ name: "embedded", shutdownGraceMs: 50 });
    cleanup.push(() => supervisor.close());
    const inProcess = createSupervisorLink(createInProcessTransport(SupervisorService, supervisor.service));
    expect((await inProcess.dispatchJobs({ jobs: [job("noop")] })).acks[0]!.accepted).toBe(true);
    expect(inProcess.mode()).toBe("unary");
  });
});
