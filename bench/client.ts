// The bench as a user: this process is the client of a coordinator process
// (`horus coordinator`, started by bench/processes.ts) and talks to it only
// through the public API, Connect (binary) over HTTP/2 on a loopback port.
// A single workflow's end is noticed on WatchWorkflow, as `horus run` and
// `horus watch` do; a batch's ends on one WatchWorkflows stream, as the
// dashboard does. Dispatch latencies come from GetWorkflow.
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { CoordinatorService, OutputFormat, type RunWorkflowResponse, type WatchWorkflowResponse } from "../gen/horus/coordinator/v1/coordinator_pb.js";
import { BINARY_READ_OPTIONS } from "../src/common/depth.js";
import { toValueMap, type JsonMap } from "../src/common/json.js";
import { isTerminalWorkflow } from "../src/engine/states.js";
import { definitionToSpec } from "../src/coordinator/convert.js";
import { parseWorkflowYaml } from "../src/workflow/parse.js";
import type { EndWatch, Target } from "./target.js";

/**
 * How definitions are sent. "spec" (the default): the structured form, a
 * WorkflowSpec message, as BullMQ flows are plain objects; the YAML is
 * parsed once per text beforehand, outside the timed part. "yaml": the
 * text, as `horus run FILE` sends it (the coordinator parses it; 2,001
 * steps of YAML take it ~100-200 ms).
 */
export type SubmitForm = "spec" | "yaml";

const specs = new Map<string, ReturnType<typeof definitionToSpec>>();

/** The structured form of a bench workflow, parsed once per text. */
export function specOf(yaml: string): ReturnType<typeof definitionToSpec> {
  let spec = specs.get(yaml);
  if (!spec) {
    const parsed = parseWorkflowYaml(yaml);
    if (!parsed.definition) throw new Error(`bench workflow does not parse: ${parsed.problems[0]?.message}`);
    spec = definitionToSpec(parsed.definition);
    specs.set(yaml, spec);
  }
  return spec;
}

/**
 * Whether a watch message carries the workflow's end. Watches are asked
 * batched and with outputs as JSON text, as the SDK's helpers, the CLI and
 * the dashboard ask; the outputs are parsed, as the SDK does for its caller.
 */
function isEnd(msg: WatchWorkflowResponse | RunWorkflowResponse): boolean {
  if (msg.kind.case === "snapshot") return isTerminalWorkflow(msg.kind.value.state);
  const events = msg.kind.case === "events" ? msg.kind.value.events : msg.kind.case === "event" ? [msg.kind.value] : [];
  for (const e of events) if (e.kind.case === "step" && e.kind.value.outputJson) JSON.parse(e.kind.value.outputJson);
  return events.some((e) => e.kind.case === "workflow" && isTerminalWorkflow(e.kind.value.state));
}

/**
 * The longest a bench run waits for one workflow's end (ms). Runs take
 * seconds at most; an end never heard fails the bench with this message
 * rather than hang it (and CI) until the job's own time limit.
 */
const END_TIMEOUT_MS = 120_000;

const endTimedOut = (id: string) => new Error(`workflow ${id || "(not submitted)"}: its end was not heard within ${END_TIMEOUT_MS / 1000} s`);

/** A client of the coordinator at `url`, as a Target. */
export function clientTarget(url: string, form: SubmitForm = "spec"): Target {
  // One HTTP/2 connection for every call and stream, as one client has.
  const session = new Http2SessionManager(url);
  const client: Client<typeof CoordinatorService> = createClient(
    CoordinatorService,
    createConnectTransport({ baseUrl: url, httpVersion: "2", useBinaryFormat: true, sessionManager: session, binaryOptions: BINARY_READ_OPTIONS }),
  );

  /** A definition as this target sends it: the spec (parsed once per YAML) or the YAML text. */
  const definitionOf = (yaml: string) => (form === "spec" ? { case: "spec" as const, value: specOf(yaml) } : { case: "yaml" as const, value: yaml });

  async function submit(yaml: string, inputs: JsonMap = {}): Promise<string> {
    const definition = definitionOf(yaml);
    const res = await client.submitWorkflow({ definition, inputs: toValueMap(inputs) });
    return res.workflowId;
  }

  return {
    submit,

    async submitMany(yaml, count) {
      // SubmitWorkflows, a thousand definitions a call at most: one call for
      // the whole batch, as BullMQ's side adds its flows with addBulk.
      const definition = definitionOf(yaml);
      const ids: string[] = [];
      for (let left = count; left > 0; left -= 1000) {
        const res = await client.submitWorkflows({ workflows: Array.from({ length: Math.min(left, 1000) }, () => ({ definition })) });
        ids.push(...res.workflows.map((w) => w.workflowId));
      }
      return ids;
    },

    async run(yaml, inputs = {}, options = {}) {
      const definition = definitionOf(yaml);
      let id = "";
      try {
        for await (const msg of client.runWorkflow({ submit: { definition, inputs: toValueMap(inputs) }, batch: true, outputs: OutputFormat.JSON, latestOnly: options.latestOnly ?? false }, { timeoutMs: END_TIMEOUT_MS })) {
          if (msg.kind.case === "submitted") id = msg.kind.value.workflowId;
          else if (isEnd(msg)) return id;
        }
      } catch (err) {
        throw ConnectError.from(err).code === Code.DeadlineExceeded ? endTimedOut(id) : err;
      }
      throw new Error(`the run of workflow ${id || "(not submitted)"} closed before it ended`);
    },

    async ended(id) {
      // The first message is a snapshot: a workflow that ended before the
      // watch opened is seen there.
      try {
        for await (const msg of client.watchWorkflow({ workflowId: id, batch: true, outputs: OutputFormat.JSON }, { timeoutMs: END_TIMEOUT_MS })) if (isEnd(msg)) return;
      } catch (err) {
        throw ConnectError.from(err).code === Code.DeadlineExceeded ? endTimedOut(id) : err;
      }
      throw new Error(`the watch of workflow ${id} closed before it ended`);
    },

    async watchAll() {
      const abort = new AbortController();
      const done = new Set<string>();
      const waiters = new Map<string, { resolve: () => void; reject: (err: Error) => void }>();
      let failed: Error | undefined;
      const it = client.watchWorkflows({ follow: true, pageSize: 1 }, { signal: abort.signal })[Symbol.asyncIterator]();
      // The snapshot comes after the subscription: from here on no end is missed.
      await it.next();
      const pump = (async () => {
        try {
          for (;;) {
            const r = await it.next();
            if (r.done) throw new Error("WatchWorkflows closed");
            for (const s of r.value.workflows) {
              if (!isTerminalWorkflow(s.state) || done.has(s.id)) continue;
              done.add(s.id);
              waiters.get(s.id)?.resolve();
            }
          }
        } catch (err) {
          if (abort.signal.aborted) return;
          failed = err instanceof Error ? err : new Error(String(err));
          for (const w of waiters.values()) w.reject(failed);
        }
      })();
      const watch: EndWatch = {
        ended(id) {
          if (done.has(id)) return Promise.resolve();
          if (failed) return Promise.reject(failed);
          return new Promise((resolve, reject) => {
            const timer = setTimeout(() => (waiters.delete(id), reject(endTimedOut(id))), END_TIMEOUT_MS);
            waiters.set(id, { resolve: () => { clearTimeout(timer); waiters.delete(id); resolve(); }, reject });
          });
        },
        async close() {
          abort.abort();
          await pump;
        },
      };
      return watch;
    },

    async dispatchLatencies(id) {
      const { workflow } = await client.getWorkflow({ workflowId: id });
      const out: number[] = [];
      for (const step of workflow?.steps ?? []) {
        if (step.dependsOn.length === 0) continue;
        const last = step.attemptHistory[step.attemptHistory.length - 1];
        if (!step.readyAt || !last?.dispatchedAt) continue;
        out.push(timestampMs(last.dispatchedAt) - timestampMs(step.readyAt));
      }
      return out;
    },

    async finishedAt(id) {
      const { workflow } = await client.getWorkflow({ workflowId: id });
      if (!workflow?.finishedAt) throw new Error(`workflow ${id} has not finished`);
      return timestampMs(workflow.finishedAt);
    },

    async ranMs(id) {
      const { workflow } = await client.getWorkflow({ workflowId: id });
      if (!workflow?.finishedAt || !workflow.createdAt) throw new Error(`workflow ${id} has not finished`);
      return timestampMs(workflow.finishedAt) - timestampMs(workflow.createdAt);
    },

    async close() {
      session.abort();
    },
  };
}
