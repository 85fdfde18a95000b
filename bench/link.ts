// Round trips to a supervisor process on loopback: the unary DispatchJobs
// call against the same request on a Link stream (src/dispatch/link.ts).
// Two figures each, sequential calls (one in flight, as a chain hop is):
//   - an empty dispatch: the cost of the call itself;
//   - a one-job noop hop: dispatch, then wait for the job's finished event
//     on the event watch (WatchJobEvents, or the watch on the link).
// Run: npm run bench:link  (or, after `npx tsc -p bench/tsconfig.json`,
// node dist/bench/link.js [rounds]).
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { SupervisorService, type JobEvent } from "../gen/horus/coordinator/v1/supervisor_pb.js";
import { createSupervisorLink, type SupervisorCalls } from "../src/dispatch/link.js";
import { SUPERVISOR_BINARY_OPTIONS } from "../src/common/depth.js";
import { startSupervisorProcess } from "./processes.js";
import { latency, type Latency } from "./stats.js";

export interface LinkFigures {
  unary: { empty: Latency; hop: Latency };
  link: { empty: Latency; hop: Latency };
}

/** The coordinator's transport options for supervisors (src/coordinator/app.ts). */
function transport(url: string) {
  return createConnectTransport({ baseUrl: url, httpVersion: "2", useBinaryFormat: true, binaryOptions: SUPERVISOR_BINARY_OPTIONS, acceptCompression: [] });
}

async function measure(calls: SupervisorCalls, tag: string, rounds: number): Promise<{ empty: Latency; hop: Latency }> {
  const empty: number[] = [];
  for (let i = 0; i < rounds + 200; i++) {
    const t = performance.now();
    await calls.dispatchJobs({ jobs: [] }, { timeoutMs: 10_000 });
    if (i >= 200) empty.push(performance.now() - t);
  }
  // Finished events, as the pool follows them.
  const waiters = new Map<string, () => void>();
  const ctl = new AbortController();
  const following = (async () => {
    try {
      for await (const msg of calls.watchJobEvents({ afterSeq: 0n }, { signal: ctl.signal })) {
        for (const ev of msg.events as JobEvent[]) if (ev.kind.case === "finished") waiters.get(ev.attemptId)?.();
      }
    } catch {
      /* aborted at the end */
    }
  })();
  const hop: number[] = [];
  for (let i = 0; i < rounds + 100; i++) {
    const attemptId = `${tag}-${process.pid}-${i}`;
    const done = new Promise<void>((r) => waiters.set(attemptId, r));
    const t = performance.now();
    await calls.dispatchJobs({ jobs: [{ attemptId, workflowId: `bench-${tag}`, stepId: `s${i}`, attempt: 1, runner: "noop", payload: "" }] }, { timeoutMs: 10_000 });
    await done;
    if (i >= 100) hop.push(performance.now() - t);
    waiters.delete(attemptId);
  }
  ctl.abort();
  await following;
  return { empty: latency(empty), hop: latency(hop) };
}

export async function benchLink(rounds = 2_000): Promise<LinkFigures> {
  const sup = await startSupervisorProcess();
  try {
    const unary = createClient(SupervisorService, transport(sup.url));
    const link = createSupervisorLink(transport(sup.url));
    await link.describeSupervisor({});
    if (link.mode() !== "link") throw new Error(`the supervisor did not open a link (mode ${link.mode()})`);
    // Interleaved twice so neither mode gets a warmer process all to itself.
    const u1 = await measure(unary, "u1", rounds / 2);
    const l1 = await measure(link, "l1", rounds / 2);
    const l2 = await measure(link, "l2", rounds / 2);
    const u2 = await measure(unary, "u2", rounds / 2);
    link.close();
    const merge = (a: Latency, b: Latency): Latency => ({ p50: (a.p50 + b.p50) / 2, p99: Math.max(a.p99, b.p99), max: Math.max(a.max, b.max), n: a.n + b.n });
    return {
      unary: { empty: merge(u1.empty, u2.empty), hop: merge(u1.hop, u2.hop) },
      link: { empty: merge(l1.empty, l2.empty), hop: merge(l1.hop, l2.hop) },
    };
  } finally {
    await sup.stop();
  }
}

const ms = (x: number) => `${x.toFixed(3)} ms`;

if (import.meta.url === `file://${process.argv[1]}`) {
  const rounds = Number(process.argv[2] ?? 2_000);
  const f = await benchLink(rounds);
  console.log(`supervisor round trips on loopback, ${rounds} sequential calls each (p50 / p99 / max)`);
  console.log(`  empty DispatchJobs   unary ${ms(f.unary.empty.p50)} / ${ms(f.unary.empty.p99)} / ${ms(f.unary.empty.max)}   link ${ms(f.link.empty.p50)} / ${ms(f.link.empty.p99)} / ${ms(f.link.empty.max)}`);
  console.log(`  noop hop to finish   unary ${ms(f.unary.hop.p50)} / ${ms(f.unary.hop.p99)} / ${ms(f.unary.hop.max)}   link ${ms(f.link.hop.p50)} / ${ms(f.link.hop.p99)} / ${ms(f.link.hop.max)}`);
  process.exit(0);
}
