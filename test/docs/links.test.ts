// Every relative link in the README, CONTRIBUTING.md, docs/*.md and the
// other READMEs (bench/, clients/*/) points at a file that exists, and every
// #anchor at a heading of its page (GitHub's slugs), so moving a section or
// renaming a page cannot leave a dead link.
// Pure file reads: runs in the unit tier (no build, no servers).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { describe, expect, it } from "vitest";

/** The pages checked, relative to the repository root. */
function pages(): string[] {
  const docs = readdirSync("docs").filter((f) => f.endsWith(".md")).map((f) => join("docs", f));
  const readmes = ["bench/README.md", ...readdirSync("clients").map((d) => join("clients", d, "README.md")).filter((f) => existsSync(f)).sort()];
  return ["README.md", "CONTRIBUTING.md", ...docs.sort(), ...readmes];
}

/** The text outside fenced code blocks, line by line (a fence's lines become empty, keeping line numbers). */
function proseLines(markdown: string): string[] {
  let fence = "";
  return markdown.split("\n").map((line) => {
    const m = /^\s*(```+|~~~+)/.exec(line);
    if (m) {
      if (fence === "") fence = m[1]!;
      else if (m[1]!.startsWith(fence)) fence = "";
      return "";
    }
    return fence === "" ? line : "";
  });
}

/** GitHub's anchor for a heading: lowercase, punctuation dropped, spaces as dashes. */
export function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/`/g, "")
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "").replace(/ /g, "-");
}

/** The anchors of a page's headings, duplicates numbered as GitHub does (x, x-1, x-2). */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of proseLines(markdown)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

export interface Link {
  line: number;
  target: string;
}

/** The links and images of a page outside code (fenced blocks and inline code spans). */
export function links(markdown: string): Link[] {
  const out: Link[] = [];
  proseLines(markdown).forEach((raw, i) => {
    // Inline code keeps its place as plain text, so a link whose text holds code still matches.
    const line = raw.replace(/`[^`]*`/g, "code");
    for (const m of line.matchAll(/!?\[(?:[^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      out.push({ line: i + 1, target: m[1]! });
    }
  });
  return out;
}

/** What is wrong with each relative link of `file` ("" when nothing): a missing file, or an anchor that no heading has. */
export function brokenLinks(file: string, markdown: string, read: (path: string) => string | undefined): string[] {
  const problems: string[] = [];
  for (const { line, target } of links(markdown)) {
    // Absolute URLs (https:, mailto:, ...) are not checked: no network in tests.
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
    const hash = target.indexOf("#");
    const path = hash < 0 ? target : target.slice(0, hash);
    const anchor = hash < 0 ? "" : decodeURIComponent(target.slice(hash + 1));
    const resolved = path === "" ? file : normalize(join(dirname(file), decodeURIComponent(path)));
    const where = `${file}:${line}: ${target}`;
    const text = resolved === file ? markdown : read(resolved);
    if (text === undefined) {
      problems.push(`${where}: no file ${resolved}`);
      continue;
    }
    if (anchor !== "" && resolved.endsWith(".md") && !anchors(text).has(anchor)) {
      problems.push(`${where}: ${resolved} has no heading with anchor #${anchor}`);
    }
  }
  return problems;
}

/** A file's text, "" for a directory, undefined when nothing is there. */
function readRepo(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

describe("relative links in the docs", () => {
  it("GitHub's slugs: code, punctuation and links dropped, duplicates numbered", () => {
    expect(slug("Isolation of `js` and `shell` steps")).toBe("isolation-of-js-and-shell-steps");
    expect(slug("Threat model of the default (no tokens, loopback)")).toBe("threat-model-of-the-default-no-tokens-loopback");
    expect(slug("Redis: durable state and several coordinators")).toBe("redis-durable-state-and-several-coordinators");
    expect(slug("Sub-workflows (W)")).toBe("sub-workflows-w");
    expect(slug("The `horus` command")).toBe("the-horus-command");
    expect([...anchors("# A\n## B\n```\n## not a heading\n```\n## B\n")]).toEqual(["a", "b", "b-1"]);
  });

  it("finds a missing file and a missing anchor, and skips code and absolute URLs", () => {
    const files: Record<string, string> = { "docs/there.md": "# There\n## Some part\n" };
    const page = [
      "[ok](there.md) [ok](there.md#some-part) [ok](#local) [web](https://example.com/x.md)",
      "## Local",
      "[gone](missing.md) and [bad anchor](there.md#no-such-part) and ![img](images/none.png)",
      "`[in code](nowhere.md)`",
      "```",
      "[in a block](nowhere.md)",
      "```",
    ].join("\n");
    expect(brokenLinks("docs/page.md", page, (p) => files[p])).toEqual([
      "docs/page.md:3: missing.md: no file docs/missing.md",
      "docs/page.md:3: there.md#no-such-part: docs/there.md has no heading with anchor #no-such-part",
      "docs/page.md:3: images/none.png: no file docs/images/none.png",
    ]);
  });

  it("every relative link and anchor in README.md, CONTRIBUTING.md, docs/*.md and the other READMEs resolves", () => {
    const checked = pages();
    expect(checked.length).toBeGreaterThan(10);
    const problems = checked.flatMap((file) => brokenLinks(file, readFileSync(file, "utf8"), readRepo));
    expect(problems).toEqual([]);
    // The check saw the links it should: the README links every docs page.
    const readmeTargets = links(readFileSync("README.md", "utf8")).map((l) => l.target);
    for (const page of checked.filter((f) => f.startsWith("docs/"))) expect(readmeTargets, page).toContain(page);
  });
});
