// The Lua scripts against the record codec, read as text (no Redis): every
// hash or stream field a script names comes from record-codec.ts through
// the generated header, each file's name states its key count, and each
// header documents KEYS, ARGV and the reply.
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { LUA_CONSTANTS } from "../../src/store/redis/record-codec.js";
import { LUA_HEADER, SCRIPTS, loadScript } from "../../src/store/redis/scripts.js";

const DIR = new URL("../../src/store/redis/lua/", import.meta.url);
const files = readdirSync(DIR).filter((f) => f.endsWith(".lua"));

/** The file without its comments. */
function code(source: string): string {
  return source
    .split("\n")
    .map((line) => line.replace(/--.*$/, ""))
    .join("\n");
}

/** String literals of Lua code (single or double quoted). */
function literals(lua: string): string[] {
  return [...lua.matchAll(/'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] ?? m[2]!);
}

/**
 * The only literals a script may spell itself: Redis commands and their
 * options, reply tags, and values. Never a field name: a literal that is
 * not here fails the test, so a field written as 'fence' instead of
 * WF_FENCE cannot slip in.
 */
const NOT_FIELDS = new Set([
  // commands
  "EXISTS", "HSET", "HGET", "HMGET", "HDEL", "HINCRBY", "PEXPIRE", "PERSIST", "PTTL", "GET", "SET", "ZADD", "ZREM", "SADD",
  "ZRANGEBYSCORE", "XADD", "XTRIM", "TIME", "PUBLISH",
  // options and range bounds
  "PX", "MAXLEN", "LIMIT", "*", "~", "-inf", "+inf", "(",
  // reply tags
  "OK", "DUP", "FENCED", "GONE", "SEQ", "OWNED", "EXISTS", "new", "=",
  // values: initial fence, seq and counters, the empty cursor, flags, the log marker
  "0", "1", "0-0", "", "system", ":", "[log truncated: more than ", " lines for this attempt]",
]);

describe("lua scripts", () => {
  it("may spell no codec field name as a literal: the allowed literals and the codec's names are apart", () => {
    expect(Object.values(LUA_CONSTANTS).filter((v) => NOT_FIELDS.has(v))).toEqual([]);
  });

  it("every file in lua/ is a registered script, and every script has its file", () => {
    expect(files.sort()).toEqual(Object.values(SCRIPTS).map((s) => s.file).sort());
  });

  for (const file of files) {
    const source = readFileSync(new URL(file, DIR), "utf8");
    const body = code(source);

    describe(file, () => {
      it("names no hash or stream field itself: every literal is a command, option, reply tag or value", () => {
        expect(literals(body).filter((l) => !NOT_FIELDS.has(l))).toEqual([]);
      });

      it("uses only constants the codec's header declares", () => {
        const used = new Set([...body.matchAll(/\b(?:WF|WF_PREFIX|EVENT|LOG|TPL|TPL_PREFIX|SCHED|NOTE)_[A-Z_]+\b/g)].map((m) => m[0]));
        for (const name of used) expect(LUA_CONSTANTS, `${file} uses ${name}`).toHaveProperty(name);
      });

      it("documents its KEYS, ARGV and reply, and its name states the keys it uses", () => {
        const header = source.split("\n").filter((l) => l.startsWith("--")).join("\n");
        expect(header).toMatch(/^-- KEYS\[1\]/m);
        expect(header).toMatch(/^-- Returns /m);
        const def = loadScript(file);
        const highest = Math.max(...[...body.matchAll(/KEYS\[(\d+)\]/g)].map((m) => Number(m[1])));
        if (def.keys === "varying") expect(body).toMatch(/KEYS\[k/);
        else {
          expect(highest).toBeLessThanOrEqual(def.keys);
          // Loops over the keys (for k = 1, 4) count too: the documented keys must reach the count.
          expect(header).toMatch(new RegExp(`^-- KEYS\\[${def.keys}\\]`, "m"));
        }
        if (/ARGV\[1\]/.test(body)) expect(header).toMatch(/^-- ARGV\[1\]/m);
      });

      it("is sent to Redis behind the codec's header", () => {
        expect(loadScript(file).lua).toBe(LUA_HEADER + source);
      });
    });
  }
});

describe("the generated header", () => {
  it("declares every codec constant as a Lua local on one line, so error line numbers stay the file's plus one", () => {
    expect(LUA_HEADER.split("\n")).toHaveLength(2);
    expect(LUA_HEADER).toMatch(/^local [A-Z_, ]+ = '/);
    const [names, values] = LUA_HEADER.slice("local ".length, -1).split(" = ") as [string, string];
    expect(names.split(", ")).toEqual(Object.keys(LUA_CONSTANTS));
    expect(values.split(", ")).toEqual(Object.values(LUA_CONSTANTS).map((v) => `'${v}'`));
  });

  it("names the stored fields as the store has always written them", () => {
    // Renaming a stored field makes existing workflows unreadable: this table changes only with a migration.
    expect(LUA_CONSTANTS).toMatchObject({
      WF_RECORD: "rec",
      WF_STEP_COUNT: "n",
      WF_OWNER: "owner",
      WF_FENCE: "fence",
      WF_SEQ: "seq",
      WF_CURSOR: "cursor",
      WF_SUCCEEDED: "cs",
      WF_FAILED: "cf",
      WF_RUNNING: "cr",
      WF_PREFIX_STEP: "s:",
      WF_PREFIX_BUCKET: "b:",
      WF_PREFIX_COUNTER: "c",
      EVENT_JSON: "e",
      LOG_STEP_ID: "s",
      LOG_ATTEMPT: "a",
      LOG_TIME: "t",
      LOG_STREAM: "o",
      LOG_LINE: "l",
      TPL_LATEST: "latest",
      TPL_CONTENT: "content",
      TPL_PREFIX_VERSION: "v:",
      SCHED_WORKFLOW: "wf",
      SCHED_RUN_AT: "runAt",
    });
  });
});

describe("the TypeScript side", () => {
  // Names distinctive enough to find as literals (short ones like "n" or "e" are also pub/sub messages).
  const distinctive = ["rec", "owner", "fence", "seq", "cursor", "cs", "cf", "cr", "latest", "content", "spec", "created", "paused", "wf", "runAt"];
  const SRC = new URL("../../src/store/redis/", import.meta.url);
  const modules = readdirSync(SRC).filter((f) => f.endsWith(".ts") && f !== "record-codec.ts");

  it("spells no stored field name outside record-codec.ts", () => {
    expect(modules.length).toBeGreaterThan(5);
    for (const file of modules) {
      const source = readFileSync(new URL(file, SRC), "utf8").replace(/^\s*(\/\/|\*|\/\*).*$/gm, "");
      const found = [...source.matchAll(/"([^"\n]*)"|`([^`\n]*)`/g)].map((m) => m[1] ?? m[2]!);
      expect(found.filter((l) => distinctive.includes(l) || /^[sbv]:/.test(l)), file).toEqual([]);
    }
  });
});
