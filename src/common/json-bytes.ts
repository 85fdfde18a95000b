// JSON values as UTF-8 bytes, the form job inputs and step outputs take on
// the supervisor link when both ends read it (Job.input_json,
// JobFinished.output_json, ...: docs/supervisor-protocol.md).
//
// Why: both ends hold these values as JSON; as google.protobuf.Value they
// cost a conversion by reflection on each side plus protobuf-es's nested
// message encoding, whose copies grow with depth x size, and a step output
// nests one level deeper at each step of a chain. JSON.stringify and
// JSON.parse are native and linear.
import type { JsonMap, JsonValue } from "./json.js";

/** Rejects bytes that are not UTF-8, rather than reading them with replacement characters. */
const utf8 = new TextDecoder("utf-8", { fatal: true });

export function encodeJson(value: JsonValue): Uint8Array {
  return Buffer.from(JSON.stringify(value) ?? "null", "utf8");
}

/** The JSON value in `bytes`; throws an Error saying what is wrong with them (not UTF-8, not JSON). */
export function decodeJson(bytes: Uint8Array): JsonValue {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new Error("not UTF-8");
  }
  try {
    return JSON.parse(text) as JsonValue;
  } catch (err) {
    throw new Error(`not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
}

/** As decodeJson, for a value that must be a JSON object. */
export function decodeJsonObject(bytes: Uint8Array): JsonMap {
  const value = decodeJson(bytes);
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error(`not a JSON object (${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value})`);
  return value;
}
