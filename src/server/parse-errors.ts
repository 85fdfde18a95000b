// A request whose protobuf binary cannot be decoded (malformed, or nested
// deeper than BINARY_READ_OPTIONS allows) is the caller's fault:
// INVALID_ARGUMENT, as Connect already answers for JSON. connect-es answers
// INTERNAL for binary ("parse binary: ...") and offers no hook before it
// serializes that error, so the router's handlers are wrapped and the
// status rewritten in each protocol's place for it: the Connect unary JSON
// error body, the gRPC trailers, the gRPC-web trailer frame and the Connect
// end-of-stream message.
import type { ConnectRouter } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol";

const PARSE_BINARY = "parse binary:";
const text = new TextDecoder();
const bytes = new TextEncoder();

/** Rewrites gRPC status 13 (INTERNAL) for a binary parse error to 3 (INVALID_ARGUMENT), in place. */
function fixGrpcStatus(h: Headers | undefined): void {
  if (h?.get("grpc-status") !== "13") return;
  const message = decodeURIComponent(h.get("grpc-message") ?? "");
  if (message.startsWith(PARSE_BINARY)) h.set("grpc-status", "3");
}

/** A gRPC-web trailer frame (flag 0x80) or Connect end-stream frame (flag 0x02) with the error fixed. */
function fixFrame(chunk: Uint8Array): Uint8Array {
  if (chunk.length < 5 || (chunk[0] !== 0x80 && chunk[0] !== 0x02)) return chunk;
  const body = text.decode(chunk.subarray(5));
  let fixed: string;
  if (chunk[0] === 0x80) {
    // HTTP-style header lines; grpc-message is percent-encoded.
    const message = /^grpc-message: ?(.*?)\r?$/im.exec(body)?.[1];
    if (message === undefined || !decodeURIComponent(message).startsWith(PARSE_BINARY)) return chunk;
    fixed = body.replace(/^grpc-status: ?13(\r?)$/im, "grpc-status: 3$1");
  } else {
    if (!body.includes(PARSE_BINARY)) return chunk;
    const end = JSON.parse(body) as { error?: { code?: string; message?: string } };
    if (end.error?.code !== "internal" || !end.error.message?.startsWith(PARSE_BINARY)) return chunk;
    end.error.code = "invalid_argument";
    fixed = JSON.stringify(end);
  }
  const data = bytes.encode(fixed);
  const out = new Uint8Array(5 + data.length);
  out[0] = chunk[0]!;
  new DataView(out.buffer).setUint32(1, data.length);
  out.set(data, 5);
  return out;
}

async function* fixStream(body: AsyncIterable<Uint8Array>, res: UniversalServerResponse): AsyncIterable<Uint8Array> {
  for await (const chunk of body) yield fixFrame(chunk);
  // gRPC trailers are complete once the body is: fix them before they are written.
  fixGrpcStatus(res.trailer);
}

async function* once(chunk: Uint8Array): AsyncIterable<Uint8Array> {
  yield chunk;
}

async function fix(res: UniversalServerResponse): Promise<UniversalServerResponse> {
  fixGrpcStatus(res.header);
  if (!res.body) {
    fixGrpcStatus(res.trailer);
    return res;
  }
  if (res.status !== 500) return { ...res, body: fixStream(res.body, res) };
  // The Connect unary error: HTTP 500 and {"code": "internal", "message": "parse binary: ..."}. Small: read it whole.
  const chunks: Uint8Array[] = [];
  for await (const c of res.body) chunks.push(c);
  const body = Buffer.concat(chunks);
  try {
    const err = JSON.parse(text.decode(body)) as { code?: string; message?: string };
    if (err.code === "internal" && err.message?.startsWith(PARSE_BINARY)) {
      const fixed = bytes.encode(JSON.stringify({ ...err, code: "invalid_argument" }));
      const header = new Headers(res.header);
      if (header.has("content-length")) header.set("content-length", String(fixed.byteLength));
      return { ...res, status: 400, header, body: once(fixed) };
    }
  } catch {
    // not JSON: left as it is
  }
  return { ...res, body: once(body) };
}

/** Wraps every handler of `router` (call after its services are added). */
export function binaryParseErrorsAsInvalidArgument(router: ConnectRouter): ConnectRouter {
  const handlers = router.handlers as UniversalHandler[];
  for (let i = 0; i < handlers.length; i++) {
    const h = handlers[i]!;
    handlers[i] = Object.assign(async (req: Parameters<UniversalHandler>[0]) => fix(await h(req)), h);
  }
  return router;
}
