// gRPC-web text mode (`application/grpc-web-text`): the same frames as
// binary gRPC-web, base64-encoded in both directions. It is the default of
// Google's grpc-web client and the only mode in which it can stream server
// responses; @connectrpc/connect answers it 415, so rpc-adapter.ts decodes
// the request body, hands Connect a binary gRPC-web request, and encodes the
// response back. The codec here is pure: bytes in, bytes out.
import { Code, ConnectError } from "@connectrpc/connect";

const TEXT = /^application\/grpc-web-text(\+proto)?(;.*)?$/i;

/** Whether a request's content type is gRPC-web text. */
export function isGrpcWebText(contentType: string | null | undefined): boolean {
  return !!contentType && TEXT.test(contentType.trim());
}

/** The binary content type Connect serves for a text one (the frames inside are protobuf). */
export const BINARY_CONTENT_TYPE = "application/grpc-web+proto";
/** The content type of a text response (what Google's client expects back). */
export const TEXT_CONTENT_TYPE = "application/grpc-web-text+proto";

const ALPHABET = /^[A-Za-z0-9+/]*$/;

/**
 * A streaming base64 decoder. The spec lets a sender flush padded chunks at
 * any point ("AAA=AAAA" is two chunks), and the transport may split the text
 * anywhere, so it decodes whole 4-character groups and keeps the rest for the
 * next push. Whitespace is ignored; any other character outside the alphabet
 * is INVALID_ARGUMENT rather than silently dropped, as Buffer would.
 */
export interface Base64Decoder {
  /** Decodes what can be decoded of `text` so far. */
  push(text: string): Uint8Array;
  /** Ends the stream: throws when characters are left that do not make a group. */
  end(): void;
}

export function createBase64Decoder(): Base64Decoder {
  let rest = "";
  return {
    push(text) {
      const s = rest + text.replace(/\s+/g, "");
      const whole = s.length - (s.length % 4);
      rest = s.slice(whole);
      const parts: Buffer[] = [];
      for (let i = 0; i < whole; ) {
        // Decode runs of unpadded groups at once; a padded group ends a run.
        const pad = s.indexOf("=", i);
        const end = pad === -1 || pad >= whole ? whole : pad - (pad % 4) + 4;
        const run = s.slice(i, end);
        const body = run.replace(/={1,2}$/, "");
        if (!ALPHABET.test(body)) {
          throw new ConnectError("grpc-web-text: the request body is not base64", Code.InvalidArgument);
        }
        parts.push(Buffer.from(run, "base64"));
        i = end;
      }
      return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    },
    end() {
      if (rest.length > 0) throw new ConnectError("grpc-web-text: the request body ends inside a base64 group", Code.InvalidArgument);
    },
  };
}

/** Decodes a base64 byte stream (a request body) into the bytes it carries. */
export async function* decodeBase64Stream(chunks: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  const decoder = createBase64Decoder();
  for await (const chunk of chunks) {
    const bytes = decoder.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("latin1"));
    if (bytes.length > 0) yield bytes;
  }
  decoder.end();
}

/**
 * Encodes a response body: each chunk Connect writes is one whole frame (a
 * message or the trailers) and is encoded on its own, padded, and flushed at
 * once, so a streaming client can decode every message as it arrives.
 */
export async function* encodeBase64Stream(chunks: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  for await (const chunk of chunks) {
    if (chunk.length === 0) continue;
    yield Buffer.from(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("base64"), "latin1");
  }
}
