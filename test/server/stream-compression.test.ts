// Server streams go uncompressed whatever the client accepts (their
// messages are what a watcher waits for); large unary answers are still
// compressed. Raw HTTP/2 requests, to see the encodings on the wire.
import { connect, type ClientHttp2Session } from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GetWorkflowRequestSchema, WatchWorkflowRequestSchema } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import type { RunningCoordinator } from "../../src/coordinator/app.js";
import { coordinator, waitForEnd, type CoordinatorClient } from "../helpers/coordinator.js";

let running: RunningCoordinator;
let client: CoordinatorClient;
let session: ClientHttp2Session;
let workflowId = "";

beforeAll(async () => {
  ({ running, client } = await coordinator());
  session = connect(running.url);
  // An output of ~200 KiB: far above the size from which answers are compressed.
  ({ workflowId } = await client.submitWorkflow({ definition: { case: "yaml", value: `workflow:\n  name: big\n  steps:\n    - { id: a, runner: js, payload: "'x'.repeat(200000)" }\n` } }));
  await waitForEnd(client, workflowId);
});
afterAll(async () => {
  session.close();
  await running.close();
});

/** One enveloped message (flags 0: not compressed). */
function envelope(bytes: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([head, bytes]);
}

/** Headers and body of a POST to `method`. */
async function post(method: string, headers: Record<string, string>, body: Uint8Array): Promise<{ headers: Record<string, unknown>; body: Buffer }> {
  const req = session.request({ ":method": "POST", ":path": `/horus.coordinator.v1.CoordinatorService/${method}`, ...headers });
  const got = new Promise<Record<string, unknown>>((resolve) => req.on("response", resolve));
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  const ended = new Promise((resolve) => req.on("end", resolve));
  req.end(Buffer.from(body));
  const h = await got;
  await ended;
  return { headers: h, body: Buffer.concat(chunks) };
}

const watch = () => envelope(toBinary(WatchWorkflowRequestSchema, create(WatchWorkflowRequestSchema, { workflowId })));

describe("compression", () => {
  it("WatchWorkflow over Connect: no message compressed, though the client accepts gzip", async () => {
    const res = await post("WatchWorkflow", { "content-type": "application/connect+proto", "connect-accept-encoding": "gzip" }, watch());
    expect(res.headers[":status"]).toBe(200);
    expect(res.headers["connect-content-encoding"] ?? "identity").toBe("identity");
    // The snapshot, with its ~200 KiB output, as it is: flags 0, and the text in the clear.
    expect(res.body[0]).toBe(0);
    expect(res.body.readUInt32BE(1)).toBeGreaterThan(200_000);
  });

  it("WatchWorkflow over gRPC: the same", async () => {
    const res = await post("WatchWorkflow", { "content-type": "application/grpc+proto", te: "trailers", "grpc-accept-encoding": "gzip" }, watch());
    expect(res.headers[":status"]).toBe(200);
    expect(res.headers["grpc-encoding"] ?? "identity").toBe("identity");
    expect(res.body[0]).toBe(0);
    expect(res.body.readUInt32BE(1)).toBeGreaterThan(200_000);
  });

  it("a large unary answer (GetWorkflow) is still compressed for a client that accepts gzip", async () => {
    const res = await post("GetWorkflow", { "content-type": "application/proto", "accept-encoding": "gzip", "connect-protocol-version": "1" }, toBinary(GetWorkflowRequestSchema, create(GetWorkflowRequestSchema, { workflowId })));
    expect(res.headers[":status"]).toBe(200);
    expect(res.headers["content-encoding"]).toBe("gzip");
    expect(res.body.length).toBeLessThan(20_000);
  });
});
