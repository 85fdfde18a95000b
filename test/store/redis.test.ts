// The store contract on a real Redis, plus what only a shared, durable store
// has: fencing between owners, leases, retention, key layout, outages.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { StepState as S, WorkflowState as W } from "../../src/engine/states.js";
import { keysFor } from "../../src/store/redis/keys.js";
import { createRedisStore, type RedisStoreOptions } from "../../src/store/redis/redis-store.js";
import { LeaseLostError, StoreUnavailableError } from "../../src/store/store.js";
import { sharedRedisUrl, startRedis, startRedisCluster, stopSharedRedis } from "../helpers/redis.js";
import { tcpProxy } from "../helpers/proxy.js";
import { sampleRecord, storeContract } from "./contract.js";

afterAll(stopSharedRedis);

/** Every test gets its own key prefix: tests never see each other's keys. */
const prefix = () => `t${randomBytes(4).toString("hex")}`;
const open = async (options: Partial<RedisStoreOptions> = {}) => createRedisStore({ url: await sharedRedisUrl(), prefix: prefix(), ...options });

storeContract("redis", () => open());

/**
 * Watches every command clients send to the Redis at `url` (MONITOR);
 * settle() returns those sent since the last call, by name. Commands a
 * script runs come from "lua" and are left out. Connect the store first: a
 * command of another client arriving while ioredis switches its connection
 * to monitor mode breaks its reply queue.
 */
async function watchCommands(url: string): Promise<{ stop: () => void; settle: () => Promise<string[]> }> {
  // monitor() opens a connection of its own: both are closed by stop().
  // base is ready first: its own ready check (INFO) arriving on the monitor
  // connection while ioredis switches it to monitor mode breaks its reply queue.
  const base = new Redis(url);
  await base.ping();
  const monitor = await base.monitor();
  const sent: string[] = [];
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    if (source !== "lua") sent.push(args[0]!.toLowerCase());
  });
  const settle = async () => {
    // A PING through another connection: once MONITOR shows it, it showed everything before (its handshake is left out).
    const probe = new Redis(url);
    await probe.ping("settle");
    for (let i = 0; !sent.includes("ping") && i < 200; i++) await new Promise((r) => setTimeout(r, 5));
    probe.disconnect();
    const got = sent.filter((c) => !["ping", "hello", "info", "client"].includes(c));
    sent.length = 0;
    return got;
  };
  return { settle, stop: () => (monitor.disconnect(), base.disconnect()) };
}

describe("redis store", () => {
  it("fences: after another node claims a workflow, the old owner's commits fail and change nothing", async () => {
    const p = prefix();
    const a = await open({ prefix: p, nodeId: "a" });
    const b = await open({ prefix: p, nodeId: "b" });
    const rec = sampleRecord();
    await a.createWorkflow(rec);
    await a.commit(rec.id, { header: { state: W.RUNNING, startedAt: 1 }, steps: [], events: [{ kind: "workflow", time: 1, state: W.RUNNING }] });
    expect(await a.ownership.ownedBy("a")).toEqual([rec.id]);

    const claimed = await b.ownership.claim(rec.id, "a");
    expect(claimed?.state).toBe(W.RUNNING);
    expect(await b.ownership.claim(rec.id, "a")).toBeUndefined(); // no longer a's to take
    await expect(a.commit(rec.id, { steps: [], events: [{ kind: "workflow", time: 2, state: W.CANCELLED }] })).rejects.toBeInstanceOf(LeaseLostError);
    await b.commit(rec.id, {
      header: { state: W.SUCCEEDED, startedAt: 1, finishedAt: 3 },
      steps: [{ index: 0, record: { id: "a", state: S.SUCCEEDED, attempts: [] } }],
      events: [{ kind: "workflow", time: 3, state: W.SUCCEEDED }],
    });
    const events = await b.readEvents(rec.id, "", 10);
    expect(events.map((e) => e.kind === "workflow" && e.state)).toEqual([W.RUNNING, W.SUCCEEDED]);
    expect(await b.ownership.ownedBy("a")).toEqual([]);
    expect(await b.ownership.ownedBy("b")).toEqual([]); // finished: owned by no one
    const listed = await b.listWorkflows({ states: [W.SUCCEEDED], name: "", pageSize: 10, pageToken: "" });
    expect(listed.items).toMatchObject([{ id: rec.id, stepsSucceeded: 1, stepsTotal: 2 }]);
    await Promise.all([a.close(), b.close()]);
  });

  it("leases: a node that stops renewing is reported expired to the others; release ends a lease at once", async () => {
    const p = prefix();
    const a = await open({ prefix: p, nodeId: "a" });
    const b = await open({ prefix: p, nodeId: "b" });
    await a.ownership.heartbeat(200);
    expect(await b.ownership.heartbeat(10_000)).toEqual({ expired: [], live: expect.arrayContaining(["a", "b"]) });
    await new Promise((r) => setTimeout(r, 300));
    expect((await b.ownership.heartbeat(10_000)).expired).toEqual(["a"]);
    await b.ownership.forgetNode("a");
    expect((await b.ownership.heartbeat(10_000)).live).toEqual(["b"]);
    await b.ownership.release();
    expect((await a.ownership.heartbeat(10_000)).expired).toEqual(["b"]);
    await Promise.all([a.close(), b.close()]);
  });

  it("keeps every key of a workflow under one hash tag and the given prefix", async () => {
    const p = prefix();
    const store = await open({ prefix: p });
    const rec = sampleRecord();
    await store.createWorkflow(rec);
    await store.commit(rec.id, { header: { state: W.RUNNING }, steps: [], events: [{ kind: "workflow", time: 1, state: W.RUNNING }] });
    await store.appendLogs(rec.id, [{ stepId: "a", attempt: 1, time: 1, stream: "stdout", line: "x" }]);
    const redis = new Redis(await sharedRedisUrl());
    const keys = (await redis.keys(`${p}:*`)).sort();
    expect(keys.every((key) => key.startsWith(`${p}:`))).toBe(true);
    expect(keys.filter((key) => key.includes(rec.id))).toEqual([`${p}:{${rec.id}}`, `${p}:{${rec.id}}:ev`, `${p}:{${rec.id}}:logn`, `${p}:{${rec.id}}:logs`]);
    expect(await redis.keys(`${prefix()}:*`)).toEqual([]);
    redis.disconnect();
    await store.close();
  });

  it("expires a finished workflow with its events and logs after the retention", async () => {
    const p = prefix();
    const store = await open({ prefix: p, retentionMs: 60_000 });
    const rec = sampleRecord();
    await store.createWorkflow(rec);
    await store.appendLogs(rec.id, [{ stepId: "a", attempt: 1, time: 1, stream: "stdout", line: "x" }]);
    const redis = new Redis(await sharedRedisUrl());
    await store.commit(rec.id, { header: { state: W.RUNNING }, steps: [], events: [{ kind: "workflow", time: 1, state: W.RUNNING }] });
    expect(await redis.pttl(`${p}:{${rec.id}}`)).toBe(-1); // running: kept
    await store.commit(rec.id, { header: { state: W.SUCCEEDED, finishedAt: 2 }, steps: [], events: [{ kind: "workflow", time: 2, state: W.SUCCEEDED }] });
    for (const suffix of ["", ":ev", ":logs", ":logn"]) {
      const ttl = await redis.pttl(`${p}:{${rec.id}}${suffix}`);
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
    }
    redis.disconnect();
    await store.close();
  });

  it("caps log lines per step attempt with one marker", async () => {
    const store = await open({ maxLogLinesPerStep: 3 });
    const rec = sampleRecord();
    await store.createWorkflow(rec);
    const lines = Array.from({ length: 10 }, (_, i) => ({ stepId: "a", attempt: 1, time: i, stream: "stdout" as const, line: `l${i}` }));
    await store.appendLogs(rec.id, lines.slice(0, 2));
    await store.appendLogs(rec.id, lines.slice(2));
    const got = await store.readLogs(rec.id, { after: "", stepId: "", limit: 100 });
    expect(got.map((l) => l.line)).toEqual(["l0", "l1", "l2", "[log truncated: more than 3 lines for this attempt]"]);
    expect(got[3]!.stream).toBe("system");
    await store.close();
  });

  it("fails fast with StoreUnavailableError while Redis is down, and works again once it is back", async () => {
    const redis = await startRedis();
    try {
      const store = await createRedisStore({ url: redis.url, prefix: prefix(), commandTimeoutMs: 1_000 });
      const rec = sampleRecord();
      await store.createWorkflow(rec);
      await redis.kill();
      const started = Date.now();
      await expect(store.getWorkflow(rec.id)).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.createWorkflow(sampleRecord())).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(Date.now() - started).toBeLessThan(3_000);
      await redis.restart();
      // Without AOF the data is gone, but the store reconnects by itself.
      for (let i = 0; ; i++) {
        const ok = await store.listWorkflows({ states: [], name: "", pageSize: 1, pageToken: "" }).then(() => true, () => false);
        if (ok) break;
        if (i > 100) throw new Error("store did not reconnect");
        await new Promise((r) => setTimeout(r, 50));
      }
      await store.close();
    } finally {
      await redis.remove();
    }
  });

  it("after Redis comes back, hears its node's notices and watched workflows' events again; a flapping Redis leaves no unhandled rejection", async () => {
    const redis = await startRedis();
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on("unhandledRejection", onRejection);
    const p = prefix();
    const k = keysFor(p);
    const store = await createRedisStore({ url: redis.url, prefix: p, nodeId: "n1", commandTimeoutMs: 1_000 });
    try {
      const heard: string[] = [];
      store.ownership.onNotice((id, notice) => heard.push(`${notice} ${id}`));
      const stop = [store.subscribe("events", "wf_w", () => heard.push("events wf_w")), store.subscribeChanges((id) => heard.push(`change ${id}`))];
      // Down and up again, at different moments of the subscriber's reconnects.
      for (const pause of [0, 10, 30, 60, 120, 250]) {
        await redis.kill();
        await redis.restart();
        await new Promise((r) => setTimeout(r, pause));
      }
      const publisher = new Redis(redis.url);
      try {
        // Until the store's subscriber is back, a publish may reach nobody: repeat until each is heard.
        for (const [channel, message, expected] of [
          [k.nodeChannel("n1"), "cancel wf_n", "cancel wf_n"],
          [k.channel("wf_w"), "e", "events wf_w"],
          [k.channel("wf_other"), "e", "change wf_other"],
        ] as const) {
          for (let i = 0; !heard.includes(expected); i++) {
            if (i > 200) throw new Error(`never heard "${expected}" after Redis came back; heard ${JSON.stringify(heard)}`);
            await publisher.publish(channel, message);
            await new Promise((r) => setTimeout(r, 25));
          }
        }
      } finally {
        publisher.disconnect();
      }
      for (const s of stop) s();
      expect(rejections).toEqual([]);
    } finally {
      process.off("unhandledRejection", onRejection);
      await store.close();
      await redis.remove();
    }
  });

  it("the change feed hears each commit with events once, its own and another node's, and an end after its change", async () => {
    const p = prefix();
    const a = await open({ prefix: p, nodeId: "a" });
    const b = await open({ prefix: p, nodeId: "b" });
    try {
      const heard: string[] = [];
      const stop = a.subscribeChanges((id, terminal) => heard.push(`${id}${terminal ? " ended" : ""}`));
      // The pattern subscription is in place once a change of another node is heard.
      const probe = sampleRecord();
      await b.createWorkflow(probe);
      for (let i = 0; !heard.length; i++) {
        if (i > 200) throw new Error("the change feed never started");
        await b.commit(probe.id, { steps: [], events: [{ kind: "workflow", time: i, state: W.RUNNING }] });
        await new Promise((r) => setTimeout(r, 10));
      }
      heard.length = 0;
      const own = sampleRecord();
      await a.createWorkflow(own);
      await a.commit(own.id, { header: { state: W.RUNNING, startedAt: 1 }, steps: [], events: [{ kind: "workflow", time: 1, state: W.RUNNING }] });
      // A commit without events announces nothing.
      await a.commit(own.id, { steps: [{ index: 0, record: { id: "a", state: S.RUNNING, attempts: [] } }], events: [] });
      await a.commit(own.id, { header: { state: W.SUCCEEDED, finishedAt: 2 }, steps: [], events: [{ kind: "workflow", time: 2, state: W.SUCCEEDED }] });
      await b.commit(probe.id, { steps: [], events: [{ kind: "workflow", time: 9, state: W.RUNNING }] });
      for (let i = 0; heard.length < 4; i++) {
        if (i > 200) throw new Error(`heard only ${JSON.stringify(heard)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      await new Promise((r) => setTimeout(r, 50));
      expect(heard.filter((h) => h.startsWith(own.id))).toEqual([own.id, own.id, `${own.id} ended`]);
      expect(heard.filter((h) => h.startsWith(probe.id))).toEqual([probe.id]);
      stop();
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("a subscription is ready only once the server has confirmed it, for a workflow's channel and for the change feed", async () => {
    // Through a proxy that holds Redis's replies back: the SUBSCRIBE reaches
    // Redis, but until its reply comes the subscription is not ready.
    const redis = await sharedRedisUrl();
    const proxy = await tcpProxy(Number(new URL(redis).port));
    const store = await createRedisStore({ url: `redis://127.0.0.1:${proxy.port}`, prefix: prefix(), nodeId: "a" });
    try {
      for (const subscribe of [() => store.subscribe("events", "wf_held", () => {}), () => store.subscribeChanges(() => {})]) {
        proxy.hold();
        const unsubscribe = subscribe();
        let ready = false;
        void Promise.resolve(unsubscribe.ready).then(() => (ready = true));
        await new Promise((r) => setTimeout(r, 200));
        expect(ready).toBe(false);
        proxy.release();
        for (let i = 0; !ready && i < 200; i++) await new Promise((r) => setTimeout(r, 10));
        expect(ready).toBe(true);
        unsubscribe();
      }
    } finally {
      await store.close();
      await proxy.close();
    }
  });

  it("the change feed keeps hearing when its last listener leaves and a new one comes in the same turn (a live list closed and opened again)", async () => {
    const p = prefix();
    const a = await open({ prefix: p, nodeId: "a" });
    const b = await open({ prefix: p, nodeId: "b" });
    const rec = sampleRecord();
    await b.createWorkflow(rec);
    const heardBy = async (feed: string[]) => {
      for (let i = 0; !feed.length; i++) {
        if (i > 100) return false;
        await b.commit(rec.id, { steps: [], events: [{ kind: "workflow", time: i, state: W.RUNNING }] });
        await new Promise((r) => setTimeout(r, 20));
      }
      return true;
    };
    try {
      for (let round = 0; round < 3; round++) {
        const first: string[] = [];
        const stopFirst = a.subscribeChanges((id) => first.push(id));
        expect(await heardBy(first), `round ${round}: the first listener`).toBe(true);
        // The first leaves (PUNSUBSCRIBE) and the second comes (PSUBSCRIBE) in one turn of the event loop.
        stopFirst();
        const second: string[] = [];
        const stopSecond = a.subscribeChanges((id) => second.push(id));
        expect(await heardBy(second), `round ${round}: the listener that came as the other left`).toBe(true);
        stopSecond();
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("creates a batch of workflows, their idempotency keys and index entries in one round trip: one script call", async () => {
    const redis = await startRedis();
    // Connected before MONITOR starts: a command of another client arriving
    // while ioredis switches its connection to monitor mode breaks its reply queue.
    const store = await createRedisStore({ url: redis.url, prefix: prefix(), nodeId: "n1" });
    const { stop, settle } = await watchCommands(redis.url);
    try {
      await settle();
      const recs = Array.from({ length: 50 }, (_, i) => sampleRecord({ name: `batch-${i % 3}`, ...(i % 2 ? { idempotencyKey: `k${i}` } : {}) }));
      expect(await store.createWorkflows(recs)).toEqual(recs.map((r) => ({ id: r.id, existing: false })));
      expect(await settle()).toEqual([expect.stringMatching(/^eval(sha)?$/)]);
      // A single create is the same one call.
      await store.createWorkflow(sampleRecord({ idempotencyKey: "single" }));
      expect(await settle()).toEqual(["evalsha"]);
      // What the one call wrote: owned by this node, running, listed by name.
      expect((await store.ownership.ownedBy("n1")).length).toBe(51);
      expect((await store.ownership.active()).length).toBe(51);
      expect((await store.listWorkflows({ states: [], name: "batch-1", pageSize: 100, pageToken: "" })).items).toHaveLength(17);
      await store.close();
    } finally {
      stop();
      await redis.remove();
    }
  });

  it("commits in one round trip: one EVALSHA, and index commands only when the workflow's state changed", async () => {
    const redis = await startRedis();
    const store = await createRedisStore({ url: redis.url, prefix: prefix(), nodeId: "n1" });
    const { stop, settle } = await watchCommands(redis.url);
    try {
      const r = sampleRecord();
      await store.createWorkflow(r);
      await store.commit(r.id, { header: { state: W.RUNNING, startedAt: 1 }, steps: [], events: [] });
      await settle();
      const step = { id: "a", state: S.RUNNING, attempts: [] };
      await store.commit(r.id, { steps: [{ index: 0, record: step }], events: [{ type: "x" } as never] });
      // The events' "e" on the workflow's channel is published by the script itself: no second command.
      expect(await settle()).toEqual(["evalsha"]);
      await store.commit(r.id, { steps: [{ index: 0, record: { ...step, state: S.SUCCEEDED } }], events: [] });
      expect(await settle()).toEqual(["evalsha"]);
      await store.close();
    } finally {
      stop();
      await redis.remove();
    }
  });

  it("writes nothing of a batch when one of its ids exists", async () => {
    const store = await open();
    const taken = sampleRecord();
    await store.createWorkflow(taken);
    const fresh = sampleRecord({ idempotencyKey: `fresh-${randomBytes(3).toString("hex")}` });
    await expect(store.createWorkflows([fresh, sampleRecord({ id: taken.id })])).rejects.toThrow(/already exists/);
    expect(await store.getWorkflow(fresh.id)).toBeUndefined();
    // Its idempotency key was not taken either.
    const again = sampleRecord({ idempotencyKey: fresh.idempotencyKey! });
    expect(await store.createWorkflow(again)).toEqual({ id: again.id, existing: false });
    await store.close();
  });

  it("creates a batch on a Redis Cluster, deduplicating keys within it in order; schedules in many slots work there too", async () => {
    const cluster = await startRedisCluster(3);
    try {
      const store = await createRedisStore({ url: cluster.urls.join(","), cluster: true, prefix: prefix() });
      const old = sampleRecord({ idempotencyKey: "old" });
      await store.createWorkflow(old);
      const recs = [sampleRecord({ idempotencyKey: "a" }), sampleRecord({ idempotencyKey: "old" }), ...Array.from({ length: 20 }, () => sampleRecord({ name: "many" })), sampleRecord({ idempotencyKey: "a" })];
      const got = await store.createWorkflows(recs);
      expect(got[0]).toEqual({ id: recs[0]!.id, existing: false });
      expect(got[1]).toEqual({ id: old.id, existing: true });
      expect(got[22]).toEqual({ id: recs[0]!.id, existing: true });
      expect(got.slice(2, 22)).toEqual(recs.slice(2, 22).map((r) => ({ id: r.id, existing: false })));
      expect((await store.listWorkflows({ states: [], name: "many", pageSize: 100, pageToken: "" })).items).toHaveLength(20);
      expect(await store.getWorkflow(recs[22]!.id)).toBeUndefined();
      await store.commit(recs[2]!.id, { header: { state: W.RUNNING }, steps: [], events: [{ kind: "workflow", time: 1, state: W.RUNNING }] });
      const names = ["a", "b", "c", "d", "e", "f"];
      for (const name of names) {
        await store.schedules.create({ name, cron: "* * * * *", timeZone: "UTC", overlap: "skip", catchUpMs: 0, target: { yaml: "y" }, inputs: {}, createdAt: 1, paused: false, lastTick: 1 });
      }
      expect(await store.schedules.advance("c", { createdAt: 1, tick: 60_000, run: { workflowId: "wf_c", at: 60_001 } })).toBe(true);
      expect((await store.schedules.setPaused("e", true, 5))?.paused).toBe(true);
      expect(await store.schedules.delete("f")).toBe(true);
      const listed = await store.schedules.list();
      expect(listed.map((r) => [r.name, r.lastTick, r.paused])).toEqual([["a", 1, false], ["b", 1, false], ["c", 60_000, false], ["d", 1, false], ["e", 1, true]]);
      await store.close();
      // ioredis's Cluster client lets go of its node connections a little after
      // quit() resolves; stopping the nodes first makes it log reconnect errors.
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await cluster.stop();
    }
  });

  it("rejects a page token or cursor it did not issue", async () => {
    const store = await open();
    await expect(store.listWorkflows({ states: [], name: "", pageSize: 1, pageToken: "x y" })).rejects.toThrow(/invalid cursor/);
    await expect(store.readLogs("wf_x", { after: "12", stepId: "", limit: 1 })).rejects.toThrow(/invalid cursor/);
    await store.close();
  });
});
