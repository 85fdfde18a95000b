// A workflow's two streams: its events (the cursors watchers resume from)
// and its step log lines, capped per step attempt by the appendLogs script.
import type { Store } from "../store.js";
import { InvalidCursorError, type StoredLog } from "../store.js";
import { appendLogsCall } from "./calls.js";
import { persistently, unavailable, type StoreContext } from "./context.js";
import type { Notifications } from "./notifications.js";
import { decodeEvent, decodeLog } from "./record-codec.js";
import { runScript } from "./scripts.js";

const CURSOR = /^\d+-\d+$/;
/** Lines per appendLogs call, so one script never runs long. */
const LOG_BATCH = 1000;

/** The XRANGE start after a cursor ("" for the beginning). */
function after(cursor: string): string {
  if (cursor === "") return "-";
  if (!CURSOR.test(cursor)) throw new InvalidCursorError(cursor);
  return `(${cursor}`;
}

export interface StreamsOptions {
  /** Log lines kept per step attempt; one marker line follows. */
  maxLogLines: number;
}

export function createStreams(ctx: StoreContext, notifications: Notifications, options: StreamsOptions): Pick<Store, "readEvents" | "appendLogs" | "readLogs"> {
  const { client, keys: k } = ctx;
  return {
    async readEvents(id, cursor, limit) {
      const from = after(cursor);
      const entries = await client.xrange(k.events(id), from, "+", "COUNT", limit).catch(unavailable);
      return entries.map(([c, fields]) => decodeEvent(c, fields));
    },

    async appendLogs(id, lines) {
      if (lines.length === 0) return;
      for (let at = 0; at < lines.length; at += LOG_BATCH) {
        const call = appendLogsCall({ keys: k, id, maxPerAttempt: options.maxLogLines, lines: lines.slice(at, at + LOG_BATCH) });
        await persistently(ctx, `logs of ${id}`, () => runScript(client, call));
      }
      notifications.logged(id);
    },

    async readLogs(id, query) {
      let from = after(query.after);
      const out: StoredLog[] = [];
      const count = Math.max(query.limit, 100);
      for (;;) {
        const entries = await client.xrange(k.logs(id), from, "+", "COUNT", count).catch(unavailable);
        for (const [cursor, f] of entries) {
          const log = decodeLog(cursor, f);
          if (query.stepId && log.stepId !== query.stepId) continue;
          out.push(log);
          if (out.length === query.limit) return out;
        }
        if (entries.length < count) return out;
        from = `(${entries[entries.length - 1]![0]}`;
      }
    },
  };
}
