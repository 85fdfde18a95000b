// Durations in definitions and flags: "500ms", "30s", "5m", "1h", "7d",
// "1m30s", or a bare number of seconds.
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

/**
 * Milliseconds, or undefined when the text is not a duration. Huge values
 * (even Infinity) are returned as they are, so that validation can say they
 * are out of range rather than "not a duration".
 */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value > 0 ? Math.round(value * 1000) : undefined;
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  if (text === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  PART.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  let match: RegExpExecArray | null;
  while ((match = PART.exec(text)) !== null) {
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
    consumed = PART.lastIndex;
  }
  if (consumed !== text.length || total <= 0) return undefined;
  return Math.round(total);
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 0) return `-${formatDuration(-ms)}`;
  // Days from two on: minutes would run to many digits.
  if (ms >= 2 * 86_400_000) return `${+(ms / 86_400_000).toPrecision(6)}d`;
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return s ? `${m}m${s}s` : `${m}m`;
}

/**
 * The range check every duration of a definition gets, YAML and spec alike:
 * undefined when `ms` is a positive duration of at most `maxMs`, else what
 * is wrong, to follow the field's name ("must be ...").
 */
export function durationRangeError(ms: number, maxMs: number): string | undefined {
  if (Number.isNaN(ms)) return "must be a duration";
  if (!(ms > 0)) return `must be a positive duration, got ${formatDuration(ms)}`;
  if (!(ms <= maxMs)) return `must be at most ${formatDuration(maxMs)} (the coordinator's --max-duration), got ${formatDuration(ms)}`;
  return undefined;
}
