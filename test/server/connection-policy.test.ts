// The sweeper's decisions (src/server/connection-policy.ts) as tables: which
// connection is closed when, and which one makes room at the cap.
import { describe, expect, it } from "vitest";
import { connectionAction, DEFAULT_CONNECTION_LIMITS, evictable, pickEviction, type ConnectionView } from "../../src/server/connection-policy.js";

const L = { ...DEFAULT_CONNECTION_LIMITS, headersTimeoutMs: 100, bodyTimeoutMs: 200, idleTimeoutMs: 300, pingIntervalMs: 1_000, pingTimeoutMs: 50 };
const conn = (over: Partial<ConnectionView>): ConnectionView => ({ protocol: "h1", openedAt: 0, served: 0, active: 0, idleSince: 0, trusted: false, ...over });

describe("connectionAction", () => {
  const cases: Array<[string, ConnectionView, number, string]> = [
    ["a new connection that sent nothing, in time", conn({ protocol: "pending" }), 100, "keep"],
    ["a new connection that sent nothing, too long", conn({ protocol: "pending" }), 101, "close:no request within the headers timeout"],
    ["half an HTTP/2 preface (a session, no stream)", conn({ protocol: "h2", lastPingAt: 0 }), 101, "close:no request within the headers timeout"],
    ["slow first headers on HTTP/1.1", conn({}), 101, "close:no request within the headers timeout"],
    ["a body still arriving, in time", conn({ served: 1, active: 1, idleSince: undefined, oldestBodySince: 50 }), 250, "keep"],
    ["a body trickling too long", conn({ served: 1, active: 1, idleSince: undefined, oldestBodySince: 50 }), 251, "close:request body timeout"],
    ["a long response (a watch), body done", conn({ served: 1, active: 1, idleSince: undefined }), 1e9, "keep"],
    ["keep-alive idle, in time", conn({ served: 1, idleSince: 1_000 }), 1_300, "keep"],
    ["keep-alive idle, too long", conn({ served: 1, idleSince: 1_000 }), 1_301, "close:idle timeout"],
    ["the next head started and is slow", conn({ served: 1, idleSince: 1_000, headStartedAt: 1_010 }), 1_111, "close:request headers timeout"],
    ["the next head started, in time, past idle", conn({ served: 1, idleSince: 1_000, headStartedAt: 1_250 }), 1_340, "keep"],
    ["an HTTP/2 session without streams, too long: GOAWAY", conn({ protocol: "h2", served: 3, idleSince: 1_000, lastPingAt: 1_000 }), 1_301, "close:idle timeout:graceful"],
    ["an HTTP/2 session due a PING", conn({ protocol: "h2", served: 1, active: 1, idleSince: undefined, lastPingAt: 0 }), 1_000, "ping"],
    ["an HTTP/2 PING unanswered", conn({ protocol: "h2", served: 1, active: 1, idleSince: undefined, lastPingAt: 0, pingSentAt: 1_000 }), 1_051, "close:PING not answered"],
    ["an HTTP/2 PING outstanding, in time", conn({ protocol: "h2", served: 1, active: 1, idleSince: undefined, lastPingAt: 1_000, pingSentAt: 1_000 }), 1_050, "keep"],
    ["a WebSocket", conn({ protocol: "upgraded" }), 1e9, "keep"],
  ];
  it.each(cases)("%s", (_name, c, now, want) => {
    const a = connectionAction(c, now, L);
    const got = a.kind === "close" ? `close:${a.reason}${a.graceful ? ":graceful" : ""}` : a.kind;
    expect(got).toBe(want);
  });
});

describe("eviction at the cap", () => {
  it.each([
    ["idle, anonymous", conn({ served: 1 }), true],
    ["sent nothing yet", conn({ protocol: "pending" }), true],
    ["still sending its body (HTTP/1.1)", conn({ served: 1, active: 1, idleSince: undefined, oldestBodySince: 0 }), true],
    ["running a request", conn({ served: 1, active: 1, idleSince: undefined }), false],
    ["trusted (it sent a valid token), idle", conn({ served: 1, trusted: true }), false],
    ["a WebSocket", conn({ protocol: "upgraded" }), false],
  ])("%s: %s", (_name, c, want) => expect(evictable(c)).toBe(want));

  it("picks the oldest evictable one", () => {
    const conns: Array<[string, ConnectionView]> = [
      ["busy", conn({ served: 1, active: 1, idleSince: undefined })],
      ["trusted", conn({ served: 1, trusted: true })],
      ["idle-old", conn({ served: 1 })],
      ["idle-new", conn({ protocol: "pending" })],
    ];
    expect(pickEviction(conns)).toBe("idle-old");
    expect(pickEviction(conns.slice(0, 2))).toBeUndefined();
  });
});
