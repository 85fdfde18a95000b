#!/usr/bin/env node
// Writes proto/buf/validate/validate.proto from the descriptor that the
// @bufbuild/protovalidate npm package ships (it ships no .proto source).
//
// Why: our protos import buf/validate/validate.proto for their constraints,
// buf needs that file's source to compile them, and the BSR (where it
// normally comes from) is not reachable offline. Printing it from the
// package's own descriptor keeps the compile-time definition identical to the
// one the validator uses at run time; test/server/validate-proto.test.ts
// compiles the result with buf and checks it against the package again.
//
// Usage: node scripts/export-validate-proto.mjs   (after upgrading the package)
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fromBinary, isFieldSet } from "@bufbuild/protobuf";
import { FieldDescriptorProtoSchema, FieldDescriptorProto_Label as Label, FieldDescriptorProto_Type as Type } from "@bufbuild/protobuf/wkt";
import { PredefinedRulesSchema, file_buf_validate_validate } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";

const PREDEFINED = 1160; // buf.validate.predefined, on google.protobuf.FieldOptions
const MAX = 536870912; // exclusive end of "N to max"
// The package exports no package.json; read it from the install folder.
const version = JSON.parse(readFileSync("node_modules/@bufbuild/protovalidate/package.json", "utf8")).version;
const file = file_buf_validate_validate.proto;

const scalar = {
  [Type.DOUBLE]: "double", [Type.FLOAT]: "float", [Type.INT64]: "int64", [Type.UINT64]: "uint64", [Type.INT32]: "int32",
  [Type.FIXED64]: "fixed64", [Type.FIXED32]: "fixed32", [Type.BOOL]: "bool", [Type.STRING]: "string", [Type.BYTES]: "bytes",
  [Type.UINT32]: "uint32", [Type.SFIXED32]: "sfixed32", [Type.SFIXED64]: "sfixed64", [Type.SINT32]: "sint32", [Type.SINT64]: "sint64",
};

/** A protobuf string literal: printable ASCII as is, everything else as octal bytes. */
function str(s) {
  let out = '"';
  for (const b of Buffer.from(s, "utf8")) {
    if (b === 0x22) out += '\\"';
    else if (b === 0x5c) out += "\\\\";
    else if (b === 0x0a) out += "\\n";
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += "\\" + b.toString(8).padStart(3, "0");
  }
  return out + '"';
}

function defaultJsonName(name) {
  return name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
}

function fieldOptions(f) {
  const opts = [];
  if (f.jsonName && f.jsonName !== defaultJsonName(f.name)) opts.push(`json_name = ${str(f.jsonName)}`);
  for (const u of f.options?.$unknown ?? []) {
    if (u.no !== PREDEFINED) throw new Error(`unexpected option ${u.no} on ${f.name}`);
    // The unknown field's data is length-delimited: skip the length prefix.
    const rules = fromBinary(PredefinedRulesSchema, readDelimited(u.data));
    for (const r of rules.cel) {
      const parts = [`id: ${str(r.id)}`];
      if (r.message) parts.push(`message: ${str(r.message)}`);
      if (r.expression) parts.push(`expression: ${str(r.expression)}`);
      opts.push(`(predefined).cel = {\n      ${parts.join("\n      ")}\n    }`);
    }
  }
  return opts.length ? ` [\n    ${opts.join(",\n    ")}\n  ]` : "";
}

function readDelimited(data) {
  let len = 0, shift = 0, i = 0;
  for (;;) {
    const b = data[i++];
    len |= (b & 0x7f) << shift;
    if (!(b & 0x80)) break;
    shift += 7;
  }
  return data.subarray(i, i + len);
}

function typeName(f) {
  return f.type === Type.MESSAGE || f.type === Type.ENUM ? f.typeName : scalar[f.type];
}

function field(f, inOneof) {
  const label = inOneof ? "" : f.label === Label.REPEATED ? "repeated " : f.label === Label.REQUIRED ? "required " : "optional ";
  if (isFieldSet(f, FieldDescriptorProtoSchema.field.defaultValue)) throw new Error(`default values are not printed (${f.name})`);
  return `${label}${typeName(f)} ${f.name} = ${f.number}${fieldOptions(f)};`;
}

function indent(text, n) {
  return text.split("\n").map((l) => (l ? " ".repeat(n) + l : l)).join("\n");
}

function range(start, end) {
  if (end === MAX) return `${start} to max`;
  return end - 1 === start ? `${start}` : `${start} to ${end - 1}`;
}

function enumType(e) {
  if (e.options || e.value.some((v) => v.options)) throw new Error(`enum ${e.name} has options`);
  const body = e.value.map((v) => `  ${v.name} = ${v.number};`);
  // Enum reserved ranges are inclusive, unlike message ones.
  if (e.reservedRange.length) body.push(`  reserved ${e.reservedRange.map((r) => range(r.start, r.end + 1)).join(", ")};`);
  if (e.reservedName.length) body.push(`  reserved ${e.reservedName.map(str).join(", ")};`);
  return `enum ${e.name} {\n${body.join("\n")}\n}`;
}

function message(m) {
  if (m.options || m.extension.length || m.oneofDecl.some((o) => o.options)) throw new Error(`message ${m.name} has unsupported parts`);
  const body = [];
  for (const e of m.enumType) body.push(indent(enumType(e), 2));
  for (const n of m.nestedType) body.push(indent(message(n), 2));
  if (m.reservedRange.length) body.push(`  reserved ${m.reservedRange.map((r) => range(r.start, r.end)).join(", ")};`);
  if (m.reservedName.length) body.push(`  reserved ${m.reservedName.map(str).join(", ")};`);
  // Fields in declaration order; a oneof is printed where its first field is.
  const printed = new Set();
  // proto2 descriptor fields read as their default when unset: ask for presence.
  const inOneof = (f) => isFieldSet(f, FieldDescriptorProtoSchema.field.oneofIndex);
  for (const f of m.field) {
    if (!inOneof(f)) {
      body.push(`  ${field(f, false)}`);
      continue;
    }
    if (printed.has(f.oneofIndex)) continue;
    printed.add(f.oneofIndex);
    const members = m.field.filter((g) => inOneof(g) && g.oneofIndex === f.oneofIndex);
    body.push(`  oneof ${m.oneofDecl[f.oneofIndex].name} {\n${members.map((g) => `    ${field(g, true).replace(/\n/g, "\n  ")}`).join("\n")}\n  }`);
  }
  for (const r of m.extensionRange) body.push(`  extensions ${range(r.start, r.end)};`);
  return `message ${m.name} {\n${body.join("\n")}\n}`;
}

const o = file.options;
const out = [
  `// GENERATED by scripts/export-validate-proto.mjs from @bufbuild/protovalidate ${version}`,
  "// (its embedded descriptor of buf/validate/validate.proto). Do not edit: run the",
  "// script again after upgrading the package. Comments of the original are not",
  "// part of the descriptor; see https://protovalidate.com for the rules' docs.",
  "//",
  "// Copyright 2023-2025 Buf Technologies, Inc. Licensed under the Apache License, 2.0.",
  "",
  'syntax = "proto2";',
  "",
  `package ${file.package};`,
  "",
  ...file.dependency.map((d) => `import ${str(d)};`),
  "",
  ...(o.goPackage ? [`option go_package = ${str(o.goPackage)};`] : []),
  ...(o.javaMultipleFiles ? ["option java_multiple_files = true;"] : []),
  ...(o.javaOuterClassname ? [`option java_outer_classname = ${str(o.javaOuterClassname)};`] : []),
  ...(o.javaPackage ? [`option java_package = ${str(o.javaPackage)};`] : []),
  "",
];
// Extensions grouped by extendee, in declaration order.
const byExtendee = new Map();
for (const x of file.extension) byExtendee.set(x.extendee, [...(byExtendee.get(x.extendee) ?? []), x]);
for (const [extendee, xs] of byExtendee) out.push(`extend ${extendee} {\n${xs.map((x) => `  ${field(x, false)}`).join("\n")}\n}`, "");
for (const m of file.messageType) out.push(message(m), "");
for (const e of file.enumType) out.push(enumType(e), "");

mkdirSync("proto/buf/validate", { recursive: true });
writeFileSync("proto/buf/validate/validate.proto", out.join("\n").replace(/\n+$/, "\n"));
console.log("wrote proto/buf/validate/validate.proto");
