// Conversions between plain JSON values (what runners and users see) and the
// google.protobuf.Value messages the wire format carries.
import { fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema, type Value, timestampFromMs, timestampMs, type Timestamp, type Duration } from "@bufbuild/protobuf/wkt";

export type { JsonValue };
export type JsonMap = Record<string, JsonValue>;

export function toValue(json: JsonValue): Value {
  return fromJson(ValueSchema, json);
}

export function fromValue(value: Value | undefined): JsonValue {
  return value === undefined ? null : toJson(ValueSchema, value);
}

export function toValueMap(map: JsonMap): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const [k, v] of Object.entries(map)) out[k] = toValue(v);
  return out;
}

export function fromValueMap(map: Record<string, Value>): JsonMap {
  const out: JsonMap = {};
  for (const [k, v] of Object.entries(map)) out[k] = fromValue(v);
  return out;
}

/** Makes any JS value JSON-safe (undefined -> null, Dates -> strings, ...). */
export function toJsonSafe(value: unknown): JsonValue {
  if (value === undefined) return null;
  const text = JSON.stringify(value);
  return text === undefined ? null : (JSON.parse(text) as JsonValue);
}

export function ts(ms: number | undefined): Timestamp | undefined {
  return ms === undefined ? undefined : timestampFromMs(ms);
}

export function tsMs(t: Timestamp | undefined): number | undefined {
  return t === undefined ? undefined : timestampMs(t);
}

export function durationMs(d: Duration | undefined): number | undefined {
  if (d === undefined) return undefined;
  return Number(d.seconds) * 1000 + Math.floor(d.nanos / 1e6);
}

export function msDuration(ms: number): { seconds: bigint; nanos: number } {
  return { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}
