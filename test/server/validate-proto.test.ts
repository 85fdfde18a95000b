// proto/buf/validate/validate.proto is printed from @bufbuild/protovalidate's
// descriptor (scripts/export-validate-proto.mjs). Compiled by buf, it must
// give that same descriptor back, or our constraints would be compiled
// against rules the validator does not know.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clone, equals, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { file_buf_validate_validate } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { describe, expect, it } from "vitest";

/** json_name is left out of embedded descriptors when it is the default; compare without it. */
function normalised(file: FileDescriptorProto): FileDescriptorProto {
  const f = clone(FileDescriptorProtoSchema, file);
  f.sourceCodeInfo = undefined;
  const visit = (m: FileDescriptorProto["messageType"][number]) => {
    for (const x of m.field) x.jsonName = "";
    for (const n of m.nestedType) visit(n);
  };
  for (const m of f.messageType) visit(m);
  for (const x of f.extension) x.jsonName = "";
  return f;
}

describe("vendored buf/validate/validate.proto", () => {
  it("compiles to the descriptor @bufbuild/protovalidate ships", () => {
    const dir = mkdtempSync(join(tmpdir(), "horus-buf-"));
    try {
      const out = join(dir, "image.binpb");
      execFileSync("node_modules/.bin/buf", ["build", "--exclude-source-info", "--path", "proto/buf/validate/validate.proto", "--as-file-descriptor-set", "-o", out]);
      const set = fromBinary(FileDescriptorSetSchema, readFileSync(out));
      const built = set.file.find((f) => f.name === "buf/validate/validate.proto")!;
      expect(built).toBeDefined();
      // equals() skips unknown fields, which is where the predefined rules
      // (CEL expressions in field options) live: compare their bytes too.
      const rules = (f: FileDescriptorProto) =>
        f.messageType.flatMap((m) => m.field.map((x) => `${m.name}.${x.name} ${(x.options?.$unknown ?? []).map((u) => `${u.no}:${Buffer.from(u.data).toString("hex")}`).join(",")}`));
      expect(rules(built)).toEqual(rules(file_buf_validate_validate.proto));
      expect(equals(FileDescriptorProtoSchema, normalised(built), normalised(file_buf_validate_validate.proto))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
