// The protovalidate rules of the proto (buf.validate options) as JSON Schema,
// for the OpenRPC document: the same constraints the server enforces, so a
// tool can check params before sending them. Pure: descriptors in, schema
// keywords out.
//   - keywords: string lengths, patterns and well-known formats, 32-bit integer
//     bounds, list and map sizes, unique items; rules JSON Schema cannot say
//     (CEL, prefixes, 64-bit bounds on string-encoded numbers) are left to the
//     server's INVALID_ARGUMENT.
//   - required: a field is required when the validator rejects a message in
//     which it is unset (min_len >= 1, a pattern "" does not match, a uri, ...),
//     so "required" means exactly what the server will enforce; a oneof is
//     required the same way (`(buf.validate.oneof).required`).
import { create, getOption, isFieldSet, type DescField, type DescMessage, type DescOneof, type Message } from "@bufbuild/protobuf";
import { createValidator, type Validator } from "@bufbuild/protovalidate";
import {
  field as fieldRulesExt,
  Ignore,
  Int32RulesSchema,
  MapRulesSchema,
  oneof as oneofRulesExt,
  RepeatedRulesSchema,
  StringRulesSchema,
  type FieldRules,
} from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import type { GenMessage } from "@bufbuild/protobuf/codegenv2";

export type Schema = Record<string, unknown>;

/** Whether the (proto2-style) rules message has `name` set. */
function has<T extends Message>(schema: GenMessage<T>, msg: T, name: string): boolean {
  const f = (schema.field as Record<string, DescField | undefined>)[name];
  return !!f && isFieldSet(msg, f);
}

const FORMATS: Record<string, string> = {
  email: "email",
  hostname: "hostname",
  ipv4: "ipv4",
  ipv6: "ipv6",
  uri: "uri",
  uriRef: "uri-reference",
  uuid: "uuid",
};

/** JSON Schema keywords for one value's rules (a field, or a list's items). */
export function ruleKeywords(rules: FieldRules | undefined): Schema {
  if (!rules || rules.ignore === Ignore.ALWAYS) return {};
  const out: Schema = {};
  switch (rules.type.case) {
    case "string": {
      const s = rules.type.value;
      if (has(StringRulesSchema, s, "len")) out.minLength = out.maxLength = Number(s.len);
      if (has(StringRulesSchema, s, "minLen")) out.minLength = Number(s.minLen);
      if (has(StringRulesSchema, s, "maxLen")) out.maxLength = Number(s.maxLen);
      if (has(StringRulesSchema, s, "pattern")) out.pattern = s.pattern;
      if (has(StringRulesSchema, s, "const")) out.const = s.const;
      if (s.in.length > 0) out.enum = [...s.in];
      const format = s.wellKnown.case ? FORMATS[s.wellKnown.case] : undefined;
      if (format && s.wellKnown.value === true) out.format = format;
      break;
    }
    case "int32":
    case "sint32":
    case "sfixed32":
    case "uint32":
    case "fixed32": {
      // The 32-bit rule messages share Int32Rules' shape; JSON numbers carry them exactly.
      const r = rules.type.value as unknown as { const: number; lessThan: { case?: string; value?: number }; greaterThan: { case?: string; value?: number }; in: number[] };
      if (r.lessThan.case === "lt") out.exclusiveMaximum = r.lessThan.value;
      if (r.lessThan.case === "lte") out.maximum = r.lessThan.value;
      if (r.greaterThan.case === "gt") out.exclusiveMinimum = r.greaterThan.value;
      if (r.greaterThan.case === "gte") out.minimum = r.greaterThan.value;
      if (rules.type.case === "int32" && has(Int32RulesSchema, rules.type.value, "const")) out.const = r.const;
      if (r.in.length > 0) out.enum = [...r.in];
      break;
    }
    case "repeated": {
      const r = rules.type.value;
      if (has(RepeatedRulesSchema, r, "minItems")) out.minItems = Number(r.minItems);
      if (has(RepeatedRulesSchema, r, "maxItems")) out.maxItems = Number(r.maxItems);
      if (r.unique) out.uniqueItems = true;
      break;
    }
    case "map": {
      const r = rules.type.value;
      if (has(MapRulesSchema, r, "minPairs")) out.minProperties = Number(r.minPairs);
      if (has(MapRulesSchema, r, "maxPairs")) out.maxProperties = Number(r.maxPairs);
      break;
    }
  }
  return out;
}

/** The rules on a field, if any. */
export function fieldRules(field: DescField): FieldRules | undefined {
  return getOption(field, fieldRulesExt);
}

/** The rules on a list field's items. */
export function itemRules(field: DescField): FieldRules | undefined {
  const rules = fieldRules(field);
  return rules?.type.case === "repeated" ? rules.type.value.items : undefined;
}

/** `base` (often a $ref) with `keywords` added; $ref siblings are ignored in draft-07, hence allOf. */
export function withKeywords(base: Schema, keywords: Schema): Schema {
  if (Object.keys(keywords).length === 0) return base;
  return "$ref" in base ? { allOf: [base], ...keywords } : { ...base, ...keywords };
}

export interface Presence {
  /** Fields (by JSON name) the server rejects the message without. */
  fields: string[];
  /** Oneofs one of whose members must be set. */
  oneofs: DescOneof[];
}

/** What must be present in `message`, found by validating an empty one. */
export function requiredOf(message: DescMessage, validator: Validator = sharedValidator()): Presence {
  const result = validator.validate(message, create(message));
  const fields = new Set<string>();
  const oneofs = new Set<DescOneof>();
  if (result.kind === "invalid") {
    for (const v of result.error.violations) {
      const head = v.field[0];
      if (head?.kind === "field") fields.add(head.jsonName);
      else if (head?.kind === "oneof") oneofs.add(head);
    }
  }
  for (const o of message.oneofs) if (!oneofs.has(o) && getOption(o, oneofRulesExt)?.required) oneofs.add(o);
  return { fields: message.fields.filter((f) => fields.has(f.jsonName)).map((f) => f.jsonName), oneofs: [...oneofs] };
}

let validator: Validator | undefined;
function sharedValidator(): Validator {
  return (validator ??= createValidator());
}
