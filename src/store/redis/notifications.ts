// Pub/sub between coordinators sharing a Redis: wakes watchers of a
// workflow's events and logs here and everywhere, feeds live lists, and
// carries ownership notices to the node that lost a workflow. Nothing here
// is state: a missed message only delays a watcher until its next wake.
import type { OwnershipNotice, Store } from "../store.js";
import type { RedisClient } from "./connection.js";
import { unavailable, type StoreContext } from "./context.js";

type Kind = "events" | "logs";

export interface Notifications {
  /**
   * Tells watchers here and on every coordinator: "e" new events, "l" new
   * log lines. A commit that ended the workflow also sends "t" after its
   * "e", so live lists send the end at once (see subscribeChanges); a
   * coordinator that knows only "e" still sees the change through it.
   */
  publish(kind: Kind, id: string, ended?: boolean): void;
  /** Tells `node` why it lost workflow `id`. */
  notice(node: string, notice: OwnershipNotice, id: string): void;
  onNotice(listener: (id: string, notice: OwnershipNotice) => void): void;
  subscribe: Store["subscribe"];
  subscribeChanges: Store["subscribeChanges"];
  /** Wakes every watcher one last time and forgets them (the store closes). */
  close(): void;
}

/** Subscribes `subscriber` (a connection of its own) to this node's channel and routes what arrives. */
export async function createNotifications(ctx: StoreContext, subscriber: RedisClient): Promise<Notifications> {
  const { client, keys: k } = ctx;
  const listeners = { events: new Map<string, Set<() => void>>(), logs: new Map<string, Set<() => void>>() };
  const changeListeners = new Set<(id: string, terminal: boolean) => void>();
  const changePattern = `${k.channelPrefix}*`;
  const noticeListeners: Array<(id: string, notice: OwnershipNotice) => void> = [];
  const myChannel = k.nodeChannel(ctx.nodeId);

  function notifyLocal(kind: Kind, id: string): void {
    const set = listeners[kind].get(id);
    if (set) for (const l of [...set]) l();
  }

  // This node's own changes reach its change listeners at once, not after a
  // round trip through Redis: a live list (WatchWorkflows) and a batched
  // watch's end then wait for nothing. The pattern message each publish
  // brings back is then skipped, once: `echoes` counts those still to come,
  // by "e <id>" / "t <id>". They are counted only while the pattern
  // subscription is confirmed, since only then does every publish come back,
  // and forgotten when the subscriber's connection drops (what it missed,
  // it missed).
  let patternActive = false;
  const echoes = new Map<string, number>();
  function tellChanges(id: string, terminal: boolean): void {
    for (const l of [...changeListeners]) l(id, terminal);
  }
  function expectEcho(key: string): void {
    if (patternActive) echoes.set(key, (echoes.get(key) ?? 0) + 1);
  }
  /** Whether a pattern message is the echo of this node's own publish (consumed). */
  function isEcho(key: string): boolean {
    const n = echoes.get(key);
    if (n === undefined) return false;
    if (n <= 1) echoes.delete(key);
    else echoes.set(key, n - 1);
    return true;
  }
  function subscribePattern(): void {
    subscriber.psubscribe(changePattern).then(
      () => {
        patternActive = changeListeners.size > 0;
      },
      () => {},
    );
  }
  subscriber.on("close", () => {
    patternActive = false;
    echoes.clear();
  });

  await subscriber.subscribe(myChannel).catch(unavailable);

  subscriber.on("message", (channel: string, message: string) => {
    if (channel === myChannel) {
      const [notice, id] = message.split(" ");
      if (notice === "cancel" && id) for (const l of noticeListeners) l(id, notice);
      return;
    }
    if (!channel.startsWith(k.channelPrefix)) return;
    // "t" follows an "e" for the same commit: no new events of its own.
    if (message === "t") return;
    notifyLocal(message === "l" ? "logs" : "events", channel.slice(k.channelPrefix.length));
  });
  // Live lists: every commit with events already publishes "e" on its
  // workflow's channel, so a pattern subscription sees every change without
  // an extra write per commit.
  subscriber.on("pmessage", (_pattern: string, channel: string, message: string) => {
    if ((message !== "e" && message !== "t") || !channel.startsWith(k.channelPrefix)) return;
    const id = channel.slice(k.channelPrefix.length);
    if (isEcho(`${message} ${id}`)) return;
    tellChanges(id, message === "t");
  });
  subscriber.on("ready", () => {
    // Back after an outage: every channel is subscribed again here (the
    // connection does not do it itself, see openRedis' `subscriber`). A
    // failure is the next outage, and the next "ready" tries again.
    subscriber.subscribe(myChannel).catch(() => {});
    if (changeListeners.size > 0) subscribePattern();
    // Messages may have been missed, so every watcher is woken to re-read.
    const ids = new Set([...listeners.events.keys(), ...listeners.logs.keys()]);
    if (ids.size > 0) subscriber.subscribe(...[...ids].map(k.channel)).catch(() => {});
    for (const id of ids) {
      notifyLocal("events", id);
      notifyLocal("logs", id);
    }
  });

  return {
    publish(kind, id, ended = false) {
      notifyLocal(kind, id);
      const lost = () => {
        /* watchers elsewhere catch up on their next wake or reconnect */
      };
      client.publish(k.channel(id), kind === "events" ? "e" : "l").catch(lost);
      if (ended) client.publish(k.channel(id), "t").catch(lost);
      if (kind !== "events" || changeListeners.size === 0) return;
      expectEcho(`e ${id}`);
      if (ended) expectEcho(`t ${id}`);
      tellChanges(id, false);
      if (ended) tellChanges(id, true);
    },

    notice(node, notice, id) {
      client.publish(k.nodeChannel(node), `${notice} ${id}`).catch(() => {});
    },

    onNotice(listener) {
      noticeListeners.push(listener);
    },

    subscribe(kind, id, listener) {
      const first = !listeners.events.has(id) && !listeners.logs.has(id);
      let set = listeners[kind].get(id);
      if (!set) listeners[kind].set(id, (set = new Set()));
      set.add(listener);
      if (first) subscriber.subscribe(k.channel(id)).catch(() => {});
      return () => {
        set!.delete(listener);
        if (set!.size === 0) listeners[kind].delete(id);
        if (!listeners.events.has(id) && !listeners.logs.has(id)) subscriber.unsubscribe(k.channel(id)).catch(() => {});
      };
    },

    subscribeChanges(listener) {
      const first = changeListeners.size === 0;
      changeListeners.add(listener);
      if (first) subscribePattern();
      return () => {
        if (!changeListeners.delete(listener) || changeListeners.size > 0) return;
        patternActive = false;
        echoes.clear();
        subscriber.punsubscribe(changePattern).catch(() => {});
      };
    },

    close() {
      changeListeners.clear();
      patternActive = false;
      echoes.clear();
      for (const map of Object.values(listeners)) {
        for (const set of map.values()) for (const l of [...set]) l();
      }
    },
  };
}
