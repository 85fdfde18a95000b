// The answer to a request for a method the server does not have, in the
// caller's protocol. gRPC and gRPC-web clients read the status from
// `grpc-status`, not from the HTTP status: a bare 404 reaches them as a
// transport failure (UNKNOWN or UNAVAILABLE, often retried), while
// `grpc-status: 12` tells them plainly that the method is UNIMPLEMENTED.
// Connect clients map HTTP 404 to `unimplemented`, and get the error body too.
import type http from "node:http";
import type http2 from "node:http2";

export interface PlainAnswer {
  status: number;
  headers: Record<string, string>;
  body?: string;
  /** HTTP trailers (gRPC reads its status there; a status in the headers of a stream that then ends without trailers reads as UNKNOWN to grpc-core). */
  trailers?: Record<string, string>;
}

const GRPC = /^application\/grpc(\+[a-z]+)?\s*(;.*)?$/i;
const GRPC_WEB = /^application\/grpc-web(-text)?(\+[a-z]+)?\s*(;.*)?$/i;
const CONNECT = /^application\/(connect\+)?(proto|json)\s*(;.*)?$/i;

/** gRPC's grpc-message encoding: printable ASCII as is, everything else (and "%") percent-encoded. */
export function percentEncode(message: string): string {
  let out = "";
  for (const byte of Buffer.from(message, "utf8")) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** What to answer for `path`, which no route serves, given the request's content type. */
export function unimplementedAnswer(path: string, contentType: string | undefined): PlainAnswer {
  const message = `unknown method ${path}`;
  const ct = (contentType ?? "").trim();
  const status = { "grpc-status": "12", "grpc-message": percentEncode(message) };
  if (GRPC.test(ct)) return { status: 200, headers: { "content-type": ct.split(";")[0]! }, trailers: status };
  // gRPC-web has no HTTP trailers: the status in the headers of an empty body is its "trailers-only" answer.
  if (GRPC_WEB.test(ct)) return { status: 200, headers: { "content-type": ct.split(";")[0]!, ...status } };
  if (CONNECT.test(ct)) {
    const body = JSON.stringify({ code: "unimplemented", message });
    return { status: 404, headers: { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) }, body };
  }
  return { status: 404, headers: { "content-type": "text/plain; charset=utf-8", "content-length": "10" }, body: "not found\n" };
}

/** Sends unimplementedAnswer for the request (reading and dropping its body). */
export function answerUnimplemented(req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): void {
  const answer = unimplementedAnswer((req.url ?? "/").split("?")[0]!, req.headers["content-type"]);
  req.resume();
  (res as http.ServerResponse).writeHead(answer.status, answer.headers);
  if (answer.trailers) (res as http.ServerResponse).addTrailers(answer.trailers);
  (res as http.ServerResponse).end(answer.body);
}
