// The failure codes are one set in two places: the proto enum clients see
// and the TypeScript constants every layer uses. This keeps them equal, and
// keeps the one table that documents them complete.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { StepFailureCode as ProtoCode } from "../../gen/horus/coordinator/v1/workflow_pb.js";
import { StepFailureCode, isStepFailureCode } from "../../src/common/failure-codes.js";

const protoNames = Object.keys(ProtoCode)
  .filter((k) => Number.isNaN(Number(k)) && k !== "UNSPECIFIED")
  .sort();

describe("step failure codes", () => {
  it("the TypeScript set equals the proto enum StepFailureCode", () => {
    expect(Object.keys(StepFailureCode).sort()).toEqual(protoNames);
  });

  it("each constant's value is its name, the string on the wire", () => {
    for (const [name, value] of Object.entries(StepFailureCode)) expect(value).toBe(name);
  });

  it("tells a built-in code from a runner's own", () => {
    expect(isStepFailureCode("ATTEMPT_LOST")).toBe(true);
    expect(isStepFailureCode("EXAMPLE_FAILURE")).toBe(false);
    expect(isStepFailureCode("UNSPECIFIED")).toBe(false);
  });

  it("docs/failure-codes.md has one row per code, and no other", () => {
    const doc = readFileSync(new URL("../../docs/failure-codes.md", import.meta.url), "utf8");
    const rows = [...doc.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]!).sort();
    expect(rows).toEqual(protoNames);
  });
});
