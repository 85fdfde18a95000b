// WatchWorkflows, the dashboard's live list: a snapshot of the newest
// workflows, then the summary of each workflow that appears or changes. With
// Redis, a workflow run by another coordinator on the same Redis shows up too.
import { afterAll, describe, expect, it } from "vitest";
import type { WatchWorkflowsResponse } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { coordinator, waitForEnd, WorkflowState, type CoordinatorClient } from "../helpers/coordinator.js";
import { sharedRedisUrl, stopSharedRedis } from "../helpers/redis.js";

afterAll(() => stopSharedRedis());

const YAML = "workflow:\n  name: listed\n  steps:\n    - { id: a, runner: js, payload: '1' }\n    - { id: b, runner: noop, depends_on: [a] }\n";

/** Reads the watch until `done` says so; returns every message. */
async function collect(stream: AsyncIterable<WatchWorkflowsResponse>, done: (msgs: WatchWorkflowsResponse[]) => boolean): Promise<WatchWorkflowsResponse[]> {
  const msgs: WatchWorkflowsResponse[] = [];
  for await (const m of stream) {
    msgs.push(m);
    if (done(msgs)) break;
  }
  return msgs;
}

async function liveList(watcher: CoordinatorClient, submitter: CoordinatorClient): Promise<void> {
  const before = (await submitter.submitWorkflow({ definition: { case: "yaml", value: YAML } })).workflowId;
  await waitForEnd(submitter, before);
  const abort = new AbortController();
  const stream = watcher.watchWorkflows({ pageSize: 10, follow: true }, { signal: abort.signal });
  let id = "";
  const msgs = await collect(stream, (ms) => {
    if (ms.length === 1) {
      expect(ms[0]!.snapshot).toBe(true);
      expect(ms[0]!.workflows.map((w) => w.id)).toContain(before);
      // Submitted once the snapshot is in: it can only arrive as a change.
      void submitter.submitWorkflow({ definition: { case: "yaml", value: YAML } }).then((r) => (id = r.workflowId));
      return false;
    }
    return ms.some((m) => m.workflows.some((w) => w.id === id && w.state === WorkflowState.SUCCEEDED));
  });
  abort.abort();
  const last = msgs.flatMap((m) => m.workflows).filter((w) => w.id === id).pop()!;
  expect(msgs.slice(1).every((m) => !m.snapshot)).toBe(true);
  expect(last).toMatchObject({ name: "listed", stepsTotal: 2, stepsSucceeded: 2 });
}

describe("WatchWorkflows", () => {
  it("memory store: a snapshot, then new and changed workflows", async () => {
    const { running, client } = await coordinator();
    try {
      await liveList(client, client);
      // follow=false: the snapshot only, then the stream ends (JSON-RPC over HTTP uses this).
      const once = await collect(client.watchWorkflows({ pageSize: 1 }), () => false);
      expect(once).toHaveLength(1);
      expect(once[0]!.workflows).toHaveLength(1);
      // Constraints as on the other requests.
      await expect(client.watchWorkflows({ pageSize: 2000 })[Symbol.asyncIterator]().next()).rejects.toThrow(/page_size/);
    } finally {
      await running.close();
    }
  });

  it("redis: a workflow run by another coordinator on the same Redis appears and changes", async () => {
    const url = await sharedRedisUrl();
    const prefix = `ww${Date.now()}`;
    const a = await coordinator({ redis: { url, prefix } });
    const b = await coordinator({ redis: { url, prefix } });
    try {
      await liveList(a.client, b.client);
    } finally {
      await a.running.close();
      await b.running.close();
    }
  });

  // Progress waits for its window (an hour here, so it cannot be what sends
  // anything), an end goes out at once: the first change a watcher gets is
  // the workflow already ended, progress gathered on the way included.
  async function endAtOnce(watcher: CoordinatorClient, submitter: CoordinatorClient): Promise<void> {
    const abort = new AbortController();
    const it = watcher.watchWorkflows({ pageSize: 1, follow: true }, { signal: abort.signal })[Symbol.asyncIterator]();
    try {
      expect((await it.next()).value?.snapshot).toBe(true);
      const { workflowId } = await submitter.submitWorkflow({ definition: { case: "yaml", value: YAML } });
      const first = (await it.next()).value as WatchWorkflowsResponse;
      expect(first.snapshot).toBe(false);
      expect(first.workflows.find((w) => w.id === workflowId)).toMatchObject({ state: WorkflowState.SUCCEEDED, stepsTotal: 2, stepsSucceeded: 2 });
    } finally {
      abort.abort();
    }
  }

  it("memory store: a workflow's end is sent without waiting for the progress window", async () => {
    const { running, client } = await coordinator({ listWindowMs: 3_600_000 });
    try {
      await endAtOnce(client, client);
    } finally {
      await running.close();
    }
  });

  it("redis: an end committed by another coordinator is sent without waiting for the window either", async () => {
    const url = await sharedRedisUrl();
    const prefix = `wwend${Date.now()}`;
    const a = await coordinator({ redis: { url, prefix }, listWindowMs: 3_600_000 });
    const b = await coordinator({ redis: { url, prefix } });
    try {
      await endAtOnce(a.client, b.client);
    } finally {
      await a.running.close();
      await b.running.close();
    }
  });
});
