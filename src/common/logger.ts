import { pino, type Logger } from "pino";

export type { Logger };

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

/** JSON lines on stderr, so stdout stays free for command output. */
export function createLogger(level: LogLevel = "info", name = "horus"): Logger {
  return pino({ name, level, base: { name }, redact: { paths: REDACT, censor: "[redacted]" } }, pino.destination(2));
}

/** Never log a secret, whatever object carries it. */
const REDACT = ["token", "*.token", "tokens", "*.tokens", "authorization", "*.authorization", "headers.authorization", "*.headers.authorization", "cookie", "*.cookie", "headers.cookie", "*.headers.cookie", "registrationToken", "*.registrationToken"];

export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
