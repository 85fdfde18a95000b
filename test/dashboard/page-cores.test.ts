// The dashboard's pure cores, without a browser: the list filter and its
// grouping of sub-workflows, fan-out groups of the graph, and the
// definition's YAML spelling.
import { describe, expect, it } from "vitest";
import { StepState as S, WorkflowState as W } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { fanOutGroups, groupState } from "../../src/dashboard/page/fan-out.js";
import { yamlShape } from "../../src/dashboard/page/definition.js";
import { groupByParent, isFiltered, matches, NO_FILTER, parseLabels, type ListFilter, type ListRow } from "../../src/dashboard/page/list-filter.js";
import type { Step } from "../../src/dashboard/page/model.js";

const row = (over: Partial<ListRow>): ListRow => ({ id: "wf_a", name: "etl-nightly", state: W.SUCCEEDED, created: 1_000, labels: { team: "etl", env: "prod" }, parentWorkflowId: "", ...over });

describe("list filter", () => {
  const cases: Array<[string, Partial<ListFilter>, boolean]> = [
    ["no filter", {}, true],
    ["state matches", { state: W.SUCCEEDED }, true],
    ["state differs", { state: W.FAILED }, false],
    ["part of the name, any case", { text: "NIGHT" }, true],
    ["part of the id", { text: "wf_a" }, true],
    ["text in neither", { text: "ci-" }, false],
    ["a label with its value", { labels: "team=etl" }, true],
    ["two labels, spaces or commas", { labels: "team=etl, env=prod" }, true],
    ["a label with another value", { labels: "team=ci" }, false],
    ["a key alone: any value", { labels: "env" }, true],
    ["a key it lacks", { labels: "owner" }, false],
    ["after, inclusive", { after: 1_000 }, true],
    ["after, later", { after: 1_001 }, false],
    ["before, exclusive", { before: 1_000 }, false],
    ["before, later", { before: 1_001 }, true],
  ];
  it.each(cases)("%s", (_, filter, expected) => {
    expect(matches(row({}), { ...NO_FILTER, ...filter })).toBe(expected);
  });

  it("says when anything is filtered, and reads label pairs", () => {
    expect(isFiltered(NO_FILTER)).toBe(false);
    expect(isFiltered({ ...NO_FILTER, text: "  " })).toBe(false);
    expect(isFiltered({ ...NO_FILTER, before: 0 })).toBe(true);
    expect(parseLabels("a=1, b  c=x=y")).toEqual([["a", "1"], ["b", undefined], ["c", "x=y"]]);
  });
});

describe("groupByParent", () => {
  it("puts children (and theirs) under their parent in order; an orphan stays on top", () => {
    const rows = [row({ id: "c2", parentWorkflowId: "p" }), row({ id: "g", parentWorkflowId: "c1" }), row({ id: "c1", parentWorkflowId: "p" }), row({ id: "p" }), row({ id: "o", parentWorkflowId: "gone" })];
    const top = groupByParent(rows);
    expect(top.map((e) => e.row.id)).toEqual(["p", "o"]);
    expect(top[0]!.children.map((e) => e.row.id)).toEqual(["c2", "c1"]);
    expect(top[0]!.children[1]!.children.map((e) => e.row.id)).toEqual(["g"]);
  });
});

describe("fan-out groups", () => {
  const step = (id: string, dependsOn: string[], state = S.SUCCEEDED) => ({ id, dependsOn, state }) as unknown as Step;
  it("groups more than `min` siblings of one column with the same dependencies", () => {
    const col1 = [...Array.from({ length: 5 }, (_, i) => step(`a${i}`, ["root"])), ...Array.from({ length: 3 }, (_, i) => step(`b${i}`, ["other"]))];
    const groups = fanOutGroups([[step("root", [])], col1], 4);
    expect([...groups.keys()]).toEqual(["1:root"]);
    expect(groups.get("1:root")!.map((s) => s.id)).toEqual(["a0", "a1", "a2", "a3", "a4"]);
    // Dependencies in another order are the same set.
    expect(fanOutGroups([[step("x", ["p", "q"]), step("y", ["q", "p"])]], 1).get("0:p,q")).toHaveLength(2);
  });

  it("colours a group by its members", () => {
    const g = (...states: S[]) => groupState(states.map((st, i) => step(`s${i}`, [], st)));
    expect(g(S.SUCCEEDED, S.SUCCEEDED)).toBe("SUCCEEDED");
    expect(g(S.SUCCEEDED, S.SKIPPED)).toBe("SUCCEEDED");
    expect(g(S.SUCCEEDED, S.RUNNING, S.PENDING)).toBe("RUNNING");
    expect(g(S.FAILED, S.RUNNING)).toBe("FAILED");
    expect(g(S.PENDING, S.READY)).toBe("READY");
    expect(g(S.CANCELLED, S.SUCCEEDED)).toBe("CANCELLED");
  });
});

describe("definition YAML spelling", () => {
  it("writes triggers and template steps as the YAML format does, inside inline sub-workflows too", () => {
    const shaped = yamlShape({
      name: "w",
      steps: [
        { id: "a", trigger: "TRIGGER_RULE_ALL_DONE" },
        { id: "t", template: { name: "audit", version: 2 } },
        { id: "s", workflow: { name: "inner", steps: [{ id: "x", trigger: "TRIGGER_RULE_ONE_FAILED" }, { id: "y", template: { name: "z" } }] } },
      ],
    });
    expect(shaped).toEqual({
      name: "w",
      steps: [
        { id: "a", trigger: "all_done" },
        { id: "t", workflow: { template: "audit", version: 2 } },
        { id: "s", workflow: { name: "inner", steps: [{ id: "x", trigger: "one_failed" }, { id: "y", workflow: { template: "z" } }] } },
      ],
    });
  });
});
