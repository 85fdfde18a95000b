// Pub/sub between coordinators sharing a Redis: wakes watchers of a
// workflow's events and logs here and everywhere, feeds live lists, and
// carries ownership notices to the node that lost a workflow. Nothing here
// is state: a missed message only delays a watcher until its next wake.
import type { OwnershipNotice, Store, Unsubscribe } from "../store.js";
import type { RedisClient } from "./connection.js";
import { unavailable, type StoreContext } from "./context.js";
import { NOTE } from "./record-codec.js";

type Kind = "events" | "logs";

export interface Notifications {
  /** Tells watchers here and on every coordinator that workflow `id` has new log lines ("l"). */
  logged(id: string): void;
  /**
   * Wakes this node's watchers of a commit whose script published "e" (new
   * events) and, when it ended the workflow, "t" after it, so live lists
   * send the end at once (commit-4.lua). Live lists hear it through Redis
   * like every other node: the message comes back with the commit's reply.
   */
  committed(id: string): void;
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
  /** Settles once the server has a workflow's channel, or the change pattern, subscribed (see Unsubscribe.ready). */
  const channelReady = new Map<string, Promise<void>>();
  let patternReady: Promise<void> | undefined;
  const settled = (p: Promise<unknown>): Promise<void> =>
    p.then(
      () => {},
      () => {
        /* an outage: "ready" below subscribes again and wakes every watcher */
      },
    );

  function notifyLocal(kind: Kind, id: string): void {
    const set = listeners[kind].get(id);
    if (set) for (const l of [...set]) l();
  }

  await subscriber.subscribe(myChannel).catch(unavailable);

  subscriber.on("message", (channel: string, message: string) => {
    if (channel === myChannel) {
      const [notice, id] = message.split(" ");
      if (notice === "cancel" && id) for (const l of noticeListeners) l(id, notice);
      return;
    }
    if (!channel.startsWith(k.channelPrefix)) return;
    // "ended" follows an "events" for the same commit: no new events of its own.
    if (message === NOTE.ended) return;
    notifyLocal(message === NOTE.logs ? "logs" : "events", channel.slice(k.channelPrefix.length));
  });
  // Live lists: every commit with events already publishes "e" on its
  // workflow's channel, so a pattern subscription sees every change without
  // an extra write per commit.
  subscriber.on("pmessage", (_pattern: string, channel: string, message: string) => {
    if ((message !== NOTE.events && message !== NOTE.ended) || !channel.startsWith(k.channelPrefix)) return;
    const id = channel.slice(k.channelPrefix.length);
    for (const l of [...changeListeners]) l(id, message === NOTE.ended);
  });
  subscriber.on("ready", () => {
    // Back after an outage: every channel is subscribed again here (the
    // connection does not do it itself, see openRedis' `subscriber`). A
    // failure is the next outage, and the next "ready" tries again.
    subscriber.subscribe(myChannel).catch(() => {});
    if (changeListeners.size > 0) subscriber.psubscribe(changePattern).catch(() => {});
    // Messages may have been missed, so every watcher is woken to re-read.
    const ids = new Set([...listeners.events.keys(), ...listeners.logs.keys()]);
    if (ids.size > 0) subscriber.subscribe(...[...ids].map(k.channel)).catch(() => {});
    for (const id of ids) {
      notifyLocal("events", id);
      notifyLocal("logs", id);
    }
  });

  return {
    logged(id) {
      notifyLocal("logs", id);
      client.publish(k.channel(id), NOTE.logs).catch(() => {
        /* watchers elsewhere catch up on their next wake or reconnect */
      });
    },

    committed(id) {
      notifyLocal("events", id);
    },

    notice(node, notice, id) {
      client.publish(k.nodeChannel(node), `${notice} ${id}`).catch(() => {});
    },

    onNotice(listener) {
      noticeListeners.push(listener);
    },

    subscribe(kind, id, listener): Unsubscribe {
      const first = !listeners.events.has(id) && !listeners.logs.has(id);
      let set = listeners[kind].get(id);
      if (!set) listeners[kind].set(id, (set = new Set()));
      set.add(listener);
      if (first) channelReady.set(id, settled(subscriber.subscribe(k.channel(id))));
      const unsubscribe = () => {
        if (!set!.delete(listener)) return;
        if (set!.size === 0) listeners[kind].delete(id);
        if (listeners.events.has(id) || listeners.logs.has(id)) return;
        channelReady.delete(id);
        subscriber.unsubscribe(k.channel(id)).catch(() => {});
      };
      return Object.assign(unsubscribe, { ready: channelReady.get(id) });
    },

    subscribeChanges(listener): Unsubscribe {
      if (changeListeners.size === 0) patternReady = settled(subscriber.psubscribe(changePattern));
      changeListeners.add(listener);
      const unsubscribe = () => {
        if (!changeListeners.delete(listener) || changeListeners.size > 0) return;
        patternReady = undefined;
        subscriber.punsubscribe(changePattern).catch(() => {});
      };
      return Object.assign(unsubscribe, { ready: patternReady });
    },

    close() {
      changeListeners.clear();
      for (const map of Object.values(listeners)) {
        for (const set of map.values()) for (const l of [...set]) l();
      }
    },
  };
}
