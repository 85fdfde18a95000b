// The Host and Origin rules (src/server/request-policy.ts) as tables, and the
// two pure helpers of the HTTP shells: /rpc's content types and the head of a
// declined upgrade.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isJsonContentType } from "../../src/server/jsonrpc/http.js";
import { headWithoutUpgrade } from "../../src/server/listen.js";
import { allowedHostNames, certificateNames, checkRequest, isOwnOrigin, parseAuthority, type RequestPolicy } from "../../src/server/request-policy.js";

const policy = (extra: string[] = [], cors: string[] = []): RequestPolicy => ({ allowedHosts: allowedHostNames({ bound: "127.0.0.1", extra }), corsOrigins: cors });

describe("parseAuthority", () => {
  it.each([
    ["127.0.0.1:9090", { name: "127.0.0.1", port: 9090 }],
    ["LocalHost", { name: "localhost" }],
    ["[::1]:9090", { name: "::1", port: 9090 }],
    ["example.com.:443", { name: "example.com", port: 443 }],
    ["a b", undefined],
    ["user@host", undefined],
    ["host:port", undefined],
    ["::1", undefined],
  ])("%s", (authority, want) => expect(parseAuthority(authority)).toEqual(want));
});

describe("isOwnOrigin", () => {
  it.each([
    ["http://127.0.0.1:9090", "127.0.0.1:9090", true],
    ["https://horus.example.com", "horus.example.com", true],
    ["https://horus.example.com", "horus.example.com:443", true],
    ["http://horus.example.com", "horus.example.com:443", false],
    ["http://127.0.0.1:18000", "127.0.0.1:9090", false],
    ["http://localhost:9090", "127.0.0.1:9090", false],
    ["http://[::1]:9090", "[::1]:9090", true],
    ["null", "127.0.0.1:9090", false],
    ["file://", "127.0.0.1:9090", false],
    ["http://127.0.0.1:9090", undefined, false],
  ])("%s for Host %s: %s", (origin, host, want) => expect(isOwnOrigin(origin, host)).toBe(want));
});

describe("checkRequest", () => {
  const cases: Array<[string, RequestPolicy, Parameters<typeof checkRequest>[1], true | 403 | 421]> = [
    ["a tool: no Origin, loopback Host", policy(), { host: "127.0.0.1:9090" }, true],
    ["no Host at all (HTTP/1.0, not a browser)", policy(), {}, true],
    ["localhost and [::1]", policy(), { host: "localhost:9090" }, true],
    ["[::1]", policy(), { host: "[::1]:9090" }, true],
    ["a rebound name", policy(), { host: "attacker.example:9090" }, 421],
    ["a rebound name with its own origin", policy(), { host: "attacker.example:9090", origin: "http://attacker.example:9090" }, 421],
    ["a malformed Host", policy(), { host: "a b" }, 421],
    ["an --allowed-host name", policy(["horus.example.com"]), { host: "Horus.Example.com" }, true],
    ["--allowed-host *", policy(["*"]), { host: "anything.example" }, true],
    ["the page of this server", policy(), { host: "127.0.0.1:9090", origin: "http://127.0.0.1:9090" }, true],
    ["another site", policy(), { host: "127.0.0.1:9090", origin: "https://evil.example" }, 403],
    ["the same site on another port", policy(), { host: "127.0.0.1:9090", origin: "http://127.0.0.1:18000" }, 403],
    ["a sandboxed page (null)", policy(), { host: "127.0.0.1:9090", origin: "null" }, 403],
    ["a --cors-origin", policy([], ["https://app.example.com"]), { host: "127.0.0.1:9090", origin: "https://app.example.com" }, true],
    ["--cors-origin *", policy([], ["*"]), { host: "127.0.0.1:9090", origin: "https://any.example" }, true],
    ["the sign-in cookie from another port", policy(), { host: "127.0.0.1:9090", origin: "http://127.0.0.1:18000", cookie: "horus_token=abc" }, 403],
    ["the sign-in cookie from an allowed origin", policy([], ["*"]), { host: "127.0.0.1:9090", origin: "http://127.0.0.1:18000", cookie: "a=1; horus_token=abc" }, 403],
    ["an allowed origin with a token and a stray cookie", policy([], ["*"]), { host: "127.0.0.1:9090", origin: "http://127.0.0.1:18000", cookie: "horus_token=abc", authorization: true }, true],
    ["the sign-in cookie from the dashboard", policy(), { host: "127.0.0.1:9090", origin: "http://127.0.0.1:9090", cookie: "horus_token=abc" }, true],
  ];
  it.each(cases)("%s", (_name, p, facts, want) => {
    const v = checkRequest(p, facts);
    if (want === true) expect(v).toEqual({ ok: true });
    else {
      expect(v).toMatchObject({ ok: false, status: want });
      // One line that says what to do.
      expect((v as { reason: string }).reason).toMatch(/^[^\n]+$/);
    }
  });

  it("names the flag that would allow a refused name or origin", () => {
    expect(checkRequest(policy(), { host: "horus.lan:9090" })).toMatchObject({ reason: expect.stringContaining("--allowed-host horus.lan") });
    expect(checkRequest(policy(), { host: "127.0.0.1", origin: "https://app.example" })).toMatchObject({ reason: expect.stringContaining("--cors-origin https://app.example") });
  });
});

describe("allowedHostNames", () => {
  it("loopback, the bound host and --allowed-host names; a wildcard bind adds addresses, not names", () => {
    expect([...allowedHostNames({ bound: "10.1.2.3", extra: ["Horus.LAN."] })].sort()).toEqual(["10.1.2.3", "127.0.0.1", "::1", "horus.lan", "localhost"]);
    const any = allowedHostNames({ bound: "0.0.0.0" });
    expect(any.has("0.0.0.0")).toBe(false);
    expect(any.has("127.0.0.1")).toBe(true);
  });

  it("the TLS certificate's subject alternative names", () => {
    const dir = mkdtempSync(join(tmpdir(), "horus-cert-"));
    try {
      execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "k.pem"), "-out", join(dir, "c.pem"), "-days", "1", "-subj", "/CN=x", "-addext", "subjectAltName=DNS:horus.example.com,DNS:Other.Example,IP:10.9.8.7"], { stdio: "ignore" });
      const pem = readFileSync(join(dir, "c.pem"));
      expect(certificateNames(pem)).toEqual(["horus.example.com", "other.example", "10.9.8.7"]);
      expect(allowedHostNames({ bound: "127.0.0.1", tlsCert: pem }).has("horus.example.com")).toBe(true);
      expect(certificateNames("not a certificate")).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("isJsonContentType", () => {
  it.each([
    ["application/json", true],
    ["application/json; charset=utf-8", true],
    ["Application/JSON", true],
    ["application/json-rpc", true],
    ["text/plain", false],
    ["text/plain;charset=UTF-8", false],
    ["application/x-www-form-urlencoded", false],
    ["multipart/form-data; boundary=x", false],
    [undefined, false],
  ])("%s: %s", (type, want) => expect(isJsonContentType(type)).toBe(want));
});

describe("headWithoutUpgrade", () => {
  it("drops Upgrade, HTTP2-Settings and their Connection tokens, keeping the rest as sent", async () => {
    // A real parsed request: an upgrade listener receives it.
    const server = http.createServer();
    const got = new Promise<string>((resolve) => server.on("upgrade", (req, socket) => {
      resolve(headWithoutUpgrade(req).toString("latin1"));
      socket.destroy();
    }));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const req = http.request({ port, host: "127.0.0.1", path: "/metrics?x=1", headers: { Connection: "keep-alive, Upgrade, HTTP2-Settings", Upgrade: "h2c", "HTTP2-Settings": "AAMAAABkAAQCAAAAAAIAAAAA", "X-Kept": "yes" } });
    req.on("error", () => {});
    req.end();
    const head = await got;
    server.close();
    expect(head).toBe(`GET /metrics?x=1 HTTP/1.1\r\nConnection: keep-alive\r\nX-Kept: yes\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  });
});
