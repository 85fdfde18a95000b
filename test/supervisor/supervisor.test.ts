import { afterEach, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createHandlerContext, createRouterTransport, type Client } from "@connectrpc/connect";
import {
  JobState,
  SupervisorService,
  WatchJobEventsRequestSchema,
  type JobEvent,
  type WatchJobEventsResponse,
} from "../../gen/horus/coordinator/v1/supervisor_pb.js";
import { LogStream } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { fromValue, msDuration, toValueMap, type JsonMap } from "../../src/common/json.js";
import { MAX_OUTPUT_DEPTH, SUPERVISOR_BINARY_OPTIONS } from "../../src/common/depth.js";
import { createSupervisor, type Supervisor, type SupervisorOptions } from "../../src/supervisor/index.js";

type SupervisorClient = Client<typeof SupervisorService>;

const open: Supervisor[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

function setup(options: SupervisorOptions = {}): { sup: Supervisor; client: SupervisorClient } {
  const sup = createSupervisor({ name: "test-sup", shutdownGraceMs: 100, ...options });
  open.push(sup);
  // The protobuf options of the real supervisor link (deep outputs need them).
  const transport = createRouterTransport(({ service }) => service(SupervisorService, sup.service), {
    transport: { binaryOptions: SUPERVISOR_BINARY_OPTIONS },
    router: { binaryOptions: SUPERVISOR_BINARY_OPTIONS },
  });
  return { sup, client: createClient(SupervisorService, transport) };
}

let n = 0;
function job(runner: string, payload = "", extra: { input?: JsonMap; timeoutMs?: number; attemptId?: string } = {}) {
  n++;
  return {
    attemptId: extra.attemptId ?? `a-${n}`,
    workflowId: "wf-1",
    stepId: `s-${n}`,
    attempt: 1,
    runner,
    payload,
    input: toValueMap(extra.input ?? {}),
    ...(extra.timeoutMs !== undefined ? { timeout: msDuration(extra.timeoutMs) } : {}),
  };
}

/** Follows WatchJobEvents in the background. */
function watch(client: SupervisorClient, afterSeq = 0n) {
  const controller = new AbortController();
  const messages: WatchJobEventsResponse[] = [];
  const events: JobEvent[] = [];
  let ended = false;
  let failure: unknown;
  const done = (async () => {
    try {
      for await (const msg of client.watchJobEvents({ afterSeq }, { signal: controller.signal })) {
        messages.push(msg);
        events.push(...msg.events);
      }
    } catch (err) {
      if (!controller.signal.aborted) failure = err;
    } finally {
      ended = true;
    }
  })();
  return {
    messages,
    events,
    get ended() {
      return ended;
    },
    get failure() {
      return failure;
    },
    finished: () => events.filter((e) => e.kind.case === "finished"),
    ofAttempt: (id: string) => events.filter((e) => e.attemptId === id),
    /** Ends the stream; fails if it had ended with an error. */
    async stop() {
      controller.abort();
      await done;
      if (failure !== undefined) throw failure;
    },
    done,
  };
}

async function waitFor(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

function finishedOf(events: JobEvent[], attemptId: string) {
  const ev = events.find((e) => e.attemptId === attemptId && e.kind.case === "finished");
  return ev?.kind.case === "finished" ? ev.kind.value : undefined;
}

describe("supervisor", () => {
  it("describes itself", async () => {
    const { sup, client } = setup({ labels: { zone: "a" }, capacity: { shell: 3 } });
    const info = await client.describeSupervisor({});
    expect(info.name).toBe("test-sup");
    expect(info.instanceId).toBe(sup.instanceId);
    expect(info.labels).toEqual({ zone: "a" });
    expect(info.lastSeq).toBe(0n);
    const runners = Object.fromEntries(info.runners.map((r) => [r.name, r.capacity]));
    expect(runners).toEqual({ js: 8, shell: 3, noop: 1000 });
  });

  it("runs a batch of 2,000 noop jobs and streams every event once, in sequence", async () => {
    const { sup, client } = setup();
    const w = watch(client);
    const jobs = Array.from({ length: 2000 }, (_, i) => job("noop", "", { input: { dep: { i } } }));
    const res = await client.dispatchJobs({ jobs });
    expect(res.instanceId).toBe(sup.instanceId);
    expect(res.acks.every((a) => a.accepted && !a.duplicate)).toBe(true);
    await waitFor(() => w.finished().length === 2000);
    expect(w.events.length).toBe(4000);
    expect(w.events.map((e) => Number(e.seq))).toEqual(Array.from({ length: 4000 }, (_, i) => i + 1));
    expect(w.messages.every((m) => m.instanceId === sup.instanceId && m.events.length <= 500)).toBe(true);
    for (const j of jobs.slice(0, 5)) {
      const evs = w.ofAttempt(j.attemptId);
      expect(evs.map((e) => e.kind.case)).toEqual(["started", "finished"]);
      const fin = finishedOf(w.events, j.attemptId)!;
      expect(fin.succeeded).toBe(true);
      expect(fromValue(fin.output)).toEqual({ dep: fromValue(j.input.dep) });
    }
    await w.stop();
    expect(sup.stats().watchers).toBe(0);
  });

  it("acknowledges a repeated attempt id without running it twice", async () => {
    const { client } = setup();
    const w = watch(client);
    const j = job("shell", "echo hi");
    const first = await client.dispatchJobs({ jobs: [j, j] });
    expect(first.acks.map((a) => [a.accepted, a.duplicate])).toEqual([
      [true, false],
      [true, true],
    ]);
    await waitFor(() => w.finished().length === 1);
    const again = await client.dispatchJobs({ jobs: [j] });
    expect(again.acks[0]).toMatchObject({ attemptId: j.attemptId, accepted: true, duplicate: true });
    await new Promise((r) => setTimeout(r, 100));
    expect(w.ofAttempt(j.attemptId).filter((e) => e.kind.case === "started")).toHaveLength(1);
    expect(w.finished()).toHaveLength(1);
    await w.stop();
  });

  it("refuses unknown runners and jobs without an attempt id", async () => {
    const { client } = setup();
    const res = await client.dispatchJobs({ jobs: [job("python", "print(1)"), job("noop", "", { attemptId: "" })] });
    expect(res.acks[0]).toMatchObject({ accepted: false });
    expect(res.acks[0]!.reason).toMatch(/unknown runner "python"/);
    expect(res.acks[1]).toMatchObject({ accepted: false });
    const status = await client.getJobs({ attemptIds: [res.acks[0]!.attemptId] });
    expect(status.jobs[0]!.state).toBe(JobState.UNKNOWN);
  });

  it("never runs more jobs of a runner than its capacity; the rest wait in order", async () => {
    const { sup, client } = setup({ capacity: { shell: 2 } });
    const w = watch(client);
    const jobs = Array.from({ length: 5 }, () => job("shell", "sleep 0.3; echo done"));
    const res = await client.dispatchJobs({ jobs });
    expect(res.acks.every((a) => a.accepted)).toBe(true);

    let maxRunning = 0;
    let sawQueued = false;
    while (w.finished().length < 5) {
      const info = await client.describeSupervisor({});
      const shell = info.runners.find((r) => r.name === "shell")!;
      expect(shell.capacity).toBe(2);
      maxRunning = Math.max(maxRunning, shell.running);
      const stats = sup.stats().runners.shell!;
      expect(stats.running).toBeLessThanOrEqual(2);
      if (stats.queued > 0) sawQueued = true;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(maxRunning).toBe(2);
    expect(sawQueued).toBe(true);

    // The same from the events: at no point more than two started and unfinished.
    let live = 0;
    let peak = 0;
    for (const e of w.events) {
      if (e.kind.case === "started") peak = Math.max(peak, ++live);
      if (e.kind.case === "finished") live--;
    }
    expect(peak).toBe(2);
    // FIFO: jobs start in the order they were dispatched.
    const startOrder = w.events.filter((e) => e.kind.case === "started").map((e) => e.attemptId);
    expect(startOrder).toEqual(jobs.map((j) => j.attemptId));
    await w.stop();
  });

  it("answers GetJobs for queued, running, finished and unknown attempts", async () => {
    const { client } = setup({ capacity: { shell: 1 } });
    const w = watch(client);
    const ok = job("noop", "", { input: { a: 1 } });
    const bad = job("shell", "echo nope >&2; exit 4");
    await client.dispatchJobs({ jobs: [ok, bad] });
    await waitFor(() => w.finished().length === 2);

    const slow = job("shell", "sleep 30");
    const waiting = job("shell", "echo never");
    await client.dispatchJobs({ jobs: [slow, waiting] });
    await waitFor(() => w.ofAttempt(slow.attemptId).some((e) => e.kind.case === "started"));

    const res = await client.getJobs({ attemptIds: [ok.attemptId, bad.attemptId, slow.attemptId, waiting.attemptId, "nope"] });
    const [okS, badS, slowS, waitingS, unknownS] = res.jobs;
    expect(okS).toMatchObject({ attemptId: ok.attemptId, state: JobState.SUCCEEDED });
    expect(fromValue(okS!.output)).toEqual({ a: 1 });
    expect(okS!.startedAt).toBeDefined();
    expect(okS!.finishedAt).toBeDefined();
    expect(badS).toMatchObject({ state: JobState.FAILED, error: { code: "EXIT_CODE", message: "exit code 4: nope" } });
    expect(slowS).toMatchObject({ state: JobState.RUNNING });
    expect(slowS!.finishedAt).toBeUndefined();
    expect(waitingS).toMatchObject({ state: JobState.QUEUED });
    expect(unknownS).toMatchObject({ attemptId: "nope", state: JobState.UNKNOWN });

    const cancelled = await client.cancelJobs({ attemptIds: [slow.attemptId, waiting.attemptId, "nope"], reason: "test over" });
    expect(cancelled.cancelled.sort()).toEqual([slow.attemptId, waiting.attemptId].sort());
    await w.stop();
  });

  it("forgets finished jobs after the retention time", async () => {
    let clock = 1_000_000;
    const { client } = setup({ finishedRetentionMs: 60_000, now: () => clock });
    const w = watch(client);
    const j = job("noop");
    await client.dispatchJobs({ jobs: [j] });
    await waitFor(() => w.finished().length === 1);
    expect((await client.getJobs({ attemptIds: [j.attemptId] })).jobs[0]!.state).toBe(JobState.SUCCEEDED);
    clock += 61_000;
    expect((await client.getJobs({ attemptIds: [j.attemptId] })).jobs[0]!.state).toBe(JobState.UNKNOWN);
    await w.stop();
  });

  it("bounds the bytes of outputs it holds: the oldest finished jobs go first, the newest stays", async () => {
    // A runner whose output is a string of `payload` characters (JSON: 2 more bytes).
    const big = { name: "big", run: async (ctx: { job: { payload: string } }) => ({ ok: true as const, output: "x".repeat(Number(ctx.job.payload)) }) };
    const { sup, client } = setup({ runners: new Map([["big", big]]), maxHeldOutputBytes: 10_000, eventBufferBytes: 12_000 });
    const idle = () => sup.stats().running === 0 && sup.stats().queued === 0;
    const jobs = Array.from({ length: 10 }, () => job("big", "2998"));
    await client.dispatchJobs({ jobs });
    await waitFor(() => idle() && sup.stats().lastSeq === 20);
    const states = (await client.getJobs({ attemptIds: jobs.map((j) => j.attemptId) })).jobs.map((j) => j.state);
    // 3 outputs of 3,000 bytes fit in 10,000; the 7 oldest were forgotten.
    expect(states).toEqual([...Array(7).fill(JobState.UNKNOWN), ...Array(3).fill(JobState.SUCCEEDED)]);
    const stats = sup.stats();
    expect(stats.heldOutputBytes).toBe(9_000);
    // The event buffer keeps what fits in its own budget, newest first.
    expect(stats.eventBytes).toBeLessThanOrEqual(12_000);
    expect(stats.oldestSeq).toBeGreaterThan(1);
    const w = watch(client);
    await waitFor(() => w.messages.length > 0);
    expect(w.events[0]!.seq).toBe(BigInt(stats.oldestSeq));
    await w.stop();
    // One output larger than the whole budget is still kept until the next one finishes.
    const huge = job("big", "20000");
    await client.dispatchJobs({ jobs: [huge] });
    await waitFor(() => idle() && sup.stats().lastSeq === 22);
    expect((await client.getJobs({ attemptIds: [huge.attemptId] })).jobs[0]!.state).toBe(JobState.SUCCEEDED);
    expect(sup.stats().heldOutputBytes).toBe(20_002);
  });

  it("resumes the event stream after a sequence number", async () => {
    const { client } = setup();
    const w = watch(client);
    await client.dispatchJobs({ jobs: [job("noop"), job("noop"), job("noop")] });
    await waitFor(() => w.finished().length === 3);
    await w.stop();
    expect(w.events).toHaveLength(6);

    const resumed = watch(client, 4n);
    await waitFor(() => resumed.messages.length > 0);
    expect(resumed.messages[0]!.gap).toBe(false);
    expect(resumed.events.map((e) => e.seq)).toEqual([5n, 6n]);

    // New events follow on the same stream.
    const later = job("noop");
    await client.dispatchJobs({ jobs: [later] });
    await waitFor(() => resumed.events.length === 4);
    expect(resumed.events.map((e) => e.seq)).toEqual([5n, 6n, 7n, 8n]);
    expect(resumed.events.slice(2).every((e) => e.attemptId === later.attemptId)).toBe(true);

    // Up to date: the first message is empty and says which instance this is.
    const fresh = watch(client, 8n);
    await waitFor(() => fresh.messages.length > 0);
    expect(fresh.messages[0]!.events).toHaveLength(0);
    expect(fresh.messages[0]!.gap).toBe(false);
    await resumed.stop();
    await fresh.stop();
  });

  it("flags a gap when the requested events are no longer kept", async () => {
    const { sup, client } = setup({ eventBufferSize: 10 });
    await client.dispatchJobs({ jobs: Array.from({ length: 10 }, () => job("noop")) });
    await waitFor(() => sup.stats().lastSeq === 20 && sup.stats().running === 0);

    const gapped = watch(client, 2n);
    await waitFor(() => gapped.messages.length > 0);
    expect(gapped.messages[0]!.gap).toBe(true);
    expect(gapped.events.map((e) => Number(e.seq))).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);

    const fromStart = watch(client, 0n);
    await waitFor(() => fromStart.messages.length > 0);
    expect(fromStart.messages[0]!.gap).toBe(false);
    expect(fromStart.events[0]!.seq).toBe(11n);

    const justInTime = watch(client, 10n);
    await waitFor(() => justInTime.messages.length > 0);
    expect(justInTime.messages[0]!.gap).toBe(false);
    await Promise.all([gapped.stop(), fromStart.stop(), justInTime.stop()]);
  });

  it("sends everything kept to a watcher whose sequence number is from another instance", async () => {
    const { client } = setup();
    const w = watch(client);
    await client.dispatchJobs({ jobs: [job("noop")] });
    await waitFor(() => w.finished().length === 1);
    const stale = watch(client, 1_000n);
    await waitFor(() => stale.events.length === 2);
    expect(stale.events.map((e) => e.seq)).toEqual([1n, 2n]);
    await Promise.all([w.stop(), stale.stop()]);
  });

  it("cancels running and queued jobs", async () => {
    const { client } = setup({ capacity: { shell: 1 } });
    const w = watch(client);
    const running = job("shell", "sleep 100");
    const queued = job("shell", "echo never");
    await client.dispatchJobs({ jobs: [running, queued] });
    await waitFor(() => w.ofAttempt(running.attemptId).some((e) => e.kind.case === "started"));

    const res = await client.cancelJobs({ attemptIds: [queued.attemptId, running.attemptId], reason: "user request" });
    expect(res.cancelled).toEqual([queued.attemptId, running.attemptId]);
    await waitFor(() => w.finished().length === 2);

    expect(finishedOf(w.events, running.attemptId)).toMatchObject({ succeeded: false, error: { code: "CANCELLED" } });
    expect(finishedOf(w.events, queued.attemptId)).toMatchObject({ succeeded: false, error: { code: "CANCELLED", message: "cancelled: user request" } });
    // The queued job never started.
    expect(w.ofAttempt(queued.attemptId).map((e) => e.kind.case)).toEqual(["finished"]);
    const sys = w.ofAttempt(running.attemptId).filter((e) => e.kind.case === "log" && e.kind.value.stream === LogStream.SYSTEM);
    expect(sys).toHaveLength(1);

    // Cancelling a finished job is a no-op.
    expect((await client.cancelJobs({ attemptIds: [running.attemptId] })).cancelled).toEqual([]);
    await w.stop();
  });

  it("a cancel that overtakes its dispatch is kept: the job arrives, is acknowledged and finishes CANCELLED without running", async () => {
    const { client } = setup();
    const w = watch(client);
    const late = job("js", "1 + 1");
    expect((await client.cancelJobs({ attemptIds: [late.attemptId], reason: "workflow cancelled" })).cancelled).toEqual([]);
    const res = await client.dispatchJobs({ jobs: [late] });
    expect(res.acks).toMatchObject([{ attemptId: late.attemptId, accepted: true }]);
    await waitFor(() => w.finished().length === 1);
    expect(finishedOf(w.events, late.attemptId)).toMatchObject({ succeeded: false, error: { code: "CANCELLED", message: "cancelled: workflow cancelled" } });
    expect(w.ofAttempt(late.attemptId).map((e) => e.kind.case)).toEqual(["finished"]);
    // Only that attempt: another one still runs.
    const other = job("js", "2 + 2");
    await client.dispatchJobs({ jobs: [other] });
    await waitFor(() => w.finished().length === 2);
    expect(finishedOf(w.events, other.attemptId)).toMatchObject({ succeeded: true });
    await w.stop();
  });

  it("a superseded stop (the attempt runs elsewhere) finishes the job ATTEMPT_LOST, not CANCELLED, whether it came before or after the job", async () => {
    const { client } = setup();
    const w = watch(client);
    const running = job("shell", "sleep 5");
    await client.dispatchJobs({ jobs: [running] });
    await waitFor(() => w.ofAttempt(running.attemptId).some((e) => e.kind.case === "started"));
    await client.cancelJobs({ attemptIds: [running.attemptId], reason: "re-dispatched elsewhere", superseded: true });
    const early = job("js", "1 + 1");
    await client.cancelJobs({ attemptIds: [early.attemptId], reason: "re-dispatched elsewhere", superseded: true });
    await client.dispatchJobs({ jobs: [early] });
    await waitFor(() => w.finished().length === 2);
    for (const id of [running.attemptId, early.attemptId]) {
      expect(finishedOf(w.events, id)).toMatchObject({ succeeded: false, error: { code: "ATTEMPT_LOST", message: "stopped: re-dispatched elsewhere" } });
    }
    await w.stop();
  });

  it("fails an output nested deeper than the link can carry with OUTPUT_TOO_DEEP, and passes one just inside the limit", async () => {
    const { client } = setup();
    const w = watch(client);
    const nest = (n: number) => `let v = 1; for (let i = 0; i < ${n}; i++) v = { v }; v`;
    const deep = job("js", nest(MAX_OUTPUT_DEPTH + 1));
    const ok = job("js", nest(MAX_OUTPUT_DEPTH));
    await client.dispatchJobs({ jobs: [deep, ok] });
    await waitFor(() => w.finished().length === 2);
    expect(finishedOf(w.events, deep.attemptId)).toMatchObject({ succeeded: false, error: { code: "OUTPUT_TOO_DEEP" } });
    expect(finishedOf(w.events, ok.attemptId), JSON.stringify(finishedOf(w.events, ok.attemptId)?.error)).toMatchObject({ succeeded: true });
    await w.stop();
  });

  it("streams log lines of js and shell jobs and applies the job timeout", async () => {
    const { client } = setup();
    const w = watch(client);
    const js = job("js", 'console.log("from js"); console.error("js err"); input.x * 2', { input: { x: 21 } });
    const sh = job("shell", "echo line1 >&2; echo '{\"ok\":true}'");
    const slow = job("shell", "sleep 30", { timeoutMs: 300 });
    await client.dispatchJobs({ jobs: [js, sh, slow] });
    await waitFor(() => w.finished().length === 3);

    const logs = (id: string) =>
      w.ofAttempt(id).flatMap((e) => (e.kind.case === "log" ? [[e.kind.value.stream, e.kind.value.line] as const] : []));
    expect(logs(js.attemptId)).toEqual([
      [LogStream.STDOUT, "from js"],
      [LogStream.STDERR, "js err"],
    ]);
    expect(logs(sh.attemptId)).toContainEqual([LogStream.STDOUT, '{"ok":true}']);
    expect(logs(sh.attemptId)).toContainEqual([LogStream.STDERR, "line1"]);
    expect(fromValue(finishedOf(w.events, js.attemptId)!.output)).toBe(42);
    expect(fromValue(finishedOf(w.events, sh.attemptId)!.output)).toEqual({ ok: true });
    expect(finishedOf(w.events, slow.attemptId)).toMatchObject({ succeeded: false, error: { code: "TIMEOUT" } });
    for (const id of [js.attemptId, sh.attemptId, slow.attemptId]) {
      const kinds = w.ofAttempt(id).map((e) => e.kind.case);
      expect(kinds[0]).toBe("started");
      expect(kinds.filter((k) => k === "finished")).toHaveLength(1);
      expect(kinds.at(-1)).toBe("finished");
    }
    await w.stop();
  });

  it("cuts long log lines and stops logging a chatty job", async () => {
    const { client } = setup({ logLineMaxBytes: 100, maxLogLinesPerJob: 5 });
    const w = watch(client);
    const long = job("js", 'console.log("y".repeat(1000)); 1');
    const chatty = job("js", 'for (let i = 0; i < 50; i++) console.log("line " + i); "done"');
    await client.dispatchJobs({ jobs: [long, chatty] });
    await waitFor(() => w.finished().length === 2);
    const lines = (id: string) => w.ofAttempt(id).flatMap((e) => (e.kind.case === "log" ? [e.kind.value] : []));
    const [cut] = lines(long.attemptId);
    expect(cut!.line.startsWith("y".repeat(100))).toBe(true);
    expect(cut!.line).toMatch(/900 bytes cut/);
    const chat = lines(chatty.attemptId);
    expect(chat).toHaveLength(6);
    expect(chat[5]!.stream).toBe(LogStream.SYSTEM);
    expect(fromValue(finishedOf(w.events, chatty.attemptId)!.output)).toBe("done");
    await w.stop();
  });

  it("ends a stream that fell behind the event buffer with an error", async () => {
    const { client } = setup({ eventBufferSize: 4 });
    const { sup } = { sup: open.at(-1)! };
    const ctx = createHandlerContext({
      service: SupervisorService,
      method: SupervisorService.method.watchJobEvents,
      protocolName: "test",
      requestMethod: "POST",
      url: "/",
    });
    const stream = sup.service.watchJobEvents(create(WatchJobEventsRequestSchema, { afterSeq: 0n }), ctx)[Symbol.asyncIterator]();
    const first = await stream.next();
    expect(first.value?.events).toEqual([]);
    // The stream is not read while 10 events arrive: 6 of them are overwritten.
    await client.dispatchJobs({ jobs: Array.from({ length: 5 }, () => job("noop")) });
    await waitFor(() => sup.stats().lastSeq === 10 && sup.stats().running === 0);
    const err = await stream.next().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Aborted);
    ctx.abort();
    expect(sup.stats().watchers).toBe(0);
  });

  it("lets a client abort its stream without leaking a watcher", async () => {
    const { sup, client } = setup();
    const streams = Array.from({ length: 5 }, () => watch(client));
    await waitFor(() => streams.every((s) => s.messages.length > 0));
    expect(sup.stats().watchers).toBe(5);
    await Promise.all(streams.map((s) => s.stop()));
    await waitFor(() => sup.stats().watchers === 0);
  });

  it("on close: refuses new jobs, stops queued and running ones as ATTEMPT_LOST (to run again elsewhere), ends streams", async () => {
    const { sup, client } = setup({ capacity: { shell: 1 }, shutdownGraceMs: 100 });
    const w = watch(client);
    const running = job("shell", "sleep 100");
    const queued = job("shell", "echo never");
    await client.dispatchJobs({ jobs: [running, queued] });
    await waitFor(() => w.ofAttempt(running.attemptId).some((e) => e.kind.case === "started"));

    const closing = sup.close();
    const refused = await client.dispatchJobs({ jobs: [job("noop")] });
    expect(refused.acks[0]).toMatchObject({ accepted: false, reason: "shutting down" });
    await closing;
    await w.done;
    expect(w.ended).toBe(true);
    expect(w.failure).toBeUndefined();
    // Not the step's doing: ATTEMPT_LOST makes the coordinator run them again elsewhere.
    expect(finishedOf(w.events, running.attemptId)).toMatchObject({ succeeded: false, error: { code: "ATTEMPT_LOST", message: "stopped: supervisor shutting down" } });
    expect(finishedOf(w.events, queued.attemptId)).toMatchObject({ succeeded: false, error: { code: "ATTEMPT_LOST" } });
    expect(sup.stats().watchers).toBe(0);
    expect(sup.stats().running).toBe(0);
  });

  it("falls back to the default timeout when a job has none", async () => {
    const { client } = setup({ defaultTimeoutMs: 300 });
    const w = watch(client);
    const slow = job("shell", "sleep 30");
    await client.dispatchJobs({ jobs: [slow] });
    await waitFor(() => w.finished().length === 1);
    expect(finishedOf(w.events, slow.attemptId)).toMatchObject({ error: { code: "TIMEOUT" } });
    await w.stop();
  });

  it("turns a runner that throws or returns nonsense into RUNNER_ERROR", async () => {
    const runners = new Map([
      ["throws", { name: "throws", run: () => { throw new Error("kaput"); } }],
      ["rejects", { name: "rejects", run: () => Promise.reject(new Error("nope")) }],
      ["junk", { name: "junk", run: () => Promise.resolve(undefined as never) }],
    ]);
    const { client } = setup({ runners });
    const w = watch(client);
    const jobs = [job("throws"), job("rejects"), job("junk")];
    await client.dispatchJobs({ jobs });
    await waitFor(() => w.finished().length === 3);
    for (const j of jobs) expect(finishedOf(w.events, j.attemptId)).toMatchObject({ succeeded: false, error: { code: "RUNNER_ERROR" } });
    await w.stop();
  });
});
