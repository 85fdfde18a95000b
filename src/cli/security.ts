// The CLI's security options: token files and variables, TLS files, secret
// files, the run-as user. Every problem is a CliError (one line, exit 2) that names the
// file or variable, never a token.
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { checkBinding, parseTokens, readSingleToken, readTokenFile, TokenFileError, type Principal } from "../server/auth.js";
import type { Logger } from "../common/logger.js";
import { CliError } from "./errors.js";

function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof TokenFileError) throw new CliError(err.message);
    throw err;
  }
}

/** Accepted tokens: --token-file FILE, else the HORUS_TOKENS variable (same `TOKEN [ROLE]` lines), else none. */
export function serverTokens(file: string | undefined): { tokens?: Map<string, Principal> } {
  if (file) return { tokens: wrap(() => readTokenFile(file)) };
  const env = process.env.HORUS_TOKENS;
  if (env && env.trim() !== "") return { tokens: wrap(() => parseTokens(env, "HORUS_TOKENS")) };
  return {};
}

export async function tlsOptions(cert: string | undefined, key: string | undefined): Promise<{ tls?: { cert: Buffer; key: Buffer } }> {
  if (!cert && !key) return {};
  if (!cert || !key) throw new CliError("--tls-cert and --tls-key go together");
  const read = async (file: string, flag: string) => {
    try {
      return await readFile(file);
    } catch (err) {
      throw new CliError(`cannot read ${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  };
  const tls = { cert: await read(cert, "--tls-cert"), key: await read(key, "--tls-key") };
  if (!tls.cert.includes("-----BEGIN")) throw new CliError(`--tls-cert ${cert} is not a PEM certificate`);
  if (!tls.key.includes("-----BEGIN")) throw new CliError(`--tls-key ${key} is not a PEM key`);
  return { tls };
}

/** --ca-file FILE or HORUS_CA_FILE: PEM certificates to trust. */
export function caOption(file: string | undefined): { ca?: Buffer } {
  const f = file ?? process.env.HORUS_CA_FILE;
  if (!f) return {};
  try {
    return { ca: readFileSync(f) };
  } catch (err) {
    throw new CliError(`cannot read the CA file ${f}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** `TOKEN` (any supervisor) or `URL TOKEN` lines. */
export function supervisorTokens(file: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new CliError(`cannot read --supervisor-token-file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const parts = line.split(/\s+/);
    if (parts.length === 1) out["*"] = parts[0]!;
    else if (parts.length === 2 && /^https?:\/\//.test(parts[0]!)) out[parts[0]!.replace(/\/$/, "")] = parts[1]!;
    else throw new CliError(`--supervisor-token-file ${file} line ${i + 1}: expected "TOKEN" or "URL TOKEN"`);
  });
  if (Object.keys(out).length === 0) throw new CliError(`--supervisor-token-file ${file} holds no token`);
  return out;
}

export function registrationToken(file: string | undefined): string | undefined {
  if (file) return wrap(() => readSingleToken(file));
  const env = process.env.HORUS_REGISTRATION_TOKEN;
  return env && env.trim() !== "" ? env.trim() : undefined;
}

export function checkHost(host: string, security: { tokens?: Map<string, Principal>; insecure?: boolean }): void {
  wrap(() => checkBinding(host, (security.tokens?.size ?? 0) > 0, security.insecure, "server"));
}

/** `--run-as`: a user name, a uid, or uid:gid. */
export function resolveUser(spec: string): { uid: number; gid: number } {
  let ids: { uid: number; gid: number };
  const m = /^(\d+)(?::(\d+))?$/.exec(spec);
  if (m) ids = { uid: Number(m[1]), gid: Number(m[2] ?? m[1]) };
  else {
    if (!/^[A-Za-z0-9_.-]{1,32}$/.test(spec)) throw new CliError(`--run-as takes a user name, uid or uid:gid, got "${spec}"`);
    try {
      ids = {
        uid: Number(execFileSync("id", ["-u", spec], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()),
        gid: Number(execFileSync("id", ["-g", spec], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()),
      };
    } catch {
      throw new CliError(`--run-as: no such user "${spec}"`);
    }
  }
  const self = process.getuid?.();
  if (self !== 0 && self !== ids.uid) throw new CliError(`--run-as ${spec} needs the supervisor to run as root (it runs as uid ${self})`);
  return ids;
}

/** `--secret-file`, read before serving (a bad file is a one-line error) and again on SIGHUP. */
export async function secretFileOption(path: string, logger: Logger) {
  const { loadSecretFile, reloadOnSighup } = await import("../supervisor/secrets.js");
  let file;
  try {
    file = await loadSecretFile(path);
  } catch (err) {
    throw new CliError(`--secret-file ${(err as Error).message}`);
  }
  logger.info(`secrets loaded from ${path}: ${file.names().length} held (${file.names().join(", ") || "none"})`);
  reloadOnSighup(file, path, { info: (m) => logger.info(m), warn: (m) => logger.warn(m) });
  return file;
}
