// The Node client against a real coordinator: the README example, plain JSON
// inputs and outputs, the bearer token on the wire, and watchWorkflow
// resuming after the connection is cut.
import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { example } from "../../clients/node/example.js";
import { createCoordinatorClient, watchWorkflow, WorkflowState, type Plain, type WatchWorkflowResponse as WatchMessage } from "../../clients/node/index.js";
import type { RunningCoordinator } from "../../src/coordinator/app.js";
import { MAX_OUTPUT_DEPTH } from "../../src/common/depth.js";
import { coordinator } from "../helpers/coordinator.js";
import { tcpProxy } from "../helpers/proxy.js";
import { readmeSnippet } from "./readme.js";

let running: RunningCoordinator;
beforeAll(async () => {
  ({ running } = await coordinator());
});
afterAll(async () => {
  await running.close();
});

type WatchWorkflowResponse = Plain<WatchMessage>;

describe("README example", () => {
  it("is clients/node/example.ts verbatim", () => {
    expect(readmeSnippet("clients/node/README.md")).toBe(readFileSync("clients/node/example.ts", "utf8"));
  });

  it("runs against a live coordinator: submit with plain JSON inputs (a null among them), watch to the end, read plain outputs", async () => {
    const result = await example(running.url, "secret");
    expect(result.state).toBe("SUCCEEDED");
    expect(result.events).toBeGreaterThan(0);
    expect(result.outputs).toEqual({ fetch: { rows: [21, 2, 3], note: null }, sum: 26 });
  });
});

describe("plain JSON at the edges", () => {
  const yaml = `workflow:\n  name: plain\n  steps:\n    - { id: echo, runner: js, payload: "inputs" }\n`;
  const inputs = { n: 21, nothing: null, list: [1, "two", { three: [true, false] }], nested: { a: { b: null } }, text: "ok" };

  for (const protocol of ["connect", "grpc"] as const) {
    it(`${protocol}: inputs go in and outputs, watch events and the workflow's inputs come back as the same JSON`, async () => {
      const client = createCoordinatorClient(running.url, { protocol });
      const { workflowId } = await client.submitWorkflow({ definition: { case: "yaml", value: yaml }, inputs });
      // The output as the watch shows it: in a step event, or in the
      // snapshot when the workflow had already ended (a busy machine).
      const outputsSeen: unknown[] = [];
      for await (const msg of watchWorkflow(client, workflowId)) {
        if (msg.kind.case === "snapshot") outputsSeen.push(...msg.kind.value.steps.flatMap((s) => (s.output === undefined ? [] : [s.output])));
        if (msg.kind.case === "event" && msg.kind.value.kind.case === "step" && msg.kind.value.kind.value.output !== undefined) outputsSeen.push(msg.kind.value.kind.value.output);
      }
      const { workflow } = await client.getWorkflow({ workflowId });
      expect(workflow!.state).toBe(WorkflowState.SUCCEEDED);
      expect(workflow!.inputs).toEqual(inputs);
      expect(workflow!.steps[0]!.output).toEqual(inputs);
      expect(outputsSeen).toEqual([inputs]);
    });
  }

  it("submitWorkflows: each definition's plain JSON inputs go in, results come back in order", async () => {
    const client = createCoordinatorClient(running.url, { protocol: "grpc" });
    const { workflows } = await client.submitWorkflows({
      workflows: [
        { definition: { case: "yaml", value: yaml }, inputs },
        { definition: { case: "yaml", value: yaml }, inputs: { other: [null, 2] } },
      ],
    });
    const got = await Promise.all(
      workflows.map(async ({ workflowId }) => {
        for await (const _ of watchWorkflow(client, workflowId));
        return (await client.getWorkflow({ workflowId })).workflow!.steps[0]!.output;
      }),
    );
    expect(got).toEqual([inputs, { other: [null, 2] }]);
    // A non-JSON value anywhere in the batch is refused before sending, naming its place.
    await expect(client.submitWorkflows({ workflows: [{ definition: { case: "yaml", value: yaml }, inputs: { x: Number.NaN } }] })).rejects.toMatchObject({
      code: 3,
      rawMessage: expect.stringContaining("workflows[0].inputs.x"),
    });
  });

  it("a value that is not JSON is refused before sending, with INVALID_ARGUMENT naming its path", async () => {
    const client = createCoordinatorClient(running.url);
    const before = (await client.listWorkflows({})).workflows.length;
    for (const [bad, path] of [
      [{ x: undefined }, "inputs.x"],
      [{ x: [1, Number.NaN] }, "inputs.x[1]"],
      [{ x: { when: new Date(0) } }, "inputs.x.when"],
    ] as const) {
      await expect(client.submitWorkflow({ definition: { case: "yaml", value: yaml }, inputs: bad })).rejects.toMatchObject({ code: 3, rawMessage: expect.stringContaining(path) });
    }
    expect((await client.listWorkflows({})).workflows.length).toBe(before);
  });
});

describe("createCoordinatorClient", () => {
  it("sends the token as a bearer Authorization header, over Connect and gRPC", async () => {
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(String(req.headers.authorization));
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    await createCoordinatorClient(url, { token: "t0ken" }).listWorkflows({}).catch(() => undefined);
    await createCoordinatorClient(url, { token: () => "fresh" }).listWorkflows({}).catch(() => undefined);
    server.close();
    expect(seen).toEqual(["Bearer t0ken", "Bearer fresh"]);
  });

  it("talks gRPC too", async () => {
    const client = createCoordinatorClient(running.url, { protocol: "grpc" });
    expect((await client.listWorkflows({ pageSize: 1 })).workflows.length).toBeLessThanOrEqual(1);
  });
});

describe("deep step outputs", () => {
  it("an output 400 levels deep is read back over gRPC and Connect JSON; one deeper than the limit fails its step with OUTPUT_TOO_DEEP", async () => {
    const nest = (n: number) => `let v = 1; for (let i = 0; i < ${n}; i++) v = [v]; v`;
    const yaml = `workflow:\n  name: deep\n  steps:\n    - { id: ok, runner: js, payload: "${nest(400)}" }\n    - { id: deep, runner: js, payload: "${nest(MAX_OUTPUT_DEPTH + 1)}" }\n`;
    const grpc = createCoordinatorClient(running.url, { protocol: "grpc" });
    const { workflowId } = await grpc.submitWorkflow({ definition: { case: "yaml", value: yaml } });
    let wf;
    for await (const msg of watchWorkflow(grpc, workflowId)) if (msg.kind.case === "event" && msg.kind.value.kind.case === "workflow") break;
    for (const client of [grpc, createCoordinatorClient(running.url)]) {
      wf = (await client.getWorkflow({ workflowId })).workflow!;
      expect(wf.state).toBe(WorkflowState.FAILED);
      const [ok, deep] = wf.steps;
      let depth = 0;
      for (let v: unknown = ok!.output; Array.isArray(v); v = v[0]) depth++;
      expect(depth).toBe(400);
      expect(deep!.error?.code).toBe("OUTPUT_TOO_DEEP");
      expect(deep!.error?.message).toMatch(/deeper than 500/);
    }
  });
});

describe("watchWorkflow", () => {
  it("reconnects after the connection is cut and resumes after the last cursor: every message once, in order", async () => {
    const proxy = await tcpProxy(Number(new URL(running.url).port));
    const direct = createCoordinatorClient(running.url);
    const viaProxy = createCoordinatorClient(`http://127.0.0.1:${proxy.port}`);
    // The step waits for a file the test creates after the cut, so the cut
    // always falls in the middle of the workflow.
    const gate = `/tmp/horus-gate-${process.pid}-${Date.now()}`;
    const { workflowId } = await direct.submitWorkflow({
      definition: {
        case: "yaml",
        value: `workflow:\n  name: gated\n  steps:\n    - { id: wait, runner: shell, payload: "while [ ! -e ${gate} ]; do sleep 0.02; done; rm ${gate}; echo 1" }\n    - { id: after, runner: js, depends_on: [wait], payload: "input.wait + 1" }\n`,
      },
    });
    const reconnects: string[] = [];
    const got: WatchWorkflowResponse[] = [];
    for await (const msg of watchWorkflow(viaProxy, workflowId, { initialDelayMs: 10, onReconnect: (e) => reconnects.push(e.code.toString()) })) {
      got.push(msg);
      if (got.length === 1) {
        proxy.cut();
        writeFileSync(gate, "");
      }
    }
    await proxy.close();
    expect(reconnects.length).toBeGreaterThanOrEqual(1);
    expect(proxy.connections()).toBeGreaterThanOrEqual(2);
    expect(got[0]!.kind.case).toBe("snapshot");
    const cursors = got.slice(1).map((m) => Number(m.cursor));
    expect(cursors).toEqual([...cursors].sort((a, b) => a - b));
    expect(new Set(cursors).size).toBe(cursors.length);
    // Nothing missed: the events seen are exactly the workflow's event log after the snapshot.
    const all: WatchWorkflowResponse[] = [];
    for await (const m of watchWorkflow(direct, workflowId, { cursor: got[0]!.cursor })) all.push(m);
    expect(got.slice(1).map((m) => m.cursor)).toEqual(all.map((m) => m.cursor));
    const last = got[got.length - 1]!;
    expect(last.kind.case === "event" && last.kind.value.kind.case === "workflow" && last.kind.value.kind.value.state).toBe(WorkflowState.SUCCEEDED);
  });

  it("throws request errors at once instead of retrying", async () => {
    const client = createCoordinatorClient(running.url);
    const reconnects: unknown[] = [];
    const it = watchWorkflow(client, "wf_missing", { onReconnect: (e) => reconnects.push(e) });
    await expect(it.next()).rejects.toMatchObject({ code: 5 });
    expect(reconnects).toEqual([]);
  });
});
