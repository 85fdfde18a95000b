// Each script's typed call (src/store/redis/calls.ts), as tables: named
// inputs become the positional KEYS and ARGV the script's header lists,
// and every reply shape becomes one case of a discriminated union.
import { describe, expect, it } from "vitest";
import { StepState as S, WorkflowState as W } from "../../src/engine/states.js";
import {
  UnexpectedReplyError,
  appendLogsCall,
  claimCall,
  commitCall,
  createCall,
  heartbeatCall,
  parseClaimReply,
  parseCommitReply,
  parsePutTemplateReply,
  putTemplateCall,
  scheduleAdvanceCall,
  scheduleCreateCall,
  scheduleSetPausedCall,
  supervisorsPruneCall,
} from "../../src/store/redis/calls.js";
import { keysFor } from "../../src/store/redis/keys.js";
import { SCRIPTS } from "../../src/store/redis/scripts.js";

const keys = keysFor("p");

describe("commitCall", () => {
  const step = { id: "a", state: S.SUCCEEDED, attempts: [] };
  const event = { type: "step_succeeded", stepId: "a", at: 5 } as never;

  it("writes the header's fields, clears the absent ones, and passes each step with its bucket, then the events", () => {
    const call = commitCall({
      keys, id: "wf_1", fence: "3", expectedSeq: 7, ttlMs: 0, maxEvents: 100, ends: false,
      commit: { header: { state: W.RUNNING, startedAt: 10 }, steps: [{ index: 2, record: step }], events: [event] },
    });
    expect(call.script).toBe("commit");
    expect(call.keys).toEqual(["p:{wf_1}", "p:{wf_1}:ev", "p:{wf_1}:logs", "p:{wf_1}:logn"]);
    expect(call.keys).toHaveLength(SCRIPTS.commit.keys as number);
    expect(call.args).toEqual([
      "3", 7, 0, 100, keys.channel("wf_1"), "0",
      3, "state", String(W.RUNNING), "startedAt", "10", "s:2", JSON.stringify(step),
      2, "finishedAt", "error",
      1, "2", "s",
      JSON.stringify(event),
    ]);
  });

  it("a commit without a header changes steps only; a finished workflow's keys get the TTL and its end is announced", () => {
    const running = { id: "b", state: S.RUNNING, attempts: [] };
    const pending = { id: "c", state: S.PENDING, attempts: [] };
    const call = commitCall({ keys, id: "wf_1", fence: "1", expectedSeq: 0, ttlMs: 60_000, maxEvents: 0, ends: true, commit: { steps: [{ index: 0, record: running }, { index: 1, record: pending }], events: [] } });
    expect(call.args).toEqual(["1", 0, 60_000, 0, keys.channel("wf_1"), "1", 2, "s:0", JSON.stringify(running), "s:1", JSON.stringify(pending), 0, 2, "0", "r", "1", ""]);
  });

  const replies: Array<[string, unknown, unknown]> = [
    ["applied: the previous state and the event cursors", ["OK", "2", "1-0", "1-1"], { kind: "ok", previousState: "2", cursors: ["1-0", "1-1"] }],
    ["applied to a workflow without a state yet", ["OK", ""], { kind: "ok", previousState: "", cursors: [] }],
    ["applied already", ["DUP"], { kind: "dup" }],
    ["fenced by another owner", ["FENCED", "4"], { kind: "fenced", fence: "4" }],
    ["gone", ["GONE"], { kind: "gone" }],
    ["the store at another commit number", ["SEQ", "9"], { kind: "seqMismatch", seq: "9" }],
  ];
  for (const [name, reply, want] of replies) it(`reply: ${name}`, () => expect(parseCommitReply(reply)).toEqual(want));

  for (const bad of [["WHAT"], [], "OK", null, 1]) {
    it(`reply ${JSON.stringify(bad)} is an UnexpectedReplyError, not a guess`, () => {
      expect(() => parseCommitReply(bad)).toThrow(UnexpectedReplyError);
    });
  }
});

describe("claimCall", () => {
  it("takes from a given owner, or from anyone", () => {
    expect(claimCall({ keys, id: "wf_1", owner: "me", from: "old" })).toMatchObject({ script: "claim", keys: ["p:{wf_1}"], args: ["me", "old"] });
    expect(claimCall({ keys, id: "wf_1", owner: "me" }).args).toEqual(["me", ""]);
  });

  const replies: Array<[string, unknown, unknown]> = [
    ["taken", ["OK", "5", "12", "2", "old"], { kind: "ok", fence: "5", seq: 12, state: "2", previousOwner: "old" }],
    ["owned by someone else", ["OWNED", "other"], { kind: "owned", owner: "other" }],
    ["gone", ["GONE"], { kind: "gone" }],
  ];
  for (const [name, reply, want] of replies) it(`reply: ${name}`, () => expect(parseClaimReply(reply)).toEqual(want));
  it("an unknown tag is an UnexpectedReplyError", () => expect(() => parseClaimReply(["OK?"])).toThrow(UnexpectedReplyError));
});

describe("the other calls", () => {
  it("create: the owner and TTL, then the record's fields", () => {
    const call = createCall({ keys, id: "wf_1", owner: "n", provisionalTtlMs: 600, fields: ["rec", "{}", "n", "0"] });
    expect(call).toMatchObject({ script: "create", keys: ["p:{wf_1}"], args: ["n", 600, "rec", "{}", "n", "0"] });
    expect([call.parse(1), call.parse(0)]).toEqual([true, false]);
    expect(() => call.parse("1")).toThrow(UnexpectedReplyError);
  });

  it("appendLogs: the cap, then five values per line", () => {
    const call = appendLogsCall({ keys, id: "wf_1", maxPerAttempt: 3, lines: [{ stepId: "a", attempt: 1, time: 9, stream: "stdout", line: "hi" }] });
    expect(call).toMatchObject({ script: "appendLogs", keys: ["p:{wf_1}", "p:{wf_1}:logs", "p:{wf_1}:logn"], args: [3, "a", 1, 9, "stdout", "hi"] });
    expect(call.parse(1)).toBe(1);
  });

  it("heartbeat: this node and its lease; the reply's two lists by name", () => {
    const call = heartbeatCall({ keys, node: "n1", leaseMs: 5000 });
    expect(call).toMatchObject({ script: "heartbeat", keys: ["p:nodes"], args: ["n1", 5000] });
    expect(call.parse([["dead"], ["n1", "n2"]])).toEqual({ expired: ["dead"], live: ["n1", "n2"] });
    expect(() => call.parse(["dead"])).toThrow(UnexpectedReplyError);
  });

  it("putTemplate: a new version, or the same content's existing one with what it stored", () => {
    expect(putTemplateCall({ keys, name: "t", json: "{}", contentKey: "ck" })).toMatchObject({ script: "putTemplate", keys: ["p:tpl:{t}"], args: ["{}", "ck"] });
    expect(parsePutTemplateReply([3, 0])).toEqual({ kind: "new", version: 3 });
    expect(parsePutTemplateReply([2, 1, '{"createdAt":1}'])).toEqual({ kind: "existing", version: 2, json: '{"createdAt":1}' });
  });

  it("schedules: flags as '0'/'1', absent progress as ''", () => {
    expect(scheduleCreateCall({ keys, name: "s", specJson: "{}", createdAt: 1, paused: true, lastTick: 2 })).toMatchObject({ script: "scheduleCreate", keys: ["p:sched:{s}"], args: ["{}", 1, "1", 2] });
    expect(scheduleSetPausedCall({ keys, name: "s", paused: false, now: 7 }).args).toEqual(["0", 7]);
    expect(scheduleAdvanceCall({ keys, name: "s", advance: { createdAt: 1, tick: 5 } }).args).toEqual([1, 5, "", ""]);
    expect(scheduleAdvanceCall({ keys, name: "s", advance: { createdAt: 1, run: { workflowId: "wf_9", at: 6 } } }).args).toEqual([1, "", "wf_9", 6]);
  });

  it("supervisors: both keys share the {sup} hash tag (one Cluster slot)", () => {
    const call = supervisorsPruneCall({ keys, before: 100 });
    expect(call).toMatchObject({ script: "supervisorsPrune", keys: ["p:{sup}", "p:{sup}:exp"], args: [100] });
    expect(call.keys).toHaveLength(SCRIPTS.supervisorsPrune.keys as number);
  });

  it("every call's key count matches its script file's", () => {
    const calls = [
      createCall({ keys, id: "x", owner: "n", provisionalTtlMs: 1, fields: [] }),
      appendLogsCall({ keys, id: "x", maxPerAttempt: 1, lines: [] }),
      claimCall({ keys, id: "x", owner: "n" }),
      heartbeatCall({ keys, node: "n", leaseMs: 1 }),
      putTemplateCall({ keys, name: "t", json: "", contentKey: "" }),
      scheduleCreateCall({ keys, name: "s", specJson: "", createdAt: 0, paused: false, lastTick: 0 }),
      scheduleSetPausedCall({ keys, name: "s", paused: false, now: 0 }),
      scheduleAdvanceCall({ keys, name: "s", advance: { createdAt: 0 } }),
    ];
    for (const c of calls) expect(c.keys.length, c.script).toBe(SCRIPTS[c.script].keys);
  });
});
