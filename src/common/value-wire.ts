// The protobuf binary encoding of a JSON value as google.protobuf.Value,
// written in one pass and in time linear in the value's size.
//
// Why not toBinary: protobuf-es writes each nested message into a fork of
// its writer and copies the fork's bytes into its parent on join, so a
// value's bytes are copied once per level above them. A JSON value nests
// three messages per level (Struct, its map entry, Value), and step outputs
// that carry their dependencies' outputs (a `noop` chain) nest one level per
// step: encoding them cost O(depth x size) per message, which made a watched
// 100-step chain run ~3x slower than an unwatched one (the coordinator
// encoding the events' outputs shares the thread with the steps).
//
// It writes with a ReverseWriter (reverse-writer.ts), so no byte is copied
// twice. The bytes are the same as toBinary's (test/common/value-wire.test.ts).
import type { JsonValue } from "@bufbuild/protobuf";
import { LEN, tag } from "./proto-write.js";
import { ReverseWriter } from "./reverse-writer.js";

/** Field tags of google.protobuf.Value, Struct, its map entry and ListValue. */
const TAG = {
  nullValue: 0x08, // Value.null_value = 1, varint
  numberValue: 0x11, // Value.number_value = 2, 64-bit
  stringValue: 0x1a, // Value.string_value = 3, length-delimited
  boolValue: 0x20, // Value.bool_value = 4, varint
  structValue: 0x2a, // Value.struct_value = 5, length-delimited
  listValue: 0x32, // Value.list_value = 6, length-delimited
  structField: 0x0a, // Struct.fields = 1 (map entries), ListValue.values = 1
  entryKey: 0x0a, // map entry key = 1
  entryValue: 0x12, // map entry value = 2
} as const;

/** Writes the content of a Value message (its fields, no tag or length). */
export function writeValue(w: ReverseWriter, v: JsonValue | undefined): void {
  if (v === null || v === undefined) {
    w.byte(0);
    w.byte(TAG.nullValue);
  } else if (typeof v === "boolean") {
    w.byte(v ? 1 : 0);
    w.byte(TAG.boolValue);
  } else if (typeof v === "number") {
    w.double(v);
    w.byte(TAG.numberValue);
  } else if (typeof v === "string") {
    w.varint(w.string(v));
    w.byte(TAG.stringValue);
  } else if (Array.isArray(v)) {
    const start = w.written;
    for (let i = v.length - 1; i >= 0; i--) {
      const at = w.written;
      writeValue(w, v[i]);
      w.varint(w.written - at);
      w.byte(TAG.structField);
    }
    w.varint(w.written - start);
    w.byte(TAG.listValue);
  } else {
    const start = w.written;
    const keys = Object.keys(v);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!;
      const item = v[key];
      // As JSON.stringify: a property set to undefined is no property. An
      // own "__proto__" key is dropped as the library's Struct conversion
      // drops it (assigning it sets the map's prototype), so binary and JSON
      // clients see the same fields, and no decoder is handed that key.
      if (item === undefined || key === "__proto__") continue;
      const entry = w.written;
      writeValue(w, item);
      w.varint(w.written - entry);
      w.byte(TAG.entryValue);
      w.varint(w.string(key));
      w.byte(TAG.entryKey);
      w.varint(w.written - entry);
      w.byte(TAG.structField);
    }
    w.varint(w.written - start);
    w.byte(TAG.structValue);
  }
}

/** A google.protobuf.Value field `no` holding `v`, for a ReverseWriter (its content, length, then tag). */
export function writeValueField(w: ReverseWriter, no: number, v: JsonValue | undefined): void {
  const start = w.written;
  writeValue(w, v);
  w.varint(w.written - start);
  tag(w, no, LEN);
}

/** google.protobuf.Value's binary encoding of `json` (the same bytes as toBinary(ValueSchema, toValue(json))). */
export function encodeValue(json: JsonValue): Uint8Array {
  const w = new ReverseWriter(256);
  writeValue(w, json);
  return w.bytes();
}

/**
 * The bytes of a length-delimited field holding `json` as a Value, after
 * its tag: the length, then the Value. This is what protobuf-es keeps as
 * the data of an unknown length-delimited field, so a message can carry a
 * Value field pre-encoded in its `$unknown` list (see wireValueField).
 */
export function encodeValueFieldData(json: JsonValue): Uint8Array {
  const w = new ReverseWriter(256);
  writeValue(w, json);
  w.varint(w.written);
  return w.bytes();
}

/** An unknown-field entry for protobuf-es that encodes as field `no` holding `json` as a google.protobuf.Value. */
export function wireValueField(no: number, json: JsonValue): { no: number; wireType: 2; data: Uint8Array } {
  return { no, wireType: 2, data: encodeValueFieldData(json) };
}
