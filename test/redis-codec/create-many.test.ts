// The createMany script's arguments and replies (src/store/redis/create-many.ts), as a table.
import { describe, expect, it } from "vitest";
import { WorkflowState as W } from "../../src/engine/states.js";
import { UnexpectedReplyError } from "../../src/store/redis/calls.js";
import { createManyCall, parseCreateManyReply } from "../../src/store/redis/create-many.js";
import { keysFor } from "../../src/store/redis/keys.js";
import { sampleRecord } from "../store/contract.js";

const keys = keysFor("p");

describe("createManyCall", () => {
  it("lists the shared keys once, then four keys and a header per record", () => {
    const a = sampleRecord({ id: "wf_a", name: "x", idempotencyKey: "k" });
    const b = sampleRecord({ id: "wf_b", name: "y", state: W.SUCCEEDED });
    const call = createManyCall({ keys, nodeId: "n", provisionalTtlMs: 10, idempotencyTtlMs: 20, records: [{ record: a, fields: ["f1", "v1", "f2", "v2"] }, { record: b, fields: [] }] });
    expect(call.keys).toEqual([
      "p:idx:all", "p:idx:active", "p:owned:n",
      "p:{wf_a}", `p:idx:state:${W.PENDING}`, "p:idx:name:x", "p:idem:k",
      // No idempotency key: the hash stands in, so every record has four keys.
      "p:{wf_b}", `p:idx:state:${W.SUCCEEDED}`, "p:idx:name:y", "p:{wf_b}",
    ]);
    expect(call.args).toEqual([
      "n", 10, 20,
      "wf_a", "1", "1", 2, "f1", "v1", "f2", "v2",
      // Finished already: neither active nor owned.
      "wf_b", "0", "0", 0,
    ]);
  });
});

describe("parseCreateManyReply", () => {
  const recs = [sampleRecord({ id: "wf_1" }), sampleRecord({ id: "wf_2" })];
  const table: Array<[string, unknown, unknown]> = [
    ["all new", ["OK", "new", "new"], { ok: true, results: [{ id: "wf_1", existing: false }, { id: "wf_2", existing: false }] }],
    ["a key already used names its workflow", ["OK", "new", "=wf_0"], { ok: true, results: [{ id: "wf_1", existing: false }, { id: "wf_0", existing: true }] }],
    ["an id that exists: nothing written", ["EXISTS", "wf_2"], { ok: false, existingId: "wf_2" }],
  ];
  for (const [name, reply, want] of table) it(name, () => expect(parseCreateManyReply(recs, reply)).toEqual(want));

  it("a reply of the wrong length is an error, not a guess", () => {
    expect(() => parseCreateManyReply(recs, ["OK", "new"])).toThrow(/unexpected reply from createMany/);
    expect(() => parseCreateManyReply(recs, "OK")).toThrow(UnexpectedReplyError);
  });
});
