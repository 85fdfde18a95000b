// Serves the Connect router (Connect, gRPC, gRPC-web) to Node's HTTP/1.1 and
// HTTP/2 requests, as connectNodeAdapter does, plus two things it lacks:
//   - gRPC-web text mode, translated to binary gRPC-web around the router
//     (grpc-web-text.ts);
//   - an unknown method answered in the caller's protocol (unimplemented.ts)
//     instead of a bare 404.
import { Code, ConnectError, createConnectRouter } from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import { universalRequestFromNodeRequest, universalResponseToNodeResponse, type ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import { BINARY_CONTENT_TYPE, decodeBase64Stream, encodeBase64Stream, isGrpcWebText, TEXT_CONTENT_TYPE } from "./grpc-web-text.js";
import type { RequestHandler } from "./listen.js";
import { answerUnimplemented } from "./unimplemented.js";

/**
 * Responses smaller than this go uncompressed even to clients that accept
 * gzip (Connect's default is 1 KiB). Each message is compressed on its
 * own, with a fresh zlib context: on watch streams, whose events with step
 * outputs often pass 1 KiB, that cost ~0.4 ms of the coordinator's CPU per
 * message (a third of what following a 100-step chain cost) for a few
 * hundred bytes saved. Large answers (GetWorkflow of a big workflow, long
 * lists) are still compressed.
 */
const COMPRESS_MIN_BYTES = 32 * 1024;

/**
 * Server streams (WatchWorkflow, RunWorkflow, WatchWorkflows, followed
 * logs) are sent uncompressed whatever the client accepts: their messages
 * are what a watcher waits for, and compressing each on its own (a fresh
 * zlib context, a thread-pool round trip) cost the coordinator's main
 * thread ~3.5 ms of a followed 100-step chain's ~28 (measured from
 * /proc), on the thread that runs the workflow, and added that round trip
 * to every batch's delivery. The server may always answer uncompressed;
 * the client's accepted encodings are dropped before Connect reads them.
 */
const UNCOMPRESSED_STREAM_HEADERS = ["connect-accept-encoding", "grpc-accept-encoding"];

/** connectNodeAdapter's options; `fallback` serves paths no method has (default: answerUnimplemented). */
export type RpcAdapterOptions = ConnectNodeAdapterOptions;

export function createRpcAdapter(options: RpcAdapterOptions): RequestHandler {
  const router = createConnectRouter({ acceptCompression: [compressionGzip, compressionBrotli], compressMinBytes: COMPRESS_MIN_BYTES, ...options });
  options.routes(router);
  const prefix = options.requestPathPrefix ?? "";
  const paths = new Map<string, UniversalHandler>();
  for (const h of router.handlers) paths.set(prefix + h.requestPath, h);
  const fallback = options.fallback ?? answerUnimplemented;

  return (req, res) => {
    const handler = paths.get((req.url ?? "").split("?", 2)[0] ?? "");
    if (!handler) {
      fallback(req, res);
      return;
    }
    const uReq = universalRequestFromNodeRequest(req, res, undefined, options.contextValues?.(req));
    if (handler.method.methodKind === "server_streaming") for (const h of UNCOMPRESSED_STREAM_HEADERS) uReq.header.delete(h);
    const text = isGrpcWebText(uReq.header.get("content-type"));
    if (text) {
      uReq.header.set("content-type", BINARY_CONTENT_TYPE);
      uReq.body = decodeBase64Stream(uReq.body as AsyncIterable<Uint8Array>);
    }
    handler(uReq)
      .then((uRes) => {
        if (text && uRes.header?.get("content-type") === BINARY_CONTENT_TYPE) {
          uRes.header.set("content-type", TEXT_CONTENT_TYPE);
          uRes.header.delete("content-length");
          if (uRes.body) uRes.body = encodeBase64Stream(uRes.body);
        }
        return universalResponseToNodeResponse(uRes, res);
      })
      .catch((reason: unknown) => {
        if (ConnectError.from(reason).code === Code.Aborted) return;
        console.error(`handler for rpc ${handler.method.name} of ${handler.service.typeName} failed`, reason);
      });
  };
}
