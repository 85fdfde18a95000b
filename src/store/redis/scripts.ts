// Every state change of a workflow is one of the Lua scripts in ./lua, run
// atomically by Redis on the workflow's own keys (one hash slot). They only
// check tokens and write what TypeScript computed; the logic stays in
// TypeScript. Each file starts with a header naming its KEYS, ARGV and
// reply; its name ends in its key count ("commit-4.lua"), or has none when
// the call passes the count ("create-many.lua"). calls.ts builds each
// script's arguments and parses its reply.
//
// The files are read next to this module (src/ under vitest, dist/src once
// built: scripts/copy-lua.mjs copies them there), once, at import: a build
// that lost them fails at start, not at the first commit.
import { readFileSync } from "node:fs";
import type { RedisClient } from "./connection.js";
import { LUA_CONSTANTS } from "./record-codec.js";

export interface ScriptDef {
  /** The file in ./lua. */
  file: string;
  /** How many KEYS it takes; "varying" when the call says (the count goes before the keys). */
  keys: number | "varying";
  /** The source Redis runs: the codec's header, then the file. */
  lua: string;
}

/**
 * One line declaring the codec's names as Lua locals (WF_FENCE = 'fence',
 * ...), put before every script, so a script can only name a hash field the
 * codec owns. One line, so Redis's line numbers in an error are the file's
 * plus one.
 */
export const LUA_HEADER = (() => {
  const entries = Object.entries(LUA_CONSTANTS);
  for (const [name, value] of entries) {
    // Plain names only: each becomes a Lua string literal as it is.
    if (!/^[A-Za-z0-9_:]*$/.test(value)) throw new Error(`record codec constant ${name} = ${JSON.stringify(value)} cannot go into Lua as it is`);
  }
  return `local ${entries.map(([n]) => n).join(", ")} = ${entries.map(([, v]) => `'${v}'`).join(", ")}\n`;
})();

const LUA_FILE = /^[a-z]+(?:-[a-z]+)*?(?:-(\d+))?\.lua$/;

/** Reads a script of ./lua; its key count comes from its name. */
export function loadScript(file: string): ScriptDef {
  const m = LUA_FILE.exec(file);
  if (!m) throw new Error(`script file ${file}: expected <name>[-<key count>].lua`);
  const source = readFileSync(new URL(`./lua/${file}`, import.meta.url), "utf8");
  return { file, keys: m[1] === undefined ? "varying" : Number(m[1]), lua: LUA_HEADER + source };
}

export const SCRIPTS = {
  create: loadScript("create-1.lua"),
  createMany: loadScript("create-many.lua"),
  commit: loadScript("commit-4.lua"),
  appendLogs: loadScript("append-logs-3.lua"),
  claim: loadScript("claim-1.lua"),
  heartbeat: loadScript("heartbeat-1.lua"),
  putTemplate: loadScript("put-template-1.lua"),
  scheduleCreate: loadScript("schedule-create-1.lua"),
  scheduleSetPaused: loadScript("schedule-set-paused-1.lua"),
  scheduleAdvance: loadScript("schedule-advance-1.lua"),
  supervisorsPrune: loadScript("supervisors-prune-2.lua"),
} satisfies Record<string, ScriptDef>;
export type ScriptName = keyof typeof SCRIPTS;

/** One call of a script: what calls.ts builds, with the parser of its reply. */
export interface ScriptCall<R> {
  script: ScriptName;
  keys: string[];
  args: Array<string | number>;
  parse(reply: unknown): R;
}

/** Registers the scripts as commands (EVALSHA, falling back to EVAL after a Redis restart). */
export function defineScripts(client: RedisClient): void {
  for (const [name, def] of Object.entries(SCRIPTS)) {
    client.defineCommand(`horus_${name}`, { ...(def.keys === "varying" ? {} : { numberOfKeys: def.keys }), lua: def.lua });
  }
}

/** Runs a call through the commands defineScripts registered: one EVALSHA (EVAL only when Redis lacks the script). */
export async function runScript<R>(client: RedisClient, call: ScriptCall<R>): Promise<R> {
  const fn = (client as unknown as Record<string, (...a: Array<string | number>) => Promise<unknown>>)[`horus_${call.script}`]!;
  // ioredis flattens array arguments: a batch's hundreds of thousands of
  // arguments go as arrays, never spread into one call's argument list.
  if (SCRIPTS[call.script].keys === "varying") return call.parse(await fn.call(client, call.keys.length, call.keys as never, call.args as never));
  return call.parse(await fn.call(client, ...call.keys, ...call.args));
}

/**
 * Runs a call by sending the whole script (EVAL). For the rare calls of
 * schedules and supervisors, which do not depend on defineScripts having
 * run on the client.
 */
export async function evalScript<R>(client: RedisClient, call: ScriptCall<R>): Promise<R> {
  const def = SCRIPTS[call.script];
  if (def.keys === "varying") throw new Error(`script ${def.file} takes a varying key count: run it with runScript`);
  return call.parse(await client.eval(def.lua, def.keys, ...call.keys, ...call.args));
}
