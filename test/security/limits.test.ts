// Every limit, hit on a real coordinator, ends in a clear error naming it:
// request size, steps per workflow, payload size, output size (supervisor
// and coordinator), open streams per client, submissions per token per
// second, and the event log cap of both stores.
import { randomBytes } from "node:crypto";
import http2 from "node:http2";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { CoordinatorService } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { createCoordinatorClient } from "../../clients/node/index.js";
import { StepState, WorkflowState } from "../../src/engine/states.js";
import { parseTokens } from "../../src/server/auth.js";
import { createMemoryStore } from "../../src/store/memory/memory-store.js";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import { coordinator, PROTOCOLS, runYaml } from "../helpers/coordinator.js";
import { startRedis } from "../helpers/redis.js";
import { until } from "../helpers/wait.js";

const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c();
});

async function start(options: Parameters<typeof coordinator>[0]) {
  const c = await coordinator(options);
  closers.push(() => c.running.close());
  return c;
}

async function codeOf(p: Promise<unknown>): Promise<{ code: Code; message: string }> {
  try {
    await p;
  } catch (err) {
    const e = ConnectError.from(err);
    return { code: e.code, message: e.rawMessage };
  }
  throw new Error("expected an error");
}

const yaml = (steps: string[]) => `workflow:\n  name: l\n  steps:\n${steps.map((s) => `    - ${s}\n`).join("")}`;

describe("request, definition and output limits", () => {
  it("request size: Connect and JSON-RPC refuse a request over --max-request-bytes", async () => {
    const { running, client } = await start({ security: { maxRequestBytes: 10_000 } });
    const big = yaml([`{ id: a, runner: noop, payload: "${"x".repeat(20_000)}" }`]);
    const e = await codeOf(client.submitWorkflow({ definition: { case: "yaml", value: big } }));
    expect(e.code).toBe(Code.ResourceExhausted);
    expect(e.message).toMatch(/10000/);
    const grpc = createClient(CoordinatorService, PROTOCOLS["grpc over h2c"](running.url));
    expect((await codeOf(grpc.submitWorkflow({ definition: { case: "yaml", value: big } }))).code).toBe(Code.ResourceExhausted);
    const res = await fetch(`${running.url}/rpc`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "submit_workflow", params: { definition: { yaml: big } } }) });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("request body over 10000 bytes");
  });

  it("steps per workflow and payload size: INVALID_ARGUMENT naming the limit", async () => {
    const { client } = await start({ limits: { maxSteps: 2, maxPayloadBytes: 100 } });
    const steps = await codeOf(client.submitWorkflow({ definition: { case: "yaml", value: yaml(["{ id: a, runner: noop }", "{ id: b, runner: noop }", "{ id: c, runner: noop }"]) } }));
    expect(steps.code).toBe(Code.InvalidArgument);
    expect(steps.message).toMatch(/3 steps.*2|limit.*2/);
    const payload = await codeOf(client.submitWorkflow({ definition: { case: "yaml", value: yaml([`{ id: a, runner: noop, payload: "${"y".repeat(200)}" }`]) } }));
    expect(payload.code).toBe(Code.InvalidArgument);
    expect(payload.message).toMatch(/100/);
  });

  it("output size: the supervisor fails the step OUTPUT_TOO_LARGE, whatever the runner", async () => {
    const { client } = await start({ embeddedSupervisor: { maxOutputBytes: 1000 } });
    const wf = await runYaml(client, yaml([`{ id: a, runner: js, payload: "'z'.repeat(5000)" }`]));
    expect(wf.state).toBe(WorkflowState.FAILED);
    expect(wf.steps[0]!.state).toBe(StepState.FAILED);
    expect(wf.steps[0]!.error).toMatchObject({ code: "OUTPUT_TOO_LARGE", message: expect.stringContaining("1000 bytes") });
  });

  it("output size: the coordinator refuses an output over its own limit from any supervisor", async () => {
    const { client } = await start({ security: { maxOutputBytes: 1000 } });
    const wf = await runYaml(client, yaml([`{ id: a, runner: js, payload: "'z'.repeat(5000)" }`]));
    expect(wf.steps[0]!.error).toMatchObject({ code: "OUTPUT_TOO_LARGE", message: expect.stringContaining("coordinator's limit of 1000 bytes") });
  });
});

describe("per-client limits", () => {
  const a = randomBytes(20).toString("hex");
  const b = randomBytes(20).toString("hex");

  it("open streams per token: RESOURCE_EXHAUSTED past the limit, other tokens unaffected", async () => {
    const { running } = await start({ security: { tokens: parseTokens(`${a}\n${b}\n`, "t"), clientLimits: { maxStreamsPerClient: 2 } } });
    const ca = createCoordinatorClient(running.url, { token: a });
    const { workflowId } = await ca.submitWorkflow({ definition: { case: "yaml", value: yaml([`{ id: a, runner: shell, payload: "sleep 30" }`]) } });
    const stop = new AbortController();
    const open: Array<Promise<unknown>> = [];
    for (let i = 0; i < 2; i++) {
      const it = ca.watchWorkflow({ workflowId }, { signal: stop.signal })[Symbol.asyncIterator]();
      await it.next(); // the snapshot: the stream is open
      open.push(it.next().catch(() => undefined));
    }
    const third = await codeOf((async () => {
      for await (const _ of ca.watchWorkflow({ workflowId })) break;
    })());
    expect(third.code).toBe(Code.ResourceExhausted);
    expect(third.message).toContain("at most 2");
    // Another token has its own allowance; logs streams count too.
    const cb = createCoordinatorClient(running.url, { token: b });
    for await (const _ of cb.watchWorkflow({ workflowId })) break;
    expect((await codeOf((async () => {
      for await (const _ of ca.getWorkflowLogs({ workflowId, follow: true })) break;
    })())).code).toBe(Code.ResourceExhausted);
    stop.abort();
    await Promise.all(open);
    await ca.cancelWorkflow({ workflowId });
    // Closed streams give their places back.
    for (;;) {
      try {
        for await (const _ of ca.watchWorkflow({ workflowId })) break;
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });

  it("every streaming method counts, WatchWorkflows and WebSocket subscriptions included, in one allowance", async () => {
    const { running } = await start({ security: { tokens: parseTokens(`${a}\n`, "t"), clientLimits: { maxStreamsPerClient: 3 } } });
    const ca = createCoordinatorClient(running.url, { token: a });
    const stop = new AbortController();
    const open: Array<Promise<unknown>> = [];
    for (let i = 0; i < 2; i++) {
      const it = ca.watchWorkflows({ follow: true }, { signal: stop.signal })[Symbol.asyncIterator]();
      await it.next(); // the first batch: the stream is open
      open.push(it.next().catch(() => undefined));
    }
    // Over the WebSocket: the first subscription takes the last place, the next is refused.
    const ws = new WebSocket(`${running.url.replace("http", "ws")}/rpc/ws`, { headers: { authorization: `Bearer ${a}` } });
    const messages: Array<{ id?: number; result?: { subscription?: string }; params?: { subscription: string; result?: unknown; error?: { code: number; message: string } } }> = [];
    ws.on("message", (d) => messages.push(JSON.parse(String(d))));
    await new Promise((r, j) => ws.once("open", r).once("error", j));
    const subscribe = (id: number) => ws.send(JSON.stringify({ jsonrpc: "2.0", id, method: "watch_workflows", params: { follow: true } }));
    subscribe(1);
    const first = await until(() => messages.find((m) => m.id === 1)?.result?.subscription);
    await until(() => messages.find((m) => m.params?.subscription === first && m.params.result));
    subscribe(2);
    const second = await until(() => messages.find((m) => m.id === 2)?.result?.subscription);
    const refused = await until(() => messages.find((m) => m.params?.subscription === second && m.params.error)?.params?.error)
    expect(refused).toMatchObject({ code: -32008, message: expect.stringContaining("at most 3") });
    expect((await codeOf((async () => {
      for await (const _ of ca.watchWorkflows({ follow: true })) break;
    })())).code).toBe(Code.ResourceExhausted);
    ws.close();
    stop.abort();
    await Promise.all(open);
  });

  it("submissions per token per second: RESOURCE_EXHAUSTED naming the limit", async () => {
    const { running } = await start({ security: { tokens: parseTokens(`${a}\n${b}\n`, "t"), clientLimits: { submitsPerSecond: 1 } } });
    const ca = createCoordinatorClient(running.url, { token: a });
    const codes: Array<Code | "OK"> = [];
    let message = "";
    for (let i = 0; i < 10; i++) {
      try {
        await ca.submitWorkflow({ definition: { case: "yaml", value: yaml(["{ id: a, runner: noop }"]) } });
        codes.push("OK");
      } catch (err) {
        codes.push(ConnectError.from(err).code);
        message = ConnectError.from(err).rawMessage;
      }
    }
    expect(codes).toContain(Code.ResourceExhausted);
    expect(message).toContain("at most 1 per second per token");
    const cb = createCoordinatorClient(running.url, { token: b });
    await cb.submitWorkflow({ definition: { case: "yaml", value: yaml(["{ id: a, runner: noop }"]) } });
  });

  it("submissions per token per second: TriggerSchedule counts, as it starts a workflow", async () => {
    const { running } = await start({ security: { tokens: parseTokens(`${a}\n${b}\n`, "t"), clientLimits: { submitsPerSecond: 1 } } });
    const ca = createCoordinatorClient(running.url, { token: a });
    await ca.createSchedule({ schedule: { name: "limited", cron: "@yearly", target: { case: "yaml", value: yaml(["{ id: a, runner: noop }"]) } } });
    const codes: Array<Code | "OK"> = [];
    for (let i = 0; i < 10; i++) {
      codes.push(await ca.triggerSchedule({ name: "limited" }).then(() => "OK" as const, (err: unknown) => ConnectError.from(err).code));
    }
    expect(codes).toContain(Code.ResourceExhausted);
  });

  it("submissions per token per second: RunWorkflow counts, as it starts a workflow", async () => {
    const { running } = await start({ security: { tokens: parseTokens(`${a}\n${b}\n`, "t"), clientLimits: { submitsPerSecond: 1 } } });
    const ca = createCoordinatorClient(running.url, { token: a });
    const codes: Array<Code | "OK"> = [];
    for (let i = 0; i < 10; i++) {
      const first = async () => {
        for await (const m of ca.runWorkflow({ submit: { definition: { case: "yaml", value: yaml(["{ id: a, runner: noop }"]) } } })) return m.kind.case;
      };
      codes.push(await first().then(() => "OK" as const, (err: unknown) => ConnectError.from(err).code));
    }
    expect(codes).toContain(Code.ResourceExhausted);
    expect(codes.filter((c) => c === "OK").length).toBeLessThanOrEqual(3);
  });

  it("submissions per token per second: each definition of a SubmitWorkflows call counts; a batch over the burst is refused outright", async () => {
    const { running } = await start({ security: { tokens: parseTokens(`${a}\n${b}\n`, "t"), clientLimits: { submitsPerSecond: 1 } } });
    const ca = createCoordinatorClient(running.url, { token: a });
    const batch = (n: number) => ca.submitWorkflows({ workflows: Array.from({ length: n }, () => ({ definition: { case: "yaml" as const, value: yaml(["{ id: a, runner: noop }"]) } })) });
    // Rate 1 bursts to 2: three can never fit, whatever the wait.
    const over = await codeOf(batch(3));
    expect(over.code).toBe(Code.InvalidArgument);
    expect(over.message).toContain("a batch of 3 submissions is more than this server's burst of 2 per token");
    expect((await batch(2)).workflows).toHaveLength(2);
    // The bucket is empty now: the next two need two seconds of refill.
    const empty = await codeOf(batch(2));
    expect(empty.code).toBe(Code.ResourceExhausted);
    expect(empty.message).toContain("each definition of a SubmitWorkflows call counts as one");
  });
});

describe("event log cap", () => {
  const many = yaml(Array.from({ length: 60 }, (_, i) => `{ id: s${i}, runner: noop }`));

  it("the memory store keeps at most about the cap; a watcher from the start still ends", async () => {
    const store = createMemoryStore({ maxEventsPerWorkflow: 20 });
    const { client } = await start({ store });
    const wf = await runYaml(client, many);
    expect(wf.state).toBe(WorkflowState.SUCCEEDED);
    const events = await store.readEvents(wf.id, "", 10_000);
    expect(events.length).toBeLessThanOrEqual(22);
    // Resuming from a trimmed cursor continues at the oldest kept event.
    const from = await store.readEvents(wf.id, "1", 10_000);
    expect(from.length).toBe(events.length);
  });

  it("the Redis store trims the stream (XTRIM MAXLEN ~)", async () => {
    const redis = await startRedis();
    closers.push(() => redis.remove());
    const store = await createRedisStore({ url: redis.url, maxEventsPerWorkflow: 10 });
    const { client } = await start({ store });
    const wf = await runYaml(client, yaml(Array.from({ length: 400 }, (_, i) => `{ id: s${i}, runner: noop }`)));
    expect(wf.state).toBe(WorkflowState.SUCCEEDED);
    const events = await store.readEvents(wf.id, "", 100_000);
    // 400 steps make well over 1,000 events; approximate trimming keeps whole stream nodes of about 100.
    expect(events.length).toBeLessThan(400);
    expect(events.at(-1)).toMatchObject({ kind: "workflow", state: WorkflowState.SUCCEEDED });
  });
});

describe("malformed and oversized requests", () => {
  /** A varint, as protobuf writes lengths and tags. */
  function varint(n: number): number[] {
    const out: number[] = [];
    while (n > 0x7f) {
      out.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    out.push(n);
    return out;
  }
  const field = (tag: number, body: Uint8Array) => Uint8Array.from([...varint((tag << 3) | 2), ...varint(body.length), ...body]);

  /** SubmitWorkflowRequest whose input "x" is a google.protobuf.Value of lists nested `depth` deep. */
  function deepSubmit(depth: number): Uint8Array {
    // Value{list_value: ListValue{values: [...]}} around Value{null_value: 0}, written
    // outside in from the sizes (copying the message at every level would be quadratic).
    const prefixes: number[][] = [];
    let size = 2;
    for (let i = 0; i < depth; i++) {
      const list = [...varint((1 << 3) | 2), ...varint(size)];
      size += list.length;
      const value = [...varint((6 << 3) | 2), ...varint(size)];
      size += value.length;
      prefixes.push([...value, ...list]);
    }
    const value = new Uint8Array(size);
    let at = 0;
    for (let i = prefixes.length - 1; i >= 0; i--) {
      value.set(prefixes[i]!, at);
      at += prefixes[i]!.length;
    }
    value.set([0x08, 0x00], at);
    const entry = Uint8Array.from([...field(1, new TextEncoder().encode("x")), ...field(2, value)]);
    return Uint8Array.from([...field(1, new TextEncoder().encode("workflow: {}")), ...field(3, entry)]);
  }
  const frame = (msg: Uint8Array) => Uint8Array.from([0, ...[24, 16, 8, 0].map((s) => (msg.length >>> s) & 0xff), ...msg]);
  const PATH = "/horus.coordinator.v1.CoordinatorService/SubmitWorkflow";

  it("a protobuf binary message nested 10,000 deep is INVALID_ARGUMENT on Connect, gRPC and gRPC-web, not INTERNAL", async () => {
    const { running } = await start({});
    const deep = deepSubmit(10_000);
    const connect = await fetch(running.url + PATH, { method: "POST", headers: { "content-type": "application/proto" }, body: deep });
    expect(connect.status).toBe(400);
    // protobuf-es stops at BINARY_READ_OPTIONS.recursionLimit, or the stack ends first.
    expect(await connect.json()).toMatchObject({ code: "invalid_argument", message: expect.stringMatching(/^parse binary: .*(recursion depth|call stack)/) });

    const web = await fetch(running.url + PATH, { method: "POST", headers: { "content-type": "application/grpc-web+proto" }, body: frame(deep) });
    expect(new TextDecoder().decode(new Uint8Array(await web.arrayBuffer()))).toMatch(/grpc-status: ?3\r\n/);

    const grpc = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const session = http2.connect(running.url);
      const req = session.request({ ":method": "POST", ":path": PATH, "content-type": "application/grpc", te: "trailers" });
      let headers: Record<string, unknown> = {};
      req.on("response", (h) => (headers = { ...h }));
      req.on("trailers", (t) => (headers = { ...headers, ...t }));
      req.on("data", () => {});
      req.on("end", () => {
        session.close();
        resolve(headers);
      });
      req.on("error", reject);
      req.end(frame(deep));
    });
    expect(grpc["grpc-status"]).toBe("3");

    // And one that is not deep still goes through to validation, as before.
    const shallow = await fetch(running.url + PATH, { method: "POST", headers: { "content-type": "application/proto" }, body: deepSubmit(3) });
    expect(shallow.status).toBe(400);
    expect(await shallow.json()).toMatchObject({ code: "invalid_argument", message: expect.stringMatching(/invalid workflow/) });
  });
});

describe("ids in errors", () => {
  const long = `s${"x".repeat(9_999)}`;

  it("a 10,000-character step id is shown truncated in messages and problem step ids", async () => {
    const { client } = await start({});
    const text = yaml([`{ id: ${long}, runner: noop }`, `{ id: b, runner: noop, depends_on: [${long}x] }`]);
    const e = await codeOf(client.submitWorkflow({ definition: { case: "yaml", value: text } }));
    expect(e.code).toBe(Code.InvalidArgument);
    expect(e.message).toContain(`step "${long.slice(0, 64)}… (10000 characters)": id must start`);
    expect(e.message).toContain(`depends on unknown step "${long.slice(0, 64)}… (10001 characters)"`);
    expect(e.message.length).toBeLessThan(1_000);
    const v = await client.validateWorkflow({ definition: { case: "yaml", value: text } });
    expect(v.valid).toBe(false);
    for (const p of v.problems) {
      expect(p.stepId.length).toBeLessThan(100);
      expect(p.message.length).toBeLessThan(500);
    }
  });
});
