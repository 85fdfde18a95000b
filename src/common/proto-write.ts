// Field writers for the hand-written protobuf encoders (event-wire.ts,
// workflow-wire.ts): each writes one field into a ReverseWriter, so callers
// write a message's fields last to first. They write what protobuf-es's
// toBinary writes for the same field, byte for byte; the encoders' tests
// compare the two.
import type { ReverseWriter } from "./reverse-writer.js";

/** Wire types: varint, 64-bit and length-delimited. */
export const VARINT = 0;
export const I64 = 1;
export const LEN = 2;

export function tag(w: ReverseWriter, no: number, wireType: number): void {
  w.varint((no << 3) | wireType);
}

/** A string field, left out when empty (proto3 implicit presence) unless `always` (a map entry's key or value, a list's item). */
export function str(w: ReverseWriter, no: number, s: string | undefined, always = false): void {
  if (!s && !always) return;
  w.varint(s ? w.string(s) : 0);
  tag(w, no, LEN);
}

/** A repeated string field: every item, empty ones too. */
export function strs(w: ReverseWriter, no: number, list: readonly string[] | undefined): void {
  if (!list) return;
  for (let i = list.length - 1; i >= 0; i--) str(w, no, list[i], true);
}

/** A non-negative integer, bool or enum field, left out when zero unless `always` (an `optional` field that is set). */
export function uint(w: ReverseWriter, no: number, v: number | undefined, always = false): void {
  if (v === undefined || (v === 0 && !always)) return;
  w.varint53(v);
  tag(w, no, VARINT);
}

/** A `double` field, left out when zero unless `always`. */
export function double(w: ReverseWriter, no: number, v: number | undefined, always = false): void {
  if (v === undefined || (v === 0 && !always && !Object.is(v, -0))) return;
  w.double(v);
  tag(w, no, I64);
}

/** A message field: `content` writes its fields (last first), then its length and tag. */
export function message(w: ReverseWriter, no: number, content: () => void): void {
  const start = w.written;
  content();
  w.varint(w.written - start);
  tag(w, no, LEN);
}

/** A google.protobuf.Timestamp field of whole non-negative milliseconds. */
export function timestamp(w: ReverseWriter, no: number, ms: number | undefined): void {
  if (ms === undefined) return;
  const seconds = Math.floor(ms / 1000);
  message(w, no, () => {
    uint(w, 2, (ms - seconds * 1000) * 1_000_000);
    uint(w, 1, seconds);
  });
}

/** Whole non-negative numbers up to 2^53 (times, uint64-ish fields); undefined passes. */
export const isUint = (v: number | undefined): boolean => v === undefined || (Number.isSafeInteger(v) && v >= 0);
/** int32 fields and enums: their non-negative range; undefined passes. */
export const isUint31 = (v: number | undefined): boolean => v === undefined || (Number.isInteger(v) && v >= 0 && v <= 0x7fffffff);
