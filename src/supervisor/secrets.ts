// Named secrets a supervisor holds (`horus supervisor --secret-file FILE`)
// and hands to the steps that declare them (StepSpec.secrets). The file has
// one NAME=value a line; blank lines and lines starting with # are skipped.
// The value is everything after the first `=`, as written (no quotes are
// removed, no escapes read), so any byte sequence but a newline fits. The
// coordinator learns the names only (DescribeSupervisorResponse.secrets);
// values stay in this process, which masks them in everything it reports
// (mask.ts).
import { readFile } from "node:fs/promises";
import { SECRET_NAME_PATTERN } from "../workflow/definition.js";

/** What the supervisor asks of its secrets; the set may change between calls (a reload). */
export interface SecretSource {
  /** Names held, sorted. */
  names(): string[];
  /** The value of a secret, or undefined when it is not held. */
  get(name: string): string | undefined;
}

/** Reads a secret file's text: the secrets, or the first bad line (one line, naming its number). */
export function parseSecretFile(text: string): { secrets: Map<string, string> } | { error: string } {
  const secrets = new Map<string, string>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, "");
    if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
    const eq = line.indexOf("=");
    const name = eq < 0 ? line.trim() : line.slice(0, eq).trim();
    // The text of a bad line is never echoed: it may hold a value.
    if (eq < 0) return { error: `line ${i + 1}: expected NAME=value` };
    if (!SECRET_NAME_PATTERN.test(name)) return { error: `line ${i + 1}: the name must be an environment variable name (letters, digits and _, not starting with a digit or HORUS_)` };
    if (secrets.has(name)) return { error: `line ${i + 1}: ${name} is set twice` };
    secrets.set(name, line.slice(eq + 1));
  }
  return { secrets };
}

/** A SecretSource over a fixed map (tests, embedding programs). */
export function staticSecrets(secrets: ReadonlyMap<string, string> | Record<string, string>): SecretSource {
  const map = secrets instanceof Map ? new Map(secrets) : new Map(Object.entries(secrets));
  const names = [...map.keys()].sort();
  return { names: () => names, get: (name) => map.get(name) };
}

/** A SecretSource read from a file, re-read on reload(). */
export interface SecretFile extends SecretSource {
  /** Reads the file again; on an error the set held so far stays and the error is returned. */
  reload(): Promise<{ ok: true; count: number } | { ok: false; error: string }>;
}

async function readSecrets(path: string): Promise<{ secrets: Map<string, string> } | { error: string }> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { error: `cannot read ${path}: ${code === "ENOENT" ? "no such file" : code ?? String(err)}` };
  }
  const parsed = parseSecretFile(text);
  return "error" in parsed ? { error: `${path} ${parsed.error}` } : parsed;
}

/** Loads a secret file; rejects with a one-line message when it cannot be read or has a bad line. */
export async function loadSecretFile(path: string): Promise<SecretFile> {
  const first = await readSecrets(path);
  if ("error" in first) throw new Error(first.error);
  let current = staticSecrets(first.secrets);
  return {
    names: () => current.names(),
    get: (name) => current.get(name),
    async reload() {
      const next = await readSecrets(path);
      if ("error" in next) return { ok: false, error: next.error };
      current = staticSecrets(next.secrets);
      return { ok: true, count: next.secrets.size };
    },
  };
}

/** Where reload outcomes are reported: one line each. */
export interface ReloadLog {
  info(message: string): void;
  warn(message: string): void;
}

/**
 * Re-reads the file on every SIGHUP, logging one line either way (a bad
 * file keeps the set held so far). Returns a function that stops listening.
 */
export function reloadOnSighup(file: SecretFile, path: string, log: ReloadLog): () => void {
  const onHup = (): void => {
    void file.reload().then((r) => {
      if (r.ok) log.info(`secrets reloaded from ${path}: ${r.count} held (${file.names().join(", ") || "none"})`);
      else log.warn(`secrets not reloaded, keeping the ${file.names().length} held: ${r.error}`);
    });
  };
  process.on("SIGHUP", onHup);
  return () => process.off("SIGHUP", onHup);
}
