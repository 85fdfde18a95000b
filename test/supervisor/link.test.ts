// The supervisor's Link handler (src/supervisor/link.ts) at the message
// level, with a raw bidirectional stream to a real HTTP/2 supervisor server:
// answers by id, errors by id without ending the link, watches ended by
// `end`, and credits that follow demand and capacity.
import { afterEach, describe, expect, it } from "vitest";
import { startSupervisorServer, type RunningSupervisor } from "../../src/server/supervisor-server.js";
import { rawLink as openLink } from "../helpers/raw-link.js";
import { until } from "../helpers/wait.js";

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A raw Link stream to `sup`, ended after the test. */
const rawLink = (sup: RunningSupervisor) => openLink(sup.url, (end) => cleanup.push(end));

describe("supervisor Link handler", () => {
  it("answers by id, reports a bad request by id and goes on, and ends a watch on `end`", async () => {
    const sup = await startSupervisorServer({ port: 0, supervisor: { name: "raw-sup", shutdownGraceMs: 50 } });
    cleanup.push(() => sup.close());
    const l = rawLink(sup);
    l.send({ id: 1n, kind: { case: "hello", value: { nodeId: "n1", nodeName: "test" } } });
    l.send({ id: 2n, kind: { case: "ping", value: {} } });
    l.send({ id: 3n });
    l.send({ id: 4n, kind: { case: "watch", value: { afterSeq: 0n } } });
    await until(() => (l.byId(4n).length > 0 ? true : undefined));
    expect(l.byId(1n)[0]!.kind).toMatchObject({ case: "hello", value: { name: "raw-sup", silenceLimitMs: 15_000 } });
    expect(l.byId(2n)[0]!.kind.case).toBe("pong");
    expect(l.byId(3n)[0]!.kind).toMatchObject({ case: "error", value: { code: 3 } });
    expect(l.byId(4n)[0]!.kind).toMatchObject({ case: "events", value: { events: [] } });

    l.send({ id: 5n, kind: { case: "dispatch", value: { jobs: [{ attemptId: "x.1", workflowId: "x", stepId: "s", attempt: 1, runner: "noop" }] } } });
    await until(() => (l.byId(4n).flatMap((m) => (m.kind.case === "events" ? m.kind.value.events : [])).some((e) => e.kind.case === "finished") ? true : undefined));
    expect(l.byId(5n)[0]!.kind).toMatchObject({ case: "dispatch", value: { acks: [{ attemptId: "x.1", accepted: true }] } });

    // After `end`, the watch sends nothing more; the link itself goes on.
    l.send({ id: 4n, kind: { case: "end", value: {} } });
    l.send({ id: 6n, kind: { case: "ping", value: {} } });
    await until(() => (l.byId(6n).length > 0 ? true : undefined));
    const before = l.byId(4n).length;
    l.send({ id: 7n, kind: { case: "dispatch", value: { jobs: [{ attemptId: "x.2", workflowId: "x", stepId: "s2", attempt: 1, runner: "noop" }] } } });
    l.send({ id: 8n, kind: { case: "getJobs", value: { attemptIds: ["x.2"] } } });
    await until(() => (l.byId(8n).length > 0 ? true : undefined));
    await new Promise((r) => setTimeout(r, 50));
    expect(l.byId(4n).length).toBe(before);
    expect(l.failure()).toBeUndefined();
  });

  it("grants credit as demand and free slots allow, and hands a closed link's credit to the others", async () => {
    const sup = await startSupervisorServer({ port: 0, supervisor: { name: "raw-sup", capacity: { noop: 6 }, shutdownGraceMs: 50 } });
    cleanup.push(() => sup.close());
    const a = rawLink(sup);
    a.send({ id: 1n, kind: { case: "hello", value: {} } });
    await until(() => (a.credit("noop") === 6n ? true : undefined));
    const b = rawLink(sup);
    b.send({ id: 1n, kind: { case: "hello", value: {} } });
    // The idle share: half each once b is there. a's cut comes first; b gets
    // the credit only once a acknowledged it (a may be sending against it).
    await until(() => (a.credit("noop") === 3n ? true : undefined));
    expect(b.credit("noop") ?? 0n).toBe(0n);
    a.send({ id: 0n, kind: { case: "creditAck", value: { limit: { noop: 3n } } } });
    await until(() => (b.credit("noop") === 3n ? true : undefined));
    // b waits for 5: a's unused pre-grant goes to it, again after a's acknowledgement.
    b.send({ id: 0n, kind: { case: "demand", value: { waiting: { noop: 5 } } } });
    await until(() => (a.credit("noop") === 1n ? true : undefined));
    expect(b.credit("noop")).toBe(3n);
    a.send({ id: 0n, kind: { case: "creditAck", value: { limit: { noop: 1n } } } });
    await until(() => (b.credit("noop") === 5n ? true : undefined));
    // b goes away: a gets everything back.
    b.close();
    await until(() => (a.credit("noop") === 6n ? true : undefined));
  });
});
