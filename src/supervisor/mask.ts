// Masking secret values in what a job reports (log lines, output, error), as
// CI systems do: every occurrence becomes ***. Log lines are masked whole,
// after the runner has joined its output into lines, so a value written in
// several chunks is still found; a value with line breaks is also masked
// line by line, since it then reaches the log as several lines.
import type { JsonValue } from "../common/json.js";

export const MASK = "***";

/** Replaces every occurrence of the values in a text; the identity when there are none. */
export type Masker = (text: string) => string;

export function createMasker(values: readonly string[]): Masker {
  const parts = new Set<string>();
  for (const v of values) {
    if (v === "") continue;
    parts.add(v);
    if (/[\r\n]/.test(v)) for (const line of v.split(/\r?\n/)) if (line.trim() !== "") parts.add(line);
  }
  if (parts.size === 0) return (text) => text;
  // Longest first, so a value containing another is masked whole.
  const sorted = [...parts].sort((a, b) => b.length - a.length);
  const pattern = new RegExp(sorted.map(escapeRegExp).join("|"), "g");
  return (text) => (text.length === 0 ? text : text.replace(pattern, MASK));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A JSON value with the masker applied to every string in it, keys included. */
export function maskJson(value: JsonValue, mask: Masker): JsonValue {
  if (typeof value === "string") return mask(value);
  if (Array.isArray(value)) return value.map((v) => maskJson(v, mask));
  if (value !== null && typeof value === "object") {
    const out: Record<string, JsonValue> = {};
    for (const [k, v] of Object.entries(value)) out[mask(k)] = maskJson(v as JsonValue, mask);
    return out;
  }
  return value;
}
