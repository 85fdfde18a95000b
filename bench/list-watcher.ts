// A WatchWorkflows client in a process of its own, for the terminal-
// delivery latency: it follows the coordinator at argv[2] and reports to
// the parent process, over IPC, when it received each workflow's first
// terminal summary (wall clock, ms with a fraction, the same clock the
// coordinator stamps finished_at with). Apart from the submitting bench
// process, so that nothing the submitter does delays the receipt.
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { CoordinatorService } from "../gen/horus/coordinator/v1/coordinator_pb.js";
import { BINARY_READ_OPTIONS } from "../src/common/depth.js";
import { isTerminalWorkflow } from "../src/engine/states.js";

const url = process.argv[2]!;
const client = createClient(CoordinatorService, createConnectTransport({ baseUrl: url, httpVersion: "2", useBinaryFormat: true, binaryOptions: BINARY_READ_OPTIONS }));
const abort = new AbortController();
const seen = new Set<string>();
process.on("message", (m: { close?: boolean }) => {
  if (m.close) {
    abort.abort();
    process.exit(0);
  }
});
let first = true;
try {
  for await (const msg of client.watchWorkflows({ follow: true, pageSize: 1 }, { signal: abort.signal })) {
    const at = performance.timeOrigin + performance.now();
    if (first) {
      // The snapshot: from here on no change is missed.
      first = false;
      process.send!({ ready: true });
      continue;
    }
    for (const w of msg.workflows) {
      if (!isTerminalWorkflow(w.state) || seen.has(w.id)) continue;
      seen.add(w.id);
      process.send!({ ended: w.id, at });
    }
  }
} catch (err) {
  if (!abort.signal.aborted) process.stderr.write(`list watcher: ${(err as Error).message}\n`);
  process.exit(1);
}
