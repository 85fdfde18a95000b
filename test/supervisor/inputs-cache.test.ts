// The supervisor's cache of workflow inputs (src/supervisor/inputs-cache.ts):
// bounded by entries and bytes, least recently used out first, never a
// workflow it holds jobs of.
import { describe, expect, it } from "vitest";
import { InputsCache } from "../../src/supervisor/inputs-cache.js";

const kept = (c: InputsCache, ids: string[]) => ids.filter((id) => c.has(id));

describe("InputsCache", () => {
  it("keeps the first inputs given for a workflow (a workflow's inputs never change)", () => {
    const c = new InputsCache(10, 1_000);
    c.put("wf", { a: 1 }, 10);
    c.put("wf", { a: 2 }, 10);
    expect(c.get("wf")).toEqual({ a: 1 });
    expect(c.bytes).toBe(10);
    expect(c.get("other")).toBeUndefined();
  });

  it("evicts the least recently used past the entry bound", () => {
    const c = new InputsCache(2, 1_000);
    c.put("a", {}, 1);
    c.put("b", {}, 1);
    c.get("a");
    c.put("c", {}, 1);
    expect(kept(c, ["a", "b", "c"])).toEqual(["a", "c"]);
  });

  it("evicts past the byte bound, oldest first", () => {
    const c = new InputsCache(100, 100);
    c.put("a", {}, 60);
    c.put("b", {}, 30);
    c.put("c", {}, 30);
    expect(kept(c, ["a", "b", "c"])).toEqual(["b", "c"]);
    expect(c.bytes).toBe(60);
  });

  it("never evicts a workflow whose jobs are held, and evicts it once they finish if still over", () => {
    const c = new InputsCache(1, 1_000);
    c.put("a", {}, 1);
    c.hold("a");
    c.put("b", {}, 1);
    c.hold("b");
    c.put("c", {}, 1);
    // a and b are held, and c just came for a job about to hold it: the cache goes over its bound.
    expect(kept(c, ["a", "b", "c"])).toEqual(["a", "b", "c"]);
    c.release("a");
    // Over the bound: the unheld go, oldest first.
    expect(kept(c, ["a", "b", "c"])).toEqual(["b"]);
    c.release("b");
    expect(kept(c, ["b"])).toEqual(["b"]);
    // Releasing more than held is ignored.
    c.release("b");
    expect(c.size).toBe(1);
  });
});
