// Authentication and roles on every surface of a real coordinator: each role
// against each CoordinatorService method (allowed and denied), and an
// unauthenticated request to every surface refused: Connect, gRPC, gRPC-web,
// JSON-RPC over HTTP and WebSocket, reflection, plain HTTP routes (health
// stays open for load balancers).
import { randomBytes } from "node:crypto";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import { ServerReflection as ReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { CoordinatorService } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import type { RunningCoordinator } from "../../src/coordinator/app.js";
import { parseTokens, type Role } from "../../src/server/auth.js";
import { coordinator, PROTOCOLS } from "../helpers/coordinator.js";

const token = () => randomBytes(24).toString("hex");
const TOKENS: Record<Role, string> = { admin: token(), operator: token(), viewer: token(), register: token() };
const tokenFile = Object.entries(TOKENS).map(([role, t]) => `${t} ${role}`).join("\n");

const VIEWER = ["GetWorkflow", "ListWorkflows", "WatchWorkflow", "WatchWorkflows", "GetWorkflowLogs", "ValidateWorkflow", "ListWorkflowTemplates", "GetWorkflowTemplate", "ListSupervisors", "ListSchedules"];
const OPERATOR = [
  "SubmitWorkflow",
  "SubmitWorkflows",
  "RunWorkflow",
  "CancelWorkflow",
  "RetryWorkflow",
  "RegisterWorkflowTemplate",
  "CreateSchedule",
  "PauseSchedule",
  "ResumeSchedule",
  "DeleteSchedule",
  "TriggerSchedule",
];

function allowed(role: Role, method: string): boolean {
  if (role === "admin") return true;
  if (role === "register") return method === "RegisterSupervisor";
  if (role === "operator") return VIEWER.includes(method) || OPERATOR.includes(method);
  return VIEWER.includes(method);
}

/** Calls a method with an empty request; the Connect code it ended with (OK when it answered). */
async function callCode(transport: Transport, method: string): Promise<Code | "OK"> {
  const client = createClient(CoordinatorService, transport) as unknown as Record<string, (req: object, opts?: object) => unknown>;
  const name = method[0]!.toLowerCase() + method.slice(1);
  try {
    const res = client[name]!({}, { timeoutMs: 5_000 });
    if (res && typeof res === "object" && Symbol.asyncIterator in res) {
      for await (const _ of res as AsyncIterable<unknown>) break;
    } else await res;
    return "OK";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

let running: RunningCoordinator;

beforeAll(async () => {
  ({ running } = await coordinator({ security: { tokens: parseTokens(tokenFile, "test") } }));
});
afterAll(() => running.close());

describe("each role against each method", () => {
  const methods = CoordinatorService.methods.map((m) => m.name);

  it("lists every method of the service in the role table", () => {
    expect(methods.filter((m) => !VIEWER.includes(m) && !OPERATOR.includes(m))).toEqual(["RegisterSupervisor"]);
  });

  for (const role of ["admin", "operator", "viewer", "register"] as Role[]) {
    it(`${role}: allowed methods pass, the others are PERMISSION_DENIED`, async () => {
      for (const method of methods) {
        const code = await callCode(createAuthed(running.url, TOKENS[role]), method);
        if (allowed(role, method)) expect([method, code]).not.toEqual([method, Code.PermissionDenied]);
        if (allowed(role, method)) expect([method, code]).not.toEqual([method, Code.Unauthenticated]);
        else expect([method, code]).toEqual([method, Code.PermissionDenied]);
      }
    });
  }

  it("no token or a wrong token: every method is UNAUTHENTICATED", async () => {
    for (const method of methods) {
      expect([method, await callCode(PROTOCOLS["connect+json over HTTP/1.1"](running.url), method)]).toEqual([method, Code.Unauthenticated]);
      expect([method, await callCode(createAuthed(running.url, token()), method)]).toEqual([method, Code.Unauthenticated]);
    }
  });
});

function createAuthed(url: string, tok: string, protocol: keyof typeof PROTOCOLS = "connect+json over HTTP/1.1"): Transport {
  return wrap(PROTOCOLS[protocol](url), tok);
}

/** A transport that adds the token to every call. */
function wrap(transport: Transport, tok: string): Transport {
  return {
    unary: (method, signal, timeoutMs, header, input, contextValues) => {
      const h = new Headers(header);
      h.set("authorization", `Bearer ${tok}`);
      return transport.unary(method, signal, timeoutMs, h, input, contextValues);
    },
    stream: (method, signal, timeoutMs, header, input, contextValues) => {
      const h = new Headers(header);
      h.set("authorization", `Bearer ${tok}`);
      return transport.stream(method, signal, timeoutMs, h, input, contextValues);
    },
  };
}

describe("an unauthenticated request to every surface is refused", () => {
  it("Connect, gRPC and gRPC-web over HTTP/1.1 and h2c", async () => {
    for (const [name, make] of Object.entries(PROTOCOLS)) {
      expect([name, await callCode(make(running.url), "ListWorkflows")]).toEqual([name, Code.Unauthenticated]);
      expect([name, await callCode(wrap(make(running.url), TOKENS.viewer), "ListWorkflows")]).toEqual([name, "OK"]);
    }
  });

  it("JSON-RPC over HTTP: every method and rpc.discover, before the params are read", async () => {
    const post = async (body: unknown, tok?: string) => {
      const res = await fetch(`${running.url}/rpc`, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json", ...(tok ? { authorization: `Bearer ${tok}` } : {}) } });
      return (await res.json()) as { result?: unknown; error?: { code: number; message: string } };
    };
    for (const method of ["rpc.discover", "list_workflows", "submit_workflow", "register_supervisor"]) {
      const r = await post({ jsonrpc: "2.0", id: 1, method, params: { bogus: 1 } });
      expect([method, r.error?.code]).toEqual([method, -32016]);
    }
    expect((await post({ jsonrpc: "2.0", id: 1, method: "rpc.discover" }, TOKENS.viewer)).result).toBeTruthy();
    const denied = await post({ jsonrpc: "2.0", id: 1, method: "cancel_workflow", params: { workflow_id: "x" } }, TOKENS.viewer);
    expect(denied.error).toMatchObject({ code: -32007, message: expect.stringContaining("needs the operator role") });
    // A batch is checked call by call.
    const batch = (await (await fetch(`${running.url}/rpc`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKENS.viewer}` },
      body: JSON.stringify([{ jsonrpc: "2.0", id: 1, method: "list_workflows" }, { jsonrpc: "2.0", id: 2, method: "submit_workflow", params: {} }]),
    })).json()) as Array<{ id: number; result?: unknown; error?: { code: number } }>;
    expect(batch.find((a) => a.id === 1)?.result).toBeTruthy();
    expect(batch.find((a) => a.id === 2)?.error?.code).toBe(-32007);
  });

  it("JSON-RPC over WebSocket: the upgrade needs a token, and each call its role", async () => {
    const wsUrl = `${running.url.replace("http", "ws")}/rpc/ws`;
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(wsUrl);
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.on("open", () => resolve(101));
      ws.on("error", () => {});
    });
    expect(status).toBe(401);
    const wrong = await new Promise<number>((resolve) => {
      const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${token()}` } });
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.on("open", () => resolve(101));
      ws.on("error", () => {});
    });
    expect(wrong).toBe(401);

    const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${TOKENS.viewer}` } });
    const answers: Array<{ id: number; result?: unknown; error?: { code: number } }> = [];
    ws.on("message", (d) => answers.push(JSON.parse(String(d))));
    await new Promise((r) => ws.once("open", r));
    ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "list_workflows" }));
    ws.send(JSON.stringify({ jsonrpc: "2.0", id: 2, method: "submit_workflow", params: {} }));
    while (answers.length < 2) await new Promise((r) => ws.once("message", r));
    ws.close();
    expect(answers.find((a) => a.id === 1)?.result).toBeTruthy();
    expect(answers.find((a) => a.id === 2)?.error?.code).toBe(-32007);
  });

  it("reflection needs a token; health stays open for load balancers", async () => {
    const reflect = async (t: Transport) => {
      const client = createClient(ReflectionV1, t);
      try {
        async function* one() {
          yield { messageRequest: { case: "listServices" as const, value: "" } };
        }
        for await (const _ of client.serverReflectionInfo(one())) break;
        return "OK";
      } catch (err) {
        return ConnectError.from(err).code;
      }
    };
    expect(await reflect(PROTOCOLS["grpc over h2c"](running.url))).toBe(Code.Unauthenticated);
    expect(await reflect(createAuthed(running.url, TOKENS.viewer, "grpc over h2c"))).toBe("OK");
    const health = createClient(Health, PROTOCOLS["grpc over h2c"](running.url));
    expect((await health.check({})).status).toBe(Status.SERVING);
  });

  it("plain HTTP routes (the dashboard, /metrics, anything else) need a token", async () => {
    for (const path of ["/", "/metrics", "/anything"]) {
      const res = await fetch(`${running.url}${path}`);
      expect([path, res.status]).toEqual([path, 401]);
      expect(res.headers.get("www-authenticate")).toContain("Bearer");
      const ok = await fetch(`${running.url}${path}`, { headers: { authorization: `Bearer ${TOKENS.viewer}` } });
      expect([path, ok.status]).not.toEqual([path, 401]);
    }
  });

  it("/metrics can be made public (--public-metrics) while the rest stays closed", async () => {
    const { running: open } = await coordinator({ security: { tokens: parseTokens(tokenFile, "test"), publicMetrics: true } });
    try {
      expect((await fetch(`${open.url}/metrics`)).status).not.toBe(401);
      expect((await fetch(`${open.url}/`)).status).toBe(401);
    } finally {
      await open.close();
    }
  });
});

describe("token files", () => {
  it("parse TOKEN [ROLE] lines, default admin, and name bad lines without the token", () => {
    const t = token();
    const parsed = parseTokens(`# comment\n\n${t}\n`, "f");
    expect([...parsed.values()][0]!.role).toBe("admin");
    const secret = token();
    expect(() => parseTokens(`${secret} superuser`, "tokens.txt")).toThrow(/tokens.txt line 1: unknown role "superuser"/);
    try {
      parseTokens(`${secret} a b`, "tokens.txt");
    } catch (err) {
      expect(String(err)).not.toContain(secret);
    }
    expect(() => parseTokens("short", "f")).toThrow(/at least 16 characters/);
  });
});
