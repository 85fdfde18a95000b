// Secrets on the supervisor (src/supervisor/secrets.ts, mask.ts): the file
// format, masking, and a real supervisor with the shell and js runners that
// hands a step its secrets and masks them in what it reports.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createClient, createRouterTransport, type Client } from "@connectrpc/connect";
import { SupervisorService, type JobEvent } from "../../gen/horus/coordinator/v1/supervisor_pb.js";
import { fromValue } from "../../src/common/json.js";
import { createSupervisor, type Supervisor } from "../../src/supervisor/index.js";
import { createMasker, maskJson } from "../../src/supervisor/mask.js";
import { loadSecretFile, parseSecretFile, staticSecrets } from "../../src/supervisor/secrets.js";
import { until } from "../helpers/wait.js";

describe("parseSecretFile", () => {
  const table: Array<{ what: string; text: string; secrets?: Record<string, string>; error?: string }> = [
    { what: "one a line", text: "DB_URL=postgres://u:p@h/db\nTOKEN=abc\n", secrets: { DB_URL: "postgres://u:p@h/db", TOKEN: "abc" } },
    { what: "blank lines and comments are skipped", text: "# a comment\n\n  # indented\nA=1\n\r\n", secrets: { A: "1" } },
    { what: "the value is everything after the first =, as written", text: "A= x=y \"q\" \nB=", secrets: { A: ' x=y "q" ', B: "" } },
    { what: "CRLF line ends", text: "A=1\r\nB=2\r\n", secrets: { A: "1", B: "2" } },
    { what: "spaces around the name", text: "  A =1", secrets: { A: "1" } },
    { what: "no =", text: "A=1\nsecretvalue\n", error: "line 2: expected NAME=value" },
    { what: "a bad name", text: "\nDB-URL=x", error: "line 2: the name must be an environment variable name (letters, digits and _, not starting with a digit or HORUS_)" },
    { what: "a HORUS_ name", text: "HORUS_STEP_ID=x", error: "line 1: the name must be an environment variable name (letters, digits and _, not starting with a digit or HORUS_)" },
    { what: "a name twice", text: "A=1\nA=2", error: "line 2: A is set twice" },
  ];
  for (const t of table) {
    it(t.what, () => {
      const r = parseSecretFile(t.text);
      if (t.error) return expect(r).toEqual({ error: t.error });
      expect("secrets" in r ? Object.fromEntries(r.secrets) : r).toEqual(t.secrets);
    });
  }

  it("never echoes a bad line (it may hold a value)", () => {
    const r = parseSecretFile("hunter2hunter2");
    expect("error" in r && r.error).not.toContain("hunter2");
  });
});

describe("masking", () => {
  const table: Array<{ what: string; values: string[]; text: string; expect: string }> = [
    { what: "every occurrence", values: ["s3cret"], text: "a s3cret and s3cret again", expect: "a *** and *** again" },
    { what: "regexp characters are literal", values: ["a.b*c(d)"], text: "x a.b*c(d) aXbbc(d)", expect: "x *** aXbbc(d)" },
    { what: "the longer of two overlapping values first", values: ["abc", "abcdef"], text: "abcdef abc", expect: "*** ***" },
    { what: "a multi-line value, whole and line by line", values: ["line-one\nline-two"], text: "line-two", expect: "***" },
    { what: "an empty value masks nothing", values: [""], text: "text", expect: "text" },
    { what: "no values", values: [], text: "text", expect: "text" },
  ];
  for (const t of table) it(t.what, () => expect(createMasker(t.values)(t.text)).toBe(t.expect));

  it("masks every string of a JSON value, keys included", () => {
    const mask = createMasker(["pw"]);
    expect(maskJson({ pw: ["pw!", 1, true, null, { k: "xpwx" }] }, mask)).toEqual({ "***": ["***!", 1, true, null, { k: "x***x" }] });
  });
});

describe("loadSecretFile and reload", () => {
  const dir = mkdtempSync(join(tmpdir(), "horus-secrets-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads the file; a reload replaces the set; a bad file on reload keeps the old set", async () => {
    const path = join(dir, "secrets.env");
    writeFileSync(path, "A=1\nB=2\n");
    const file = await loadSecretFile(path);
    expect(file.names()).toEqual(["A", "B"]);
    writeFileSync(path, "C=3\n");
    expect(await file.reload()).toEqual({ ok: true, count: 1 });
    expect(file.names()).toEqual(["C"]);
    expect(file.get("A")).toBeUndefined();
    writeFileSync(path, "C=4\nnot a line\n");
    expect(await file.reload()).toEqual({ ok: false, error: `${path} line 2: expected NAME=value` });
    expect(file.get("C")).toBe("3");
  });

  it("a missing or bad file fails the load with one line", async () => {
    await expect(loadSecretFile(join(dir, "absent"))).rejects.toThrow(/^cannot read .*absent: no such file$/);
    writeFileSync(join(dir, "bad"), "1A=x");
    await expect(loadSecretFile(join(dir, "bad"))).rejects.toThrow(/bad line 1: the name must be/);
  });
});

describe("a supervisor with secrets", () => {
  const open: Supervisor[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  const VALUE = "pa55-w0rd.value";

  function setup(secrets: Record<string, string> = { DB_URL: VALUE, OTHER: "zzz-other" }) {
    const sup = createSupervisor({ name: "sec-sup", shutdownGraceMs: 100, secrets: staticSecrets(secrets) });
    open.push(sup);
    const client: Client<typeof SupervisorService> = createClient(SupervisorService, createRouterTransport(({ service }) => service(SupervisorService, sup.service)));
    return { sup, client };
  }

  let n = 0;
  function job(runner: string, payload: string, secrets: string[] = ["DB_URL"]) {
    n++;
    return { attemptId: `sec-${n}`, workflowId: "wf", stepId: `s${n}`, attempt: 1, runner, payload, secrets };
  }

  /** Dispatches one job and collects its events until it finishes. */
  async function run(client: Client<typeof SupervisorService>, j: ReturnType<typeof job>) {
    const events: JobEvent[] = [];
    const controller = new AbortController();
    const done = (async () => {
      try {
        for await (const msg of client.watchJobEvents({ afterSeq: 0n }, { signal: controller.signal })) events.push(...msg.events.filter((e) => e.attemptId === j.attemptId));
      } catch {
        /* aborted */
      }
    })();
    const res = await client.dispatchJobs({ jobs: [j] });
    expect(res.acks[0]!.accepted).toBe(true);
    const fin = await until(() => {
      const e = events.find((x) => x.kind.case === "finished");
      return e?.kind.case === "finished" ? e.kind.value : undefined;
    }, 20_000);
    controller.abort();
    await done;
    const logs = events.flatMap((e) => (e.kind.case === "log" ? [e.kind.value.line] : []));
    return { fin, logs, all: JSON.stringify(events.map((e) => e.kind.value), (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v)) };
  }

  it("reports the names it holds, never the values", async () => {
    const { client } = setup();
    const info = await client.describeSupervisor({});
    expect(info.secrets).toEqual(["DB_URL", "OTHER"]);
    expect(JSON.stringify(info, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))).not.toContain(VALUE);
  });

  it("shell: the step sees the value in its environment; its log, written in pieces, and output show ***", async () => {
    const { client } = setup();
    // The value reaches stdout in two writes: the line is masked once whole.
    const r = await run(client, job("shell", `printf '%s' "\${DB_URL%%.*}"; sleep 0.05; printf '.%s\\n' "\${DB_URL#*.}"; test "$DB_URL" = '${VALUE}' && echo match; echo "\${OTHER:-unset}"`));
    expect(r.fin.succeeded).toBe(true);
    expect(r.logs).toContain("***");
    expect(r.logs).toContain("match");
    // Only the secrets the step asked for reach it.
    expect(r.logs).toContain("unset");
    // stdout is the output: masked as well.
    expect(fromValue(r.fin.output)).toMatch(/^\*\*\*\nmatch\nunset/);
    expect(r.all).not.toContain(VALUE);
  });

  it("js: the step reads secrets.NAME; log, output and error show ***", async () => {
    const { client } = setup();
    const ok = await run(client, job("js", `console.log("url=" + secrets.DB_URL); ({ url: secrets.DB_URL, same: secrets.DB_URL === ${JSON.stringify(VALUE)}, other: secrets.OTHER ?? null })`));
    expect(ok.fin.succeeded).toBe(true);
    expect(ok.logs).toEqual(["url=***"]);
    expect(fromValue(ok.fin.output)).toEqual({ url: "***", same: true, other: null });
    expect(ok.all).not.toContain(VALUE);
    const bad = await run(client, job("js", `throw new Error("cannot reach " + secrets.DB_URL)`));
    expect(bad.fin.succeeded).toBe(false);
    expect(bad.fin.error?.message).toContain("cannot reach ***");
    expect(bad.all).not.toContain(VALUE);
  });

  it("a job asking for a secret it does not hold fails SECRET_UNAVAILABLE, naming it", async () => {
    const { client } = setup({ OTHER: "x" });
    const r = await run(client, job("shell", "echo should not run", ["DB_URL", "OTHER"]));
    expect(r.fin.succeeded).toBe(false);
    expect(r.fin.error?.code).toBe("SECRET_UNAVAILABLE");
    expect(r.fin.error?.message).toBe("supervisor sec-sup does not hold secret DB_URL");
    expect(r.logs).toEqual([]);
  });

  it("noop ignores secrets", async () => {
    const { client } = setup();
    const r = await run(client, job("noop", ""));
    expect(r.fin.succeeded).toBe(true);
  });
});
