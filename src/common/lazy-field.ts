// A message field converted from JSON only when something reads it.
//
// Why: a job's input and a step's output are JSON on both sides of the
// dispatch path (the engine builds the input, the runner returns the
// output), and google.protobuf.Value only on the wire between them. The
// embedded supervisor shares message objects with the coordinator
// (dispatch/in-process.ts), so converting to Value and back was all cost:
// O(value size) four times per hop, by reflection, which on a chain whose
// outputs nest (each `noop` step passes its input on) was the larger part of
// a hop. With a lazy field the in-process receiver takes the JSON as it was
// given (jsonOf), and a wire serializer that reads the field converts it
// once, on first read.
import type { JsonValue } from "./json.js";

/** The JSON each lazy field was set from, by message. */
const sources = new WeakMap<object, Map<string, JsonValue>>();

function plain<M extends object>(msg: M, field: string, value: unknown): void {
  Object.defineProperty(msg, field, { value, writable: true, enumerable: true, configurable: true });
}

/**
 * Makes `msg[field]` read as `convert(json)`, computed on the first read and
 * kept. Setting the field replaces it (and forgets `json`).
 */
export function setLazyField<M extends object, K extends keyof M & string>(msg: M, field: K, json: JsonValue, convert: (json: JsonValue) => M[K]): void {
  let fields = sources.get(msg);
  if (!fields) sources.set(msg, (fields = new Map()));
  fields.set(field, json);
  const own = fields;
  let converted: { value: M[K] } | undefined;
  Object.defineProperty(msg, field, {
    enumerable: true,
    configurable: true,
    get() {
      converted ??= { value: convert(json) };
      return converted.value;
    },
    set(value: unknown) {
      own.delete(field);
      plain(msg, field, value);
    },
  });
}

/**
 * The JSON a lazy field of `msg` was set from, without converting; for a
 * field that is not lazy (a message decoded from the wire), `fallback` of its value.
 */
export function jsonOf<M extends object, K extends keyof M & string>(msg: M, field: K, fallback: (value: M[K]) => JsonValue): JsonValue {
  const fields = sources.get(msg);
  if (fields?.has(field)) return fields.get(field)!;
  return fallback(msg[field]);
}
