// gRPC-web text mode (application/grpc-web-text, Google's grpc-web default)
// and UNIMPLEMENTED for unknown methods, against a real coordinator. The
// text-mode client is written here by hand from the gRPC-web protocol spec
// (frames of flag + length + message, base64 over the wire), over HTTP/1.1
// (fetch) and h2c (node:http2), so nothing of the server's codec is reused.
import http2 from "node:http2";
import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import {
  GetWorkflowRequestSchema,
  GetWorkflowResponseSchema,
  SubmitWorkflowRequestSchema,
  SubmitWorkflowResponseSchema,
  WatchWorkflowRequestSchema,
  WatchWorkflowResponseSchema,
} from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { WorkflowState } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import type { RunningCoordinator } from "../../src/coordinator/app.js";
import { createBase64Decoder } from "../../src/server/grpc-web-text.js";
import { percentEncode, unimplementedAnswer } from "../../src/server/unimplemented.js";
import { coordinator, PROTOCOLS, type CoordinatorClient } from "../helpers/coordinator.js";

const SERVICE = "/horus.coordinator.v1.CoordinatorService";
const TEXT_HEADERS = { "content-type": "application/grpc-web-text", accept: "application/grpc-web-text", "x-grpc-web": "1" };

let running: RunningCoordinator;
let client: CoordinatorClient;
beforeAll(async () => {
  ({ running, client } = await coordinator());
});
afterAll(async () => {
  await running.close();
});

/** One request message as a gRPC-web-text body. */
function textBody<D extends DescMessage>(schema: D, msg: MessageShape<D>): string {
  const bytes = toBinary(schema, msg);
  const frame = Buffer.alloc(5 + bytes.length);
  frame.writeUInt32BE(bytes.length, 1);
  frame.set(bytes, 5);
  return frame.toString("base64");
}

/**
 * Reads a gRPC-web-text response as it arrives: base64 is decoded in whole
 * 4-character groups (a sender may pad at any flush), frames are cut from the
 * bytes, and each one is handed over the moment it is complete.
 */
class TextResponseReader {
  private text = "";
  private bytes = Buffer.alloc(0);
  readonly messages: Buffer[] = [];
  trailers: Record<string, string> | undefined;
  push(chunk: string): void {
    this.text += chunk;
    const whole = this.text.length - (this.text.length % 4);
    for (let i = 0; i < whole; i += 4) this.bytes = Buffer.concat([this.bytes, Buffer.from(this.text.slice(i, i + 4), "base64")]);
    this.text = this.text.slice(whole);
    while (this.bytes.length >= 5) {
      const len = this.bytes.readUInt32BE(1);
      if (this.bytes.length < 5 + len) break;
      const flag = this.bytes[0]!;
      const data = this.bytes.subarray(5, 5 + len);
      this.bytes = this.bytes.subarray(5 + len);
      if (flag & 0x80) {
        this.trailers = Object.fromEntries(
          data
            .toString("latin1")
            .split("\r\n")
            .filter(Boolean)
            .map((l) => [l.slice(0, l.indexOf(":")).trim().toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]),
        );
      } else this.messages.push(Buffer.from(data));
    }
  }
}

/** A unary or streaming call over HTTP/1.1 with fetch; `onMessage` sees each message as it arrives. */
async function callH1(path: string, body: string, onMessage?: (m: Buffer, i: number) => Promise<void> | void) {
  const res = await fetch(`${running.url}${SERVICE}/${path}`, { method: "POST", headers: TEXT_HEADERS, body });
  const reader = new TextResponseReader();
  const decoder = new TextDecoder();
  let seen = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    reader.push(decoder.decode(chunk, { stream: true }));
    for (; seen < reader.messages.length; seen++) if (onMessage) await onMessage(reader.messages[seen]!, seen);
  }
  return { status: res.status, headers: Object.fromEntries(res.headers), messages: reader.messages, trailers: reader.trailers };
}

/** The same call over HTTP/2 cleartext (prior knowledge). */
function callH2(path: string, body: string): Promise<{ status: number; headers: http2.IncomingHttpHeaders; messages: Buffer[]; trailers?: Record<string, string> }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(running.url);
    session.on("error", reject);
    const req = session.request({ ":method": "POST", ":path": `${SERVICE}/${path}`, ...TEXT_HEADERS });
    const reader = new TextResponseReader();
    let headers: http2.IncomingHttpHeaders = {};
    req.on("response", (h) => (headers = h));
    req.setEncoding("latin1");
    req.on("data", (s: string) => reader.push(s));
    req.on("end", () => {
      session.close();
      resolve({ status: Number(headers[":status"]), headers, messages: reader.messages, trailers: reader.trailers });
    });
    req.on("error", reject);
    req.end(body);
  });
}

const QUICK = "workflow:\n  name: text-mode\n  steps:\n    - { id: a, runner: js, payload: \"40 + 2\" }\n";
const SLOW = "workflow:\n  name: text-mode-slow\n  steps:\n    - { id: wait, runner: shell, payload: \"sleep 30\" }\n";

describe("gRPC-web text mode", () => {
  it("answers a unary call over HTTP/1.1 and h2c, base64-encoded, with the status in the trailer frame", async () => {
    for (const call of [callH1, callH2]) {
      const res = await call("SubmitWorkflow", textBody(SubmitWorkflowRequestSchema, create(SubmitWorkflowRequestSchema, { definition: { case: "yaml", value: QUICK } })));
      expect(res.status).toBe(200);
      expect(String(res.headers["content-type"])).toBe("application/grpc-web-text+proto");
      expect(res.trailers?.["grpc-status"]).toBe("0");
      expect(res.messages).toHaveLength(1);
      const { workflowId } = fromBinary(SubmitWorkflowResponseSchema, res.messages[0]!);
      expect(workflowId).toMatch(/^wf_/);
      const got = await call("GetWorkflow", textBody(GetWorkflowRequestSchema, create(GetWorkflowRequestSchema, { workflowId })));
      expect(fromBinary(GetWorkflowResponseSchema, got.messages[0]!).workflow?.id).toBe(workflowId);
    }
  });

  it("streams WatchWorkflow: each message arrives while the workflow is still running, then the end and status 0", async () => {
    const { workflowId } = await client.submitWorkflow({ definition: { case: "yaml", value: SLOW } });
    const states: WorkflowState[] = [];
    const res = await callH1("WatchWorkflow", textBody(WatchWorkflowRequestSchema, create(WatchWorkflowRequestSchema, { workflowId })), async (m, i) => {
      const msg = fromBinary(WatchWorkflowResponseSchema, m);
      if (msg.kind.case === "event" && msg.kind.value.kind.case === "workflow") states.push(msg.kind.value.kind.value.state);
      if (i === 0) {
        // The snapshot was decoded before the response ended: the step sleeps
        // 30 s and ends only because of this cancel.
        expect(msg.kind.case).toBe("snapshot");
        await client.cancelWorkflow({ workflowId, reason: "seen the snapshot" });
      }
    });
    expect(res.status).toBe(200);
    expect(res.trailers?.["grpc-status"]).toBe("0");
    expect(states.at(-1)).toBe(WorkflowState.CANCELLED);
  });

  it("carries errors as gRPC statuses: NOT_FOUND for an unknown workflow, INVALID_ARGUMENT for a body that is not base64", async () => {
    const missing = await callH2("GetWorkflow", textBody(GetWorkflowRequestSchema, create(GetWorkflowRequestSchema, { workflowId: "wf_nope" })));
    expect(missing.status).toBe(200);
    expect(missing.trailers?.["grpc-status"] ?? missing.headers["grpc-status"]).toBe(String(Code.NotFound));
    const garbled = await callH1("GetWorkflow", "not*base64!");
    expect(garbled.status).toBe(200);
    expect(garbled.trailers?.["grpc-status"] ?? garbled.headers["grpc-status"]).toBe(String(Code.InvalidArgument));
  });
});

describe("the text-mode base64 decoder", () => {
  const decode = (pieces: string[]) => {
    const d = createBase64Decoder();
    const out = Buffer.concat(pieces.map((p) => d.push(p)));
    d.end();
    return out.toString("latin1");
  };
  it.each([
    { name: "one piece", pieces: ["aGVsbG8="], want: "hello" },
    { name: "split inside a group", pieces: ["aGV", "sbG", "8="], want: "hello" },
    { name: "padded chunks back to back", pieces: ["aGk=aGk=", "aA=="], want: "hihih" },
    { name: "padding split from its group", pieces: ["aGk", "=", "aGk="], want: "hihi" },
    { name: "whitespace ignored", pieces: ["aGVs\r\n", " bG8="], want: "hello" },
    { name: "empty", pieces: [], want: "" },
  ])("$name", ({ pieces, want }) => {
    expect(decode(pieces)).toBe(want);
  });
  it.each([
    { name: "a character outside the alphabet", pieces: ["aGV*bG8="] },
    { name: "padding inside a group", pieces: ["aG=k"] },
    { name: "three pad characters", pieces: ["a==="] },
    { name: "a truncated group", pieces: ["aGVsbG8"] },
  ])("rejects $name as INVALID_ARGUMENT", ({ pieces }) => {
    expect(() => decode(pieces)).toThrowError(expect.objectContaining({ code: Code.InvalidArgument }));
  });
});

describe("unknown methods", () => {
  function rawH2(path: string, contentType: string): Promise<http2.IncomingHttpHeaders> {
    return new Promise((resolve, reject) => {
      const session = http2.connect(running.url);
      session.on("error", reject);
      const req = session.request({ ":method": "POST", ":path": path, "content-type": contentType, te: "trailers" });
      let headers: http2.IncomingHttpHeaders = {};
      req.on("response", (h) => (headers = h));
      req.on("trailers", (t) => (headers = { ...headers, ...t }));
      req.resume();
      req.on("end", () => {
        session.close();
        resolve(headers);
      });
      req.on("error", reject);
      req.end(Buffer.alloc(5));
    });
  }

  it("answer HTTP 200 with grpc-status 12 (UNIMPLEMENTED) to gRPC and gRPC-web, on known and unknown services", async () => {
    for (const path of [`${SERVICE}/NoSuchMethod`, "/no.such.v1.Service/Call"]) {
      for (const contentType of ["application/grpc", "application/grpc+proto", "application/grpc-web+proto", "application/grpc-web-text"]) {
        const h = await rawH2(path, contentType);
        expect([path, contentType, h[":status"], h["grpc-status"]]).toEqual([path, contentType, 200, "12"]);
        expect(h["grpc-message"]).toBe(`unknown method ${path}`);
      }
    }
  });

  it("reach every protocol's client as Code.Unimplemented", async () => {
    for (const [name, transport] of Object.entries(PROTOCOLS)) {
      const health = createClient(Health, transport(`${running.url}/elsewhere`));
      const err = await health.check({}).then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      expect([name, err?.code]).toEqual([name, Code.Unimplemented]);
    }
  });

  it("choose the answer by content type", () => {
    expect(unimplementedAnswer("/a/B", "application/grpc")).toMatchObject({ status: 200, headers: { "content-type": "application/grpc" }, trailers: { "grpc-status": "12" } });
    expect(unimplementedAnswer("/a/B", "application/grpc-web-text+proto; charset=x")).toMatchObject({ status: 200, headers: { "grpc-status": "12", "content-type": "application/grpc-web-text+proto" } });
    expect(unimplementedAnswer("/a/B", "application/json")).toMatchObject({ status: 404, body: JSON.stringify({ code: "unimplemented", message: "unknown method /a/B" }) });
    expect(unimplementedAnswer("/a/B", "application/connect+proto").status).toBe(404);
    expect(unimplementedAnswer("/a/B", undefined)).toMatchObject({ status: 404, body: "not found\n" });
    expect(unimplementedAnswer("/a/B", "text/html").status).toBe(404);
    expect(percentEncode("50% é\n")).toBe("50%25 %C3%A9%0A");
  });
});
