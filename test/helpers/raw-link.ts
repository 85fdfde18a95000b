// A raw Link stream to a supervisor (SupervisorService.Link): push requests,
// read every response as it came. For tests that speak the protocol itself.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { SupervisorService, type JobEvent, type LinkRequestSchema, type LinkResponse } from "../../gen/horus/coordinator/v1/supervisor_pb.js";
import { SUPERVISOR_BINARY_OPTIONS } from "../../src/common/depth.js";

export type LinkRequestInit = MessageInitShape<typeof LinkRequestSchema>;

/** Opens a Link to the supervisor at `url`; `cleanup` is handed what ends it when the test does. */
export function rawLink(url: string, cleanup: (end: () => void) => void) {
  const client = createClient(SupervisorService, createConnectTransport({ baseUrl: url, httpVersion: "2", useBinaryFormat: true, binaryOptions: SUPERVISOR_BINARY_OPTIONS }));
  const queue: LinkRequestInit[] = [];
  let wake: (() => void) | undefined;
  const ctl = new AbortController();
  cleanup(() => ctl.abort());
  async function* requests() {
    for (;;) {
      while (queue.length > 0) yield queue.shift()!;
      await new Promise<void>((r) => (wake = r));
    }
  }
  const got: LinkResponse[] = [];
  let failure: unknown;
  const done = (async () => {
    try {
      for await (const m of client.link(requests(), { signal: ctl.signal })) got.push(m);
    } catch (err) {
      failure = err;
    }
  })();
  return {
    send(req: LinkRequestInit) {
      queue.push(req);
      wake?.();
    },
    got,
    byId: (id: bigint) => got.filter((m) => m.id === id),
    /** The last limit granted to `runner`. */
    credit: (runner: string) => {
      let limit: bigint | undefined;
      for (const m of got) if (m.kind.case === "credit" && m.kind.value.limit[runner] !== undefined) limit = m.kind.value.limit[runner];
      return limit;
    },
    /** Finished events received on watches. */
    finished(): JobEvent[] {
      return got.flatMap((m) => (m.kind.case === "events" ? m.kind.value.events : [])).filter((e) => e.kind.case === "finished");
    },
    done,
    failure: () => failure,
    close: () => ctl.abort(),
  };
}
