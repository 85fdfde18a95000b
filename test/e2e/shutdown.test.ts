// Graceful shutdown: open streams end with UNAVAILABLE, in-flight requests
// finish, and the process exits 0 on SIGTERM.
import http from "node:http";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { CoordinatorService } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { createHorusServer } from "../../src/server/listen.js";
import { exited, horusServer } from "../helpers/cli.js";

describe("graceful shutdown", () => {
  it("SIGTERM ends open watch streams with UNAVAILABLE and exits 0", async () => {
    const { child, url } = await horusServer(["coordinator", "--port", "0", "--log-level", "warn"]);
    const client = createClient(CoordinatorService, createConnectTransport({ baseUrl: url, httpVersion: "2" }));
    const { workflowId } = await client.submitWorkflow({ definition: { case: "yaml", value: "workflow:\n  name: long\n  steps:\n    - { id: s, runner: shell, payload: 'sleep 30' }\n" } });
    const stream = client.watchWorkflow({ workflowId })[Symbol.asyncIterator]();
    expect((await stream.next()).value.kind.case).toBe("snapshot");
    child.kill("SIGTERM");
    const err = await (async () => {
      for (;;) {
        const r = await stream.next();
        if (r.done) return undefined;
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Unavailable);
    expect(await exited(child)).toBe(0);
  });

  it("lets an in-flight request finish before closing, then refuses new connections", async () => {
    const server = createHorusServer({
      handler: (_req, res) => {
        setTimeout(() => res.end("done"), 300);
      },
    });
    await server.listen(0, "127.0.0.1");
    const url = server.url();
    const body = new Promise<string>((resolve, reject) => {
      http.get(url, (res) => {
        let text = "";
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve(text));
      }).on("error", reject);
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(server.inFlight()).toBe(1);
    const closed = server.close();
    expect(await body).toBe("done");
    await closed;
    await expect(fetch(url)).rejects.toThrow();
  });
});
