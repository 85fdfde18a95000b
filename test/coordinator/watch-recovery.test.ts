// A watch whose store notifications never come (a pub/sub message lost with
// a connection) still ends: after WATCH_EXISTS_CHECK_MS of silence it reads
// the workflow's events again instead of waiting for the next change.
import { afterAll, expect, it } from "vitest";
import { isTerminalWorkflow } from "../../src/engine/states.js";
import { createMemoryStore } from "../../src/store/memory/memory-store.js";
import type { Store } from "../../src/store/store.js";
import { coordinator } from "../helpers/coordinator.js";

const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c();
});

/** The memory store, except that no subscriber ever hears anything. */
function deafStore(): Store {
  const inner = createMemoryStore();
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "subscribe") return (kind: "events" | "logs", id: string) => inner.subscribe(kind, id, () => {});
      if (prop === "subscribeChanges") return () => inner.subscribeChanges(() => {});
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
}

it("a watch that hears nothing reads again after a while, and sees the end", async () => {
  const { running, client } = await coordinator({ store: deafStore() });
  closers.push(() => running.close());
  const { workflowId } = await client.submitWorkflow({ definition: { case: "yaml", value: "workflow:\n  name: deaf\n  steps:\n    - {id: a, runner: shell, payload: 'sleep 0.3'}\n" } });
  const started = Date.now();
  let ended = false;
  for await (const msg of client.watchWorkflow({ workflowId, batch: true })) {
    const events = msg.kind.case === "events" ? msg.kind.value.events : [];
    if (msg.kind.case === "snapshot" && isTerminalWorkflow(msg.kind.value.state)) ended = true;
    if (events.some((e) => e.kind.case === "workflow" && isTerminalWorkflow(e.kind.value.state))) ended = true;
  }
  expect(ended).toBe(true);
  // Not at once: only the re-read after the quiet spell saw it.
  expect(Date.now() - started).toBeGreaterThan(4_000);
}, 20_000);
