// Colour for the CLI's text output: state names coloured on a terminal, never
// when piped or when NO_COLOR is set (https://no-color.org), so scripts and
// logs get plain text. FORCE_COLOR turns it on where the terminal cannot be
// detected (CI logs that render ANSI).

/** How text output marks things up; `plainStyle` leaves it alone. */
export interface Style {
  /** A workflow or step state name (SUCCEEDED, FAILED, RUNNING, ...). */
  state(name: string): string;
  /** Secondary detail: timestamps, counters. */
  dim(text: string): string;
  /** A warning's lead word. */
  warn(text: string): string;
}

export const plainStyle: Style = { state: (n) => n, dim: (t) => t, warn: (t) => t };

const sgr = (open: number, close: number) => (text: string) => `\x1b[${open}m${text}\x1b[${close}m`;
const green = sgr(32, 39);
const red = sgr(31, 39);
const yellow = sgr(33, 39);
const cyan = sgr(36, 39);
const grey = sgr(90, 39);

/** The colour of each state name: done green, failed red, stopped yellow, moving cyan, waiting grey. */
const STATE_COLOURS: Record<string, (t: string) => string> = {
  SUCCEEDED: green,
  FAILED: red,
  CANCELLED: yellow,
  RUNNING: cyan,
  DISPATCHED: cyan,
  READY: grey,
  PENDING: grey,
  SKIPPED: grey,
};

export const colourStyle: Style = {
  state: (n) => (STATE_COLOURS[n] ?? ((t: string) => t))(n),
  dim: grey,
  warn: yellow,
};

/**
 * Whether to colour output written to `stream`: NO_COLOR (any non-empty
 * value) wins, then FORCE_COLOR (non-empty and not "0"), then a terminal
 * that is not TERM=dumb.
 */
export function wantsColour(stream: { isTTY?: boolean }, env: Record<string, string | undefined>): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "") return env.FORCE_COLOR !== "0";
  return stream.isTTY === true && env.TERM !== "dumb";
}

/** The style for text written to `stream` in this environment. */
export function styleFor(stream: { isTTY?: boolean }, env: Record<string, string | undefined> = process.env): Style {
  return wantsColour(stream, env) ? colourStyle : plainStyle;
}
