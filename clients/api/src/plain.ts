// Plain JSON at the client's edges. The API carries JSON values (workflow
// inputs, step outputs, for-each items) as google.protobuf.Value messages;
// users of the clients pass and read ordinary JSON instead. A client made by
// createPlainClient converts on the way out and on the way back, guided by
// the method's message descriptors, so every Value field anywhere in a
// request or a response is plain JSON, typed `unknown`.
import { fromJson, toJson, type DescField, type DescMessage, type DescService, type JsonValue, type Message } from "@bufbuild/protobuf";
import { ValueSchema, type Value } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type CallOptions, type Transport } from "@connectrpc/connect";
import type { DescMethodServerStreaming, DescMethodUnary, MessageShape } from "@bufbuild/protobuf";
import { JSON_READ_OPTIONS } from "./read-limits.js";

/** A message type as the plain client returns it: every Value field holds its JSON value (`unknown`). */
export type Plain<T> = T extends Value
  ? unknown
  : T extends Uint8Array
    ? T
    : T extends readonly (infer E)[]
      ? Plain<E>[]
      : T extends object
        ? { [K in keyof T]: Plain<T[K]> }
        : T;

/** What a plain client accepts for a message: its fields, all optional, with JSON values where the API has Values. */
export type PlainInit<T> = T extends Value
  ? unknown
  : T extends Uint8Array
    ? T
    : T extends readonly (infer E)[]
      ? PlainInit<E>[]
      : T extends Message
        ? { [K in keyof T as K extends "$typeName" | "$unknown" ? never : K]?: PlainInit<T[K]> }
        : T extends object
          ? { [K in keyof T]: PlainInit<T[K]> }
          : T;

/** A Connect client whose requests and responses carry plain JSON where the API has google.protobuf.Value. */
export type PlainClient<S extends DescService> = {
  [P in keyof S["method"]]: S["method"][P] extends DescMethodUnary<infer I, infer O>
    ? (request: PlainInit<MessageShape<I>>, options?: CallOptions) => Promise<Plain<MessageShape<O>>>
    : S["method"][P] extends DescMethodServerStreaming<infer I, infer O>
      ? (request: PlainInit<MessageShape<I>>, options?: CallOptions) => AsyncIterable<Plain<MessageShape<O>>>
      : never;
};

const VALUE = ValueSchema.typeName;

/** Whether a message type holds a Value anywhere below it (cached; only those are walked). */
const holdsValue = new WeakMap<DescMessage, boolean>();
function hasValue(desc: DescMessage, seen = new Set<DescMessage>()): boolean {
  const known = holdsValue.get(desc);
  if (known !== undefined) return known;
  if (seen.has(desc)) return false; // a cycle: its other paths are being looked at already
  const top = seen.size === 0;
  seen.add(desc);
  const found = desc.fields.some((f) => {
    const m = messageOf(f);
    return m !== undefined && (m.typeName === VALUE || hasValue(m, seen));
  });
  // "No" from inside a cycle may be partial; from the top, every path was seen.
  if (found || top) holdsValue.set(desc, found);
  return found;
}

function messageOf(f: DescField): DescMessage | undefined {
  if (f.fieldKind === "message") return f.message;
  if (f.fieldKind === "list" && f.listKind === "message") return f.message;
  if (f.fieldKind === "map" && f.mapKind === "message") return f.message;
  return undefined;
}

/** Why `value` is not plain JSON (undefined when it is), naming the path to the offending part. */
function notJson(value: unknown, path: string): string | undefined {
  if (value === null || typeof value === "string" || typeof value === "boolean") return undefined;
  if (typeof value === "number") return Number.isFinite(value) ? undefined : `${path}: ${value} is not a JSON number`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const why = notJson(value[i], `${path}[${i}]`);
      if (why) return why;
    }
    return undefined;
  }
  if (typeof value === "object" && (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null)) {
    for (const [k, v] of Object.entries(value)) {
      const why = notJson(v, `${path}.${k}`);
      if (why) return why;
    }
    return undefined;
  }
  return `${path}: a ${value === undefined ? "undefined" : typeof value === "object" ? (value.constructor?.name ?? "object") : typeof value} is not a JSON value`;
}

function valueFromPlain(json: unknown, path: string): Value {
  const why = notJson(json, path);
  if (why) throw new ConnectError(why, Code.InvalidArgument);
  return fromJson(ValueSchema, json as JsonValue, JSON_READ_OPTIONS);
}

/** Converts one field's value (as found in an init object or a message) in the direction given. */
function convertField(f: DescField, v: unknown, toWire: boolean, path: string): unknown {
  const m = messageOf(f);
  if (m === undefined || v === undefined) return v;
  // null is JSON's null for a singular Value; elsewhere (a message, a list, a map) it means unset.
  if (v === null && !(toWire && f.fieldKind === "message" && m.typeName === VALUE)) return v;
  const one = (x: unknown, p: string): unknown =>
    m.typeName === VALUE ? (toWire ? valueFromPlain(x, p) : toJson(ValueSchema, x as Value)) : convertMessage(m, x as Record<string, unknown>, toWire, p);
  if (f.fieldKind === "list") return (v as unknown[]).map((x, i) => one(x, `${path}[${i}]`));
  if (f.fieldKind === "map") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = one(x, `${path}.${k}`);
    return out;
  }
  return one(v, path);
}

/**
 * A copy of `msg` (a message, or an init object for one) with its Value
 * fields converted: to Value messages when `toWire`, to plain JSON otherwise.
 */
function convertMessage(desc: DescMessage, msg: Record<string, unknown>, toWire: boolean, path: string): Record<string, unknown> {
  if (!hasValue(desc) || typeof msg !== "object" || msg === null) return msg;
  const out: Record<string, unknown> = { ...msg };
  for (const member of desc.members) {
    if (member.kind === "oneof") {
      const sel = msg[member.localName] as { case?: string; value?: unknown } | undefined;
      const f = sel?.case === undefined ? undefined : member.fields.find((x) => x.localName === sel.case);
      if (f) out[member.localName] = { case: sel!.case, value: convertField(f, sel!.value, toWire, `${path}.${f.localName}`) };
    } else if (member.localName in msg) {
      out[member.localName] = convertField(member, msg[member.localName], toWire, path ? `${path}.${member.localName}` : member.localName);
    }
  }
  return out;
}

/** A response message with every Value field replaced by its JSON value. */
export function toPlain<D extends DescMessage>(desc: D, msg: MessageShape<D>): Plain<MessageShape<D>> {
  return convertMessage(desc, msg as unknown as Record<string, unknown>, false, "") as Plain<MessageShape<D>>;
}

/**
 * A request init with every JSON value turned into a google.protobuf.Value;
 * a value that is not JSON (undefined, NaN, a Date, ...) is refused with
 * INVALID_ARGUMENT naming its path, before anything is sent.
 */
export function fromPlain<D extends DescMessage>(desc: D, init: PlainInit<MessageShape<D>>): Record<string, unknown> {
  return convertMessage(desc, init as Record<string, unknown>, true, "");
}

/** createClient(service, transport), speaking plain JSON where the API has google.protobuf.Value. */
export function createPlainClient<S extends DescService>(service: S, transport: Transport): PlainClient<S> {
  const raw = createClient(service, transport) as unknown as Record<string, (req: unknown, opts?: CallOptions) => unknown>;
  const client: Record<string, unknown> = {};
  for (const method of service.methods) {
    const call = raw[method.localName]!;
    if (method.methodKind === "unary") {
      client[method.localName] = async (req: PlainInit<Message>, opts?: CallOptions) =>
        toPlain(method.output, (await call(fromPlain(method.input, req), opts)) as Message);
    } else if (method.methodKind === "server_streaming") {
      client[method.localName] = (req: PlainInit<Message>, opts?: CallOptions) => {
        // Converted before the first read, so a non-JSON input fails at the call.
        const stream = call(fromPlain(method.input, req), opts) as AsyncIterable<Message>;
        return (async function* () {
          for await (const msg of stream) yield toPlain(method.output, msg);
        })();
      };
    }
  }
  return client as PlainClient<S>;
}
