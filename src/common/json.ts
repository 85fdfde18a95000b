// Conversions between plain JSON values (what runners and users see) and the
// google.protobuf.Value messages the wire format carries.
import { fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema, type Value, timestampFromMs, timestampMs, type Timestamp, type Duration } from "@bufbuild/protobuf/wkt";
import { JSON_READ_OPTIONS } from "./depth.js";

export type { JsonValue };
export type JsonMap = Record<string, JsonValue>;

// JSON levels toValue accepts: protobuf-es counts one per nested Value and
// stops at 100 by default; supervisors pass outputs up to MAX_OUTPUT_DEPTH.
export function toValue(json: JsonValue): Value {
  return fromJson(ValueSchema, json, JSON_READ_OPTIONS);
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

/**
 * Whether a JSON value nests deeper than `limit` arrays/objects. Iterative,
 * so a pathological value cannot overflow the stack while being checked.
 */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (depth + 1 > limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
    }
  }
  return false;
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

/** google.protobuf.Duration's range (about 10,000 years), in ms: its JSON form refuses anything beyond, and msDuration clamps to it. */
export const MAX_DURATION_MS = 315_576_000_000 * 1000;

/**
 * A Duration of `ms`, clamped to Duration's range (NaN as 0), so that no
 * stored value, however it got there, can make a message unencodable.
 */
export function msDuration(ms: number): { seconds: bigint; nanos: number } {
  const whole = Number.isNaN(ms) ? 0 : Math.round(Math.max(-MAX_DURATION_MS, Math.min(MAX_DURATION_MS, ms)));
  // Seconds and nanos take the same sign, as Duration requires.
  const seconds = Math.trunc(whole / 1000);
  return { seconds: BigInt(seconds), nanos: (whole - seconds * 1000) * 1e6 };
}
