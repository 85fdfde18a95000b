// Flag values as the CLI reads them: pure parsers from commander's strings to
// numbers, durations and lists. Each names its flag and echoes the value in
// the CliError it throws, so a mistake is one line a person can act on.
import { parseDuration } from "../workflow/duration.js";
import { CliError } from "./errors.js";

/** commander's argParser for repeatable flags: every value, in order. */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** The log levels of --log-level. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** Names of a runner, an external runner or a Redis key prefix: safe in keys and logs. */
export const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** A base URL with a host: http(s)://host[:port][/...]. */
export const HTTP_BASE_URL = /^https?:\/\/[^\s/]+/;

/** A Redis URL with a host: redis(s)://host[:port][/...]. */
export const REDIS_URL = /^rediss?:\/\/[^\s/]+/;

export function duration(text: string, flag: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new CliError(`${flag} must be a duration like 30s or 5m, got "${text}"`);
  return ms;
}

/** A duration of at least 1 ms (zero would refuse everything). */
export function positiveDuration(text: string, flag: string): number {
  const ms = duration(text, flag);
  if (!(ms >= 1)) throw new CliError(`${flag} must be a positive duration like 5s, got "${text}"`);
  return ms;
}

/** A duration with a floor below which the mechanism it sets cannot work. */
export function durationAtLeast(text: string, flag: string, minMs: number): number {
  const ms = duration(text, flag);
  if (ms < minMs) throw new CliError(`${flag} must be at least ${minMs}ms, got "${text}"`);
  return ms;
}

export function port(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CliError(`invalid port "${text}"`);
  return n;
}

/** A whole number where 0 means "no limit". */
export function count(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`${flag} must be a whole number (0 for no limit), got "${text}"`);
  return n;
}

/** A --redis-prefix: a name, so every key it starts stays one plain word (no hash tag, space or separator of its own). */
export function redisPrefix(text: string): string {
  if (!NAME_PATTERN.test(text)) throw new CliError(`--redis-prefix may hold letters, digits, "_", "." and "-" only, got "${text}"`);
  return text;
}

export function positive(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new CliError(`${flag} must be a positive integer, got "${text}"`);
  return n;
}

/** `key=value` items as a record (a later key wins). */
export function pairs(items: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new CliError(`${flag} expects key=value, got "${item}"`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** `--inherit-env` names, checked: a step's environment is no place for a typo to go unnoticed. */
export function envNames(names: string[]): string[] {
  for (const name of names) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new CliError(`--inherit-env takes an environment variable name like MY_VAR, got "${name}"`);
  }
  return names;
}

/** --allowed-host values (each may hold comma-separated names, as HORUS_ALLOWED_HOSTS does). */
export function allowedHosts(values: string[]): string[] {
  const names = values.flatMap((v) => v.split(",")).map((n) => n.trim()).filter((n) => n !== "");
  for (const n of names) {
    if (n !== "*" && !/^(\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*|[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_.])?)$/.test(n)) {
      throw new CliError(`--allowed-host takes a host name or address without scheme or port, e.g. horus.example.com, got "${n}"`);
    }
  }
  return names;
}

/** --log-level (commander checks the choices too; this keeps the pure mappings whole on their own). */
export function logLevel(text: string): (typeof LOG_LEVELS)[number] {
  const level = LOG_LEVELS.find((l) => l === text);
  if (level === undefined) throw new CliError(`--log-level takes ${LOG_LEVELS.join(", ")}, got "${text}"`);
  return level;
}

/**
 * Runs a mapping written with the throwing parsers above and returns its
 * result or its one-line error, so the flag mappings stay pure functions
 * that tests can call with a table of inputs.
 */
export function settle<T>(map: () => T): { value: T } | { error: string } {
  try {
    return { value: map() };
  } catch (err) {
    if (err instanceof CliError) return { error: err.message };
    throw err;
  }
}
