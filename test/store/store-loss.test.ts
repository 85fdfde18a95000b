// What clients and logs are told when the store loses data or goes away.
// A workflow whose data vanishes from Redis while it runs (deleted, or Redis
// restarted empty): its watchers end with NOT_FOUND instead of waiting
// forever, and the coordinator's log says the data was lost, not that
// another coordinator took the workflow over. With Redis down, the CLI says
// the coordinator's store is unavailable, not that the coordinator is.
import { Code, ConnectError } from "@connectrpc/connect";
import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, expect, it } from "vitest";
import { horus } from "../helpers/cli.js";
import { coordinator } from "../helpers/coordinator.js";
import { startRedis, type RedisServer } from "../helpers/redis.js";
import { until } from "../helpers/wait.js";

const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c();
});

it("a watch on a workflow whose data is deleted ends with NOT_FOUND, and the log says the data was lost", async () => {
  const server: RedisServer = await startRedis();
  closers.push(() => server.remove());
  const lines: string[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
  const { running, client } = await coordinator({ redis: { url: server.url, prefix: "vanish" }, logger });
  closers.push(() => running.close());
  const { workflowId } = await client.submitWorkflow({
    definition: { case: "yaml", value: "workflow:\n  name: v\n  steps:\n    - {id: slow, runner: shell, payload: 'sleep 1'}\n    - {id: after, runner: shell, payload: 'sleep 30', depends_on: [slow]}\n" },
  });
  const stream = client.watchWorkflow({ workflowId })[Symbol.asyncIterator]();
  const first = await stream.next();
  expect(first.value?.kind.case).toBe("snapshot");

  const redis = new Redis(server.url);
  closers.push(() => redis.quit());
  await redis.flushall();

  // The watch hears nothing more from the store: it must notice by itself.
  const ended = await (async () => {
    for (;;) {
      const next = await stream.next();
      if (next.done) return undefined;
    }
  })().then(() => undefined, (err: unknown) => ConnectError.from(err));
  expect(ended?.code).toBe(Code.NotFound);
  expect(ended?.rawMessage).toMatch(/no longer exists/);

  // The step that was running finishes; its commit finds nothing.
  await until(() => lines.find((l) => l.includes(workflowId) && /data lost/.test(l)), 15_000);
  expect(lines.filter((l) => l.includes(workflowId) && /taken over/.test(l))).toEqual([]);
}, 30_000);

it("with only Redis down, the CLI says the coordinator's store is unavailable, not that the coordinator cannot be reached", async () => {
  const server: RedisServer = await startRedis();
  closers.push(() => server.remove());
  const { running } = await coordinator({ redis: { url: server.url, prefix: "down" } });
  closers.push(() => running.close());
  await server.stop();
  const r = await horus(["--coordinator", running.url, "list"], { timeoutMs: 25_000 });
  expect(r.code).toBe(2);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr).toMatch(new RegExp(`^horus: the coordinator at ${running.url.replace(/[.]/g, "\\.")} is up, but its store is unavailable: `));
  expect(r.stderr).not.toMatch(/cannot reach the coordinator/);
}, 30_000);
