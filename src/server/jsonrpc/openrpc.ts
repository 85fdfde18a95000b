// The OpenRPC 1.3.2 document of the bridge, built at run time from the
// protobuf descriptors: methods, their params (the request message's fields,
// by name), results, JSON Schemas of every message and enum they use, and the
// errors, with the protovalidate rules as JSON Schema keywords
// (rule-schema.ts). Generated, so it cannot drift from the proto.
import { ScalarType, type DescEnum, type DescField, type DescMessage, type DescService } from "@bufbuild/protobuf";
import { APPLICATION_ERRORS, INVALID_PARAMS } from "./errors.js";
import { mergeable, type BridgeMethod } from "./methods.js";
import { fieldRules, itemRules, requiredOf, ruleKeywords, withKeywords } from "./rule-schema.js";

export interface OpenRpcInfo {
  title: string;
  version: string;
  description?: string;
}

export interface OpenRpcDocumentOptions {
  service: DescService;
  methods: ReadonlyMap<string, BridgeMethod>;
  info: OpenRpcInfo;
  /** Where clients reach the server, e.g. "http://127.0.0.1:9090" (default "http://localhost"): servers[] must be absolute URLs. */
  origin?: string;
}

/** The document's servers for an origin such as "https://horus.example.com:9090". */
export function openRpcServers(origin: string): Array<{ name: string; url: string }> {
  return [
    { name: "http", url: `${origin}/rpc` },
    { name: "websocket (subscriptions)", url: `${origin.replace(/^http/, "ws")}/rpc/ws` },
  ];
}

type Schema = Record<string, unknown>;

const ref = (typeName: string): Schema => ({ $ref: `#/components/schemas/${typeName}` });

/** Well-known types have their own JSON mapping (proto3 JSON spec). */
const WKT: Record<string, Schema> = {
  "google.protobuf.Value": { description: "any JSON value" },
  "google.protobuf.Struct": { type: "object", description: "any JSON object" },
  "google.protobuf.ListValue": { type: "array", description: "any JSON array" },
  "google.protobuf.Timestamp": { type: "string", format: "date-time", description: "RFC 3339, e.g. 2026-01-02T03:04:05.678Z" },
  "google.protobuf.Duration": { type: "string", pattern: "^-?[0-9]+(\\.[0-9]{1,9})?s$", description: 'seconds with an "s" suffix, e.g. "1.5s"' },
  "google.protobuf.Empty": { type: "object", additionalProperties: false },
  "google.protobuf.FieldMask": { type: "string" },
  "google.protobuf.Any": { type: "object", required: ["@type"], properties: { "@type": { type: "string" } } },
};

function scalarSchema(t: ScalarType): Schema {
  switch (t) {
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.BYTES:
      return { type: "string", contentEncoding: "base64" };
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return { oneOf: [{ type: "number" }, { type: "string", enum: ["NaN", "Infinity", "-Infinity"] }] };
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      // 64-bit integers are strings in proto3 JSON (numbers are accepted too).
      return { type: ["string", "integer"], pattern: "^-?[0-9]+$" };
    default:
      return { type: "integer" };
  }
}

export function buildOpenRpcDocument(options: OpenRpcDocumentOptions): Record<string, unknown> {
  const schemas: Record<string, Schema> = {};

  function enumSchema(e: DescEnum): Schema {
    schemas[e.typeName] ??= { title: e.typeName, type: "string", enum: e.values.map((v) => v.name) };
    return ref(e.typeName);
  }

  function valueSchema(f: { scalar?: ScalarType; message?: DescMessage; enum?: DescEnum }): Schema {
    if (f.message) return messageSchema(f.message);
    if (f.enum) return enumSchema(f.enum);
    return scalarSchema(f.scalar!);
  }

  function fieldSchema(f: DescField): Schema {
    const keywords = ruleKeywords(fieldRules(f));
    switch (f.fieldKind) {
      case "scalar":
        return withKeywords(scalarSchema(f.scalar), keywords);
      case "enum":
        return withKeywords(enumSchema(f.enum), keywords);
      case "message":
        return withKeywords(messageSchema(f.message), keywords);
      case "list": {
        const item = valueSchema(f.listKind === "scalar" ? { scalar: f.scalar } : f.listKind === "enum" ? { enum: f.enum } : { message: f.message });
        return { type: "array", items: withKeywords(item, ruleKeywords(itemRules(f))), ...keywords };
      }
      case "map":
        return { type: "object", additionalProperties: valueSchema(f.mapKind === "scalar" ? { scalar: f.scalar } : f.mapKind === "enum" ? { enum: f.enum } : { message: f.message }), ...keywords };
    }
  }

  function messageSchema(m: DescMessage): Schema {
    if (WKT[m.typeName]) {
      schemas[m.typeName] ??= { title: m.typeName, ...WKT[m.typeName] };
      return ref(m.typeName);
    }
    if (!schemas[m.typeName]) {
      const s: Schema = { title: m.typeName, type: "object", additionalProperties: false };
      schemas[m.typeName] = s; // before the fields: messages may refer to themselves
      const properties: Record<string, Schema> = {};
      for (const f of m.fields) properties[f.jsonName] = fieldSchema(f);
      s.properties = properties;
      const presence = requiredOf(m);
      if (presence.fields.length) s.required = presence.fields;
      // A oneof takes at most one member, exactly one when it is required.
      const oneofs: Schema[] = [];
      for (const o of m.oneofs) {
        const names = o.fields.map((f) => f.jsonName);
        if (presence.oneofs.includes(o)) oneofs.push({ oneOf: names.map((n) => ({ required: [n] })) });
        else if (names.length > 1) oneofs.push({ not: { anyOf: names.flatMap((a, i) => names.slice(i + 1).map((b) => ({ required: [a, b] }))) } });
      }
      if (oneofs.length) s.allOf = oneofs;
      const described = m.oneofs.map((o) => `${o.name}: ${presence.oneofs.includes(o) ? "exactly" : "at most"} one of ${o.fields.map((f) => f.jsonName).join(", ")}`);
      if (described.length) s.description = `oneof ${described.join("; ")}`;
    }
    return ref(m.typeName);
  }

  const errors: Record<string, Schema> = {
    InvalidParams: { code: INVALID_PARAMS, message: "invalid params: data.violations (or data.field) names the field" },
  };
  for (const e of APPLICATION_ERRORS) errors[e.connect] = { code: e.code, message: e.message, data: { connect_code: e.connect } };

  const methods = [...options.methods.values()].map((m) => {
    const input = m.method.input;
    const out = m.method.output;
    // Exactly one branch fits any answer: the subscription object has only
    // `subscription`, which no response message has.
    const result = m.streaming
      ? {
          name: "result",
          description:
            "over /rpc/ws: {subscription: id}, then one 'subscription' notification per message, and a last one with done or error; " +
            `over POST /rpc: ${mergeable(out) ? `the messages merged into one ${out.typeName}` : `the array of ${out.typeName} messages`} once the stream ends`,
          schema: {
            oneOf: [
              { type: "object", required: ["subscription"], properties: { subscription: { type: "string" } }, additionalProperties: false },
              mergeable(out) ? messageSchema(out) : { type: "array", items: messageSchema(out) },
            ],
          },
        }
      : { name: "result", schema: messageSchema(out) };
    const presence = requiredOf(input);
    const required = new Set(presence.fields);
    return {
      name: m.name,
      summary: `${options.service.typeName}.${m.method.name}`,
      description:
        `Calls ${options.service.name}.${m.method.name}${m.streaming ? " (server streaming)" : ""}. Params are the proto3 JSON fields of ${input.typeName}` +
        // Params are listed one by one: a oneof over several of them is said in words.
        input.oneofs.map((o) => `; ${presence.oneofs.includes(o) ? "exactly" : "at most"} one of ${o.fields.map((f) => f.jsonName).join(", ")}`).join("") +
        `; the result is the proto3 JSON of ${m.method.output.typeName}.`,
      paramStructure: "by-name",
      params: input.fields.map((f) => ({ name: f.jsonName, required: required.has(f.jsonName), schema: fieldSchema(f) })),
      result,
      errors: [{ $ref: "#/components/errors/InvalidParams" }, ...APPLICATION_ERRORS.map((e) => ({ $ref: `#/components/errors/${e.connect}` }))],
    };
  });

  return {
    openrpc: "1.3.2",
    info: { title: options.info.title, version: options.info.version, ...(options.info.description ? { description: options.info.description } : {}) },
    servers: openRpcServers(options.origin ?? "http://localhost"),
    methods,
    components: { schemas, errors },
  };
}
