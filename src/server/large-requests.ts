// Large request messages of chosen methods are decoded off the main thread.
// connect-es decodes a request on the event loop before any interceptor or
// method runs: a 100,000-step workflow (1.6 MB of protobuf, 3 MB of JSON)
// held every other request up for most of a second. This wraps those
// methods' handlers: a large body is read whole, handed to `decode` (a
// worker) with the framing taken off, and Connect gets a small message in
// its place, the same request without the large part; what the worker found
// reaches the method through the handler context (ContextValues). Every
// protocol keeps its own error format and interceptors, as Connect still
// handles the request.
//
// Only what can be handed over as it is goes to the worker: POST bodies of
// Connect unary (application/proto, application/json) without
// Content-Encoding, and gRPC / gRPC-web (+proto, +json) with one
// uncompressed message. Anything else (compressed, malformed framing, over
// the size limit) goes to Connect unchanged, which answers as before.
import type { DescMethod } from "@bufbuild/protobuf";
import type { ConnectRouter, ContextValues } from "@connectrpc/connect";
import { createContextValues } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";

/** How a request body carries its one message. */
export interface Framing {
  format: "binary" | "json";
  /** gRPC and gRPC-web: a 5-byte prefix (flags, length) before the message. */
  enveloped: boolean;
}

export interface LargeRequestOffload {
  /** Bodies of at least this many bytes are decoded by `decode`. */
  minBytes: number;
  /** Whether `method`'s requests are handled here. */
  handles(method: DescMethod): boolean;
  /**
   * Decodes `message` (a fresh array: it may be transferred) and checks it;
   * returns the message Connect decodes instead, in the same format, and
   * sets what the method reads in `values`. Never rejects.
   */
  decode(method: DescMethod, framing: Framing, message: Uint8Array, values: ContextValues): Promise<Uint8Array>;
}

/** What the server knows of its requests. */
export interface ServerSide {
  /** Largest message read (the server's readMaxBytes): a larger body goes to Connect, which refuses it. */
  maxBytes: number;
  /**
   * Whether the caller may call `method` at all (its token). A body the
   * caller may not send is not decoded: Connect gets an empty message and
   * its interceptor refuses the call as usual.
   */
  admits(method: DescMethod, header: Headers): boolean;
}

/** The framing of a request by its headers; undefined when it is not handed over (other content types, compression). */
export function framingOf(header: Headers): Framing | undefined {
  const type = (header.get("content-type") ?? "").split(";", 1)[0]!.trim().toLowerCase();
  const identity = (name: string) => {
    const v = header.get(name);
    return v === null || v.trim() === "" || v.trim().toLowerCase() === "identity";
  };
  if (type === "application/proto" || type === "application/json") {
    return identity("content-encoding") ? { format: type === "application/json" ? "json" : "binary", enveloped: false } : undefined;
  }
  // gRPC's flag byte says whether a message is compressed (unframe checks it), whatever grpc-encoding offers.
  const m = /^application\/grpc(?:-web)?(?:\+(proto|json))?$/.exec(type);
  if (m) return { format: m[1] === "json" ? "json" : "binary", enveloped: true };
  return undefined;
}

/** The message inside `body`; undefined when an envelope is not exactly one uncompressed message. */
export function unframe(body: Uint8Array, framing: Framing): Uint8Array | undefined {
  if (!framing.enveloped) return body;
  if (body.byteLength < 5 || body[0] !== 0) return undefined;
  const length = new DataView(body.buffer, body.byteOffset, 5).getUint32(1);
  return length === body.byteLength - 5 ? body.subarray(5) : undefined;
}

/** `message` framed as `framing` says. */
export function frame(message: Uint8Array, framing: Framing): Uint8Array {
  if (!framing.enveloped) return message;
  const out = new Uint8Array(5 + message.byteLength);
  new DataView(out.buffer).setUint32(1, message.byteLength);
  out.set(message, 5);
  return out;
}

async function* replay(chunks: Uint8Array[], rest?: AsyncIterator<Uint8Array>): AsyncIterable<Uint8Array> {
  yield* chunks;
  if (!rest) return;
  for (let r = await rest.next(); !r.done; r = await rest.next()) yield r.value;
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** The request with `body` for its body (and no stale Content-Length). */
function withBody(req: UniversalServerRequest, body: AsyncIterable<Uint8Array>, contextValues?: ContextValues): UniversalServerRequest {
  const header = new Headers(req.header);
  header.delete("content-length");
  return { ...req, header, body, ...(contextValues ? { contextValues } : {}) };
}

function wrap(h: UniversalHandler, offload: LargeRequestOffload, server: ServerSide): UniversalHandler {
  const method = h.method;
  const handler = async (req: UniversalServerRequest) => {
    const framing = req.method === "POST" ? framingOf(req.header) : undefined;
    const body = req.body;
    if (!framing || body === null || typeof body !== "object" || !(Symbol.asyncIterator in body)) return h(req);
    const declared = Number(req.header.get("content-length") ?? NaN);
    if (declared < offload.minBytes || declared > server.maxBytes + 5) return h(req);
    // Read the body whole, unless it is over the limit: then Connect refuses it as it would.
    const chunks: Uint8Array[] = [];
    let size = 0;
    const it = (body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    try {
      for (let r = await it.next(); !r.done; r = await it.next()) {
        chunks.push(r.value);
        size += r.value.byteLength;
        if (size > server.maxBytes + 5) return h(withBody(req, replay(chunks, it)));
      }
    } catch (err) {
      // The body broke off (the client went away): Connect meets the same error where it would have.
      return h(withBody(req, replay(chunks, { next: () => Promise.reject(err) })));
    }
    if (size < offload.minBytes) return h(withBody(req, replay(chunks)));
    const all = concat(chunks, size);
    const message = unframe(all, framing);
    if (!message) return h(withBody(req, replay([all])));
    if (!server.admits(method, req.header)) {
      const empty = framing.format === "json" ? new TextEncoder().encode("{}") : new Uint8Array(0);
      return h(withBody(req, replay([frame(empty, framing)])));
    }
    const values = req.contextValues ?? createContextValues();
    const small = await offload.decode(method, framing, message, values);
    return h(withBody(req, replay([frame(small, framing)]), values));
  };
  return Object.assign(handler, h);
}

/** Wraps the handlers of `router` for the methods `offload` handles (call after its services are added). */
export function offloadLargeRequests(router: ConnectRouter, offload: LargeRequestOffload, server: ServerSide): ConnectRouter {
  const handlers = router.handlers as UniversalHandler[];
  for (let i = 0; i < handlers.length; i++) {
    const h = handlers[i]!;
    if (offload.handles(h.method)) handlers[i] = wrap(h, offload, server);
  }
  return router;
}
