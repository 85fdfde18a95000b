// gRPC tooling against a real coordinator: `buf curl` (the CLI from
// node_modules) through server reflection over gRPC and Connect, the health
// service flipping to NOT_SERVING when Redis stops, and request validation
// carrying field paths on every protocol.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import { ServerReflection as ReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { CoordinatorService } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import type { RunningCoordinator } from "../../src/coordinator/app.js";
import { coordinator, PROTOCOLS } from "../helpers/coordinator.js";
import { startRedis } from "../helpers/redis.js";

const run = promisify(execFile);

async function bufCurl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run("node_modules/.bin/buf", ["curl", ...args], { timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

let running: RunningCoordinator;
beforeAll(async () => {
  ({ running } = await coordinator());
});
afterAll(async () => {
  await running.close();
});

describe("buf curl through server reflection", () => {
  it("lists the services over gRPC (h2c)", async () => {
    const res = await bufCurl(["--protocol", "grpc", "--http2-prior-knowledge", "--list-services", running.url]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.trim().split("\n").sort()).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "horus.coordinator.v1.CoordinatorService",
    ]);
  });

  it("lists the methods of a service and calls one, over gRPC and over Connect", async () => {
    const methods = await bufCurl(["--protocol", "grpc", "--http2-prior-knowledge", "--list-methods", running.url]);
    expect(methods.code, methods.stderr).toBe(0);
    expect(methods.stdout).toContain("horus.coordinator.v1.CoordinatorService/SubmitWorkflow");
    const yaml = "workflow:\n  name: via-buf-curl\n  steps:\n    - { id: a, runner: noop }\n";
    for (const protocol of ["grpc", "connect"]) {
      const submit = await bufCurl(["--protocol", protocol, "--http2-prior-knowledge", "-d", JSON.stringify({ yaml }), `${running.url}/horus.coordinator.v1.CoordinatorService/SubmitWorkflow`]);
      expect(submit.code, submit.stderr).toBe(0);
      const { workflowId } = JSON.parse(submit.stdout) as { workflowId: string };
      expect(workflowId).toMatch(/^wf_/);
      const list = await bufCurl(["--protocol", protocol, "--http2-prior-knowledge", "-d", '{"name":"via-buf-curl"}', `${running.url}/horus.coordinator.v1.CoordinatorService/ListWorkflows`]);
      expect(list.code, list.stderr).toBe(0);
      expect(JSON.parse(list.stdout).workflows.map((w: { id: string }) => w.id)).toContain(workflowId);
    }
  });

  it("reports a validation error with its field through buf curl", async () => {
    const res = await bufCurl(["--protocol", "grpc", "--http2-prior-knowledge", "-d", '{"pageSize":-1}', `${running.url}/horus.coordinator.v1.CoordinatorService/ListWorkflows`]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain("invalid_argument");
    expect(res.stderr).toContain("page_size");
  });

  it("asks health over gRPC", async () => {
    const res = await bufCurl(["--protocol", "grpc", "--http2-prior-knowledge", "-d", "{}", `${running.url}/grpc.health.v1.Health/Check`]);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({ status: "SERVING" });
  });
});

describe("reflection v1alpha (older tools ask for it first)", () => {
  it("lists services and returns the file defining a symbol with its imports", async () => {
    const client = createClient(ReflectionV1alpha, PROTOCOLS["grpc over h2c"](running.url));
    async function* requests() {
      yield { messageRequest: { case: "listServices" as const, value: "" } };
      yield { messageRequest: { case: "fileContainingSymbol" as const, value: "horus.coordinator.v1.SubmitWorkflowRequest" } };
      yield { messageRequest: { case: "fileContainingSymbol" as const, value: "no.such.Symbol" } };
    }
    const answers = [];
    for await (const a of client.serverReflectionInfo(requests())) answers.push(a.messageResponse);
    expect(answers[0]!.case).toBe("listServicesResponse");
    expect(answers[1]!.case).toBe("fileDescriptorResponse");
    const files = (answers[1]!.value as { fileDescriptorProto: Uint8Array[] }).fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name);
    expect(files[0]).toBe("horus/coordinator/v1/coordinator.proto");
    expect(files).toEqual(expect.arrayContaining(["horus/coordinator/v1/workflow.proto", "buf/validate/validate.proto", "google/protobuf/struct.proto"]));
    expect(answers[2]).toMatchObject({ case: "errorResponse", value: { errorCode: 5 } });
  });
});

describe("request validation on every protocol", () => {
  for (const [name, make] of Object.entries(PROTOCOLS)) {
    it(`${name}: INVALID_ARGUMENT with field violations`, async () => {
      const client = createClient(CoordinatorService, make(running.url));
      const err = await client.listWorkflows({ pageSize: 2000, name: "x".repeat(300) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectError);
      const ce = err as ConnectError;
      expect(ce.code).toBe(Code.InvalidArgument);
      expect(ce.rawMessage).toContain("page_size");
      const [detail] = ce.findDetails(ViolationsSchema);
      expect(detail!.violations.map((v) => v.field!.elements.map((e) => e.fieldName).join(".")).sort()).toEqual(["name", "page_size"]);
      // Streams are checked before they start.
      const it = client.watchWorkflow({ workflowId: "" })[Symbol.asyncIterator]();
      await expect(it.next()).rejects.toMatchObject({ code: Code.InvalidArgument, rawMessage: expect.stringContaining("workflow_id") });
    });
  }
});

describe("request validation of the later RPCs", () => {
  it("RetryWorkflow, RegisterWorkflowTemplate, GetWorkflowTemplate and RegisterSupervisor name the bad field", async () => {
    const client = createClient(CoordinatorService, PROTOCOLS["connect+json over HTTP/1.1"](running.url));
    const fields = async (call: Promise<unknown>) => {
      const err = (await call.catch((e: unknown) => e)) as ConnectError;
      expect(err.code).toBe(Code.InvalidArgument);
      return err.findDetails(ViolationsSchema)[0]!.violations.map((v) => v.field!.elements.map((e) => e.fieldName).join("."));
    };
    expect(await fields(client.retryWorkflow({ workflowId: "" }))).toEqual(["workflow_id"]);
    expect(await fields(client.registerWorkflowTemplate({ name: "a b", definition: { case: "yaml", value: "x" } }))).toEqual(["name"]);
    expect((await fields(client.registerWorkflowTemplate({ name: "ok" }))).join()).toContain("definition");
    expect(await fields(client.getWorkflowTemplate({ name: "t", version: -1 }))).toEqual(["version"]);
    expect(await fields(client.registerSupervisor({ name: "s", url: "not a url" }))).toEqual(["url"]);
  });
});

describe("health", () => {
  it("answers Check and List, and NOT_FOUND for a service it does not serve", async () => {
    const health = createClient(Health, PROTOCOLS["grpc over h2c"](running.url));
    expect((await health.check({ service: "" })).status).toBe(Status.SERVING);
    expect((await health.check({ service: "horus.coordinator.v1.CoordinatorService" })).status).toBe(Status.SERVING);
    await expect(health.check({ service: "nope.Service" })).rejects.toMatchObject({ code: Code.NotFound });
    const list = await health.list({});
    expect(Object.keys(list.statuses).sort()).toEqual(["", "horus.coordinator.v1.CoordinatorService"]);
  });

  it("is NOT_SERVING while Redis is down, and SERVING again once it is back", async () => {
    const redis = await startRedis();
    const { running: c } = await coordinator({ redis: { url: redis.url, prefix: `health-${process.pid}` } });
    try {
      const health = createClient(Health, PROTOCOLS["grpc over h2c"](c.url));
      expect((await health.check({})).status).toBe(Status.SERVING);
      const watch = health.watch({})[Symbol.asyncIterator]();
      expect((await watch.next()).value?.status).toBe(Status.SERVING);
      await redis.stop();
      expect((await health.check({})).status).toBe(Status.NOT_SERVING);
      expect((await health.check({ service: "horus.coordinator.v1.CoordinatorService" })).status).toBe(Status.NOT_SERVING);
      await redis.restart();
      // The client reconnects in the background: wait for it (bounded), not for a time.
      let status = Status.NOT_SERVING;
      for (let i = 0; i < 200 && status !== Status.SERVING; i++) {
        status = (await health.check({})).status;
        if (status !== Status.SERVING) await new Promise((r) => setTimeout(r, 50));
      }
      expect(status).toBe(Status.SERVING);
      await watch.return?.();
    } finally {
      await c.close();
      await redis.remove();
    }
  });
});
