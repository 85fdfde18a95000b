// An example runner process (the tests run it): `node clients/runner/dist/example.js`.
// Serves runner HORUS_RUNNER_NAME (default "example") from REDIS_URL. The
// step payload is JSON: {"sleep_ms": 1000, "echo": "anything", "fail": false,
// "secret": "NAME"}. It logs which process took the job, sleeps (stopping
// early when cancelled), and returns the echo with its worker id and the
// step's input (and, asked for a secret the step declared, its value, which
// the supervisor masks, and its length).
import { createRunner, type JsonValue } from "./index.js";

const name = process.env.HORUS_RUNNER_NAME ?? "example";
const redisUrl = process.env.REDIS_URL ?? "redis://localhost:6379";

const runner = createRunner({
  name,
  redisUrl,
  prefix: process.env.HORUS_REDIS_PREFIX ?? "horus",
  concurrency: Number(process.env.HORUS_RUNNER_CONCURRENCY ?? 1),
  async handler(job, ctx) {
    const spec = (job.payload ? JSON.parse(job.payload) : {}) as { sleep_ms?: number; echo?: unknown; fail?: boolean; secret?: string };
    ctx.log(`worker ${ctx.worker} took ${job.attempt_id}`);
    if (spec.sleep_ms) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, spec.sleep_ms);
        ctx.signal.addEventListener("abort", () => { clearTimeout(t); resolve(); }, { once: true });
      });
    }
    if (spec.fail) throw Object.assign(new Error("asked to fail"), { code: "EXAMPLE_FAILURE" });
    if (spec.secret) {
      const value = job.secrets?.[spec.secret] ?? null;
      ctx.log(`secret ${spec.secret} is ${value}`);
      const found: JsonValue = { secret: value, length: value?.length ?? 0, worker: ctx.worker };
      return found;
    }
    return { echo: (spec.echo ?? null) as never, worker: ctx.worker, input: job.input };
  },
});

await runner.ready;
process.stderr.write(`runner ${name} ready (worker pid ${process.pid})\n`);
const stop = () => void runner.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
