// Worker thread of the js runner. It runs one job at a time, each in a fresh
// node:vm context, and talks to the runner with three messages:
//   in:  { type: "run", id, code, filename, input, inputs, secrets, maxOutputBytes, env }
//   out: { type: "log", id, stream, lines }   (console output of the job)
//        { type: "result", id, ok: true, json } | { type: "result", id, ok: false, code, message }
// (`code` is SCRIPT_ERROR or OUTPUT_TOO_LARGE of src/common/failure-codes.ts,
// written out here because the thread imports nothing of the coordinator)
// The thread is reused for later jobs, so everything a job leaves behind
// (timers) is cleared when it ends. node:vm is not a security boundary: the
// context keeps jobs from seeing each other's globals, while the worker's
// resource limits and the runner's time limit keep a bad job from hurting
// the supervisor.
import { parentPort } from "node:worker_threads";
import vm from "node:vm";
import { format } from "node:util";

if (!parentPort) throw new Error("worker.mjs must run as a worker thread");
const port = parentPort;

port.on("message", (/** @type {RunMessage} */ msg) => {
  if (msg && msg.type === "run") void runJob(msg);
});

/**
 * @typedef {{ type: "run", id: number, code: string, filename: string, input: unknown, inputs: unknown, secrets?: Record<string, string>, maxOutputBytes: number, env?: Record<string, string> }} RunMessage
 * @typedef {"stdout" | "stderr"} Stream
 */

/**
 * Runs one job and posts its logs and result.
 * @param {RunMessage} msg
 * @returns {Promise<void>}
 */
async function runJob(msg) {
  const { id, code, filename } = msg;
  const timers = new JobTimers();
  // A job that escapes node:vm sees process.env: it holds this job's minimal
  // environment (env.ts) and nothing of an earlier job.
  if (msg.env) {
    for (const key of Object.keys(process.env)) delete process.env[key];
    Object.assign(process.env, msg.env);
  }
  try {
    const context = vm.createContext({
      input: msg.input,
      inputs: msg.inputs,
      // The step's declared secrets by name; the supervisor masks their values in what the job reports.
      secrets: Object.freeze({ ...msg.secrets }),
      console: makeConsole(id),
      setTimeout: timers.setTimeout,
      clearTimeout: timers.clear,
      setInterval: timers.setInterval,
      clearInterval: timers.clear,
      setImmediate: timers.setImmediate,
      clearImmediate: timers.clear,
      queueMicrotask,
      structuredClone,
      TextEncoder,
      TextDecoder,
      URL,
      URLSearchParams,
      atob,
      btoa,
    });
    const script = new vm.Script(code, { filename });
    let value = script.runInContext(context);
    if (isThenable(value)) value = await value;
    let json;
    try {
      json = JSON.stringify(value);
    } catch (err) {
      port.postMessage({ type: "result", id, ok: false, code: "SCRIPT_ERROR", message: `output is not JSON: ${describe(err, filename)}` });
      return;
    }
    // undefined (and functions, symbols) have no JSON form: the output is null.
    if (json === undefined) json = "null";
    if (tooLarge(json, msg.maxOutputBytes)) {
      port.postMessage({ type: "result", id, ok: false, code: "OUTPUT_TOO_LARGE", message: `output exceeded the limit of ${msg.maxOutputBytes} bytes` });
      return;
    }
    port.postMessage({ type: "result", id, ok: true, json });
  } catch (err) {
    port.postMessage({ type: "result", id, ok: false, code: "SCRIPT_ERROR", message: describe(err, filename) });
  } finally {
    timers.clearAll();
  }
}

/**
 * A console whose output becomes log lines of the job: log/info/debug/dir on
 * stdout, warn/error/trace on stderr, as Node's own console splits them.
 * @param {number} id
 */
function makeConsole(id) {
  /** @param {Stream} stream */
  const writer = (stream) => (/** @type {unknown[]} */ ...args) => {
    const text = format(...args);
    port.postMessage({ type: "log", id, stream, lines: text.split(/\r?\n/) });
  };
  const out = writer("stdout");
  const err = writer("stderr");
  return { log: out, info: out, debug: out, dir: out, warn: err, error: err, trace: err };
}

/** Timers given to a job, tracked so none outlives it in a reused worker. */
class JobTimers {
  constructor() {
    /** @type {Set<NodeJS.Timeout>} */
    this.timeouts = new Set();
    /** @type {Set<NodeJS.Immediate>} */
    this.immediates = new Set();
    /**
     * @param {(...args: unknown[]) => void} fn
     * @param {number} [ms]
     * @param {unknown[]} args
     */
    this.setTimeout = (fn, ms, ...args) => {
      const t = setTimeout(() => {
        this.timeouts.delete(t);
        fn(...args);
      }, ms);
      this.timeouts.add(t);
      return t;
    };
    /**
     * @param {(...args: unknown[]) => void} fn
     * @param {number} [ms]
     * @param {unknown[]} args
     */
    this.setInterval = (fn, ms, ...args) => {
      const t = setInterval(fn, ms, ...args);
      this.timeouts.add(t);
      return t;
    };
    /**
     * @param {(...args: unknown[]) => void} fn
     * @param {unknown[]} args
     */
    this.setImmediate = (fn, ...args) => {
      const t = setImmediate(() => {
        this.immediates.delete(t);
        fn(...args);
      });
      this.immediates.add(t);
      return t;
    };
    /** @param {unknown} t */
    this.clear = (t) => {
      if (t instanceof Object && this.timeouts.has(/** @type {NodeJS.Timeout} */ (t))) {
        clearTimeout(/** @type {NodeJS.Timeout} */ (t));
        this.timeouts.delete(/** @type {NodeJS.Timeout} */ (t));
      } else if (t instanceof Object && this.immediates.has(/** @type {NodeJS.Immediate} */ (t))) {
        clearImmediate(/** @type {NodeJS.Immediate} */ (t));
        this.immediates.delete(/** @type {NodeJS.Immediate} */ (t));
      }
    };
  }

  clearAll() {
    for (const t of this.timeouts) clearTimeout(t);
    for (const t of this.immediates) clearImmediate(t);
    this.timeouts.clear();
    this.immediates.clear();
  }
}

/**
 * Whether the UTF-8 form of text is longer than max bytes, without encoding
 * it when the length alone decides (a UTF-16 unit is 1 to 3 UTF-8 bytes).
 * @param {string} text
 * @param {number} max
 */
function tooLarge(text, max) {
  if (text.length > max) return true;
  if (text.length * 3 <= max) return false;
  return Buffer.byteLength(text, "utf8") > max;
}

/**
 * @param {unknown} value
 * @returns {value is PromiseLike<unknown>}
 */
function isThenable(value) {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (/** @type {{ then?: unknown }} */ (value).then) === "function"
  );
}

/**
 * One-line description of what a job threw: "Name: first line of message
 * (line N)". Errors from the vm context are not `instanceof Error` here
 * (another realm), so they are read by shape.
 * @param {unknown} err
 * @param {string} filename
 * @returns {string}
 */
function describe(err, filename) {
  let text;
  let stack = "";
  if (typeof err === "object" && err !== null && "message" in err) {
    const e = /** @type {{ name?: unknown, message?: unknown, stack?: unknown }} */ (err);
    const name = typeof e.name === "string" && e.name !== "" ? e.name : "Error";
    const message = String(e.message).split("\n")[0];
    text = message === "" ? name : `${name}: ${message}`;
    try {
      stack = typeof e.stack === "string" ? e.stack : "";
    } catch {
      stack = "";
    }
  } else if (typeof err === "string") {
    text = err.split("\n")[0];
  } else {
    try {
      text = JSON.stringify(err) ?? String(err);
    } catch {
      text = String(err);
    }
  }
  // Stack frames (and a SyntaxError's header) name the script as "filename:line".
  const at = stack.indexOf(`${filename}:`);
  if (at >= 0) {
    const line = /^(\d+)/.exec(stack.slice(at + filename.length + 1));
    if (line) text += ` (line ${line[1]})`;
  }
  return text;
}
