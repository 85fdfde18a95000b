// The JSON-RPC 2.0 bridge: decodes a request's params as the proto3 JSON of
// the method's request message, checks them with the same validator as the
// Connect interceptor, calls the one service implementation, and encodes the
// response message as proto3 JSON. Transport-free: http.ts and ws.ts feed it.
import type { LargeRequestOffload } from "../large-requests.js";
import { create, fromJson, toJson, type DescMessage, type DescService, type JsonValue, type MessageShape } from "@bufbuild/protobuf";
import { createHandlerContext, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { RequestValidation } from "../validation.js";
import { INVALID_PARAMS, INVALID_REQUEST, JsonRpcError, METHOD_NOT_FOUND, PARSE_ERROR, toJsonRpcError, type JsonRpcErrorObject } from "./errors.js";
import { bridgeMethods, mergeable, SEED_NAMES, type BridgeMethod } from "./methods.js";

export { mergeable };
import { buildOpenRpcDocument, openRpcServers, type OpenRpcInfo } from "./openrpc.js";

export interface JsonRpcBridgeOptions {
  /** The service descriptor that names the methods and their messages. */
  service: DescService;
  /** Its one implementation: the same object the Connect routes serve. */
  impl: ServiceImpl<DescService>;
  /** The request validation the Connect interceptor uses. */
  validation: RequestValidation;
  /** Method names that differ from snake_case (default: the seed's, see methods.ts). */
  names?: Readonly<Record<string, string>>;
  /** Title and version shown by rpc.discover. */
  info: OpenRpcInfo;
  /** Aborted when the server shuts down: open streams end with UNAVAILABLE. */
  shutdown?: AbortSignal;
  /** Most requests in one batch (default 100): a bigger batch is an invalid request. */
  maxBatch?: number;
  /** Checks the caller may call a method (service "jsonrpc" for rpc.discover), before its params are read; throws to refuse. */
  authorize?: (service: string, method: string, call: CallInfo) => void;
  /**
   * Where large requests of some methods are decoded and checked (a worker
   * pool, as for Connect): a request text of at least its minBytes hands
   * those methods' params to it instead of decoding them here.
   */
  offload?: LargeRequestOffload;
}

export type JsonRpcId = string | number | null;

export interface JsonRpcResponse {
  jsonrpc: "2.0";
  id: JsonRpcId;
  result?: unknown;
  error?: JsonRpcErrorObject;
}

/** Where a call came from, passed to handlers as their context. */
export interface CallInfo {
  /** "jsonrpc-http" or "jsonrpc-ws" (HandlerContext.protocolName). */
  protocol: string;
  url: string;
  /** Where the client reached the server, e.g. "http://127.0.0.1:9090" (request-origin.ts); rpc.discover's servers use it. */
  origin?: string;
  headers: Headers;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /**
   * Set by transports that can push: called instead of running a streaming
   * method to completion; its return value is the call's result. `open`
   * starts the stream, ended when `signal` aborts (an unsubscribe).
   */
  subscribe?: (method: BridgeMethod, open: (signal: AbortSignal) => AsyncIterable<JsonValue>) => unknown;
  /** The request text was at least the offload's minBytes long (set by handleText). */
  large?: boolean;
}

export interface JsonRpcBridge {
  readonly methods: ReadonlyMap<string, BridgeMethod>;
  /** Answers a request text: undefined when there is nothing to send (only notifications). */
  handleText(text: string, call: CallInfo): Promise<JsonRpcResponse | JsonRpcResponse[] | undefined>;
  /** Answers a parsed request, notification or batch. */
  handle(message: unknown, call: CallInfo): Promise<JsonRpcResponse | JsonRpcResponse[] | undefined>;
  /** The OpenRPC document (also the result of rpc.discover), its servers at `origin` (default "http://localhost"). */
  document(origin?: string): Record<string, unknown>;
}

// Results include fields at their defaults (false, 0, ""): JSON-RPC clients
// rarely know proto3's omission rule, and it is still valid proto3 JSON.
const JSON_WRITE = { alwaysEmitImplicit: true } as const;

function isId(v: unknown): v is JsonRpcId {
  return v === null || typeof v === "string" || (typeof v === "number" && Number.isFinite(v));
}

function errorResponse(id: JsonRpcId, error: JsonRpcErrorObject): JsonRpcResponse {
  return { jsonrpc: "2.0", id, error };
}

/** Params by name, as the proto3 JSON of `schema`; anything else is invalid params naming the problem. */
export function decodeParams<Desc extends DescMessage>(schema: Desc, params: unknown): MessageShape<Desc> {
  if (params === undefined || params === null) return create(schema);
  if (Array.isArray(params) || typeof params !== "object") {
    throw new JsonRpcError(INVALID_PARAMS, "params must be an object (by name): the proto3 JSON of " + schema.typeName, {
      expected: schema.typeName,
    });
  }
  try {
    return fromJson(schema, params as JsonValue);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new JsonRpcError(INVALID_PARAMS, `invalid params: ${message}`, { expected: schema.typeName, ...culprit(schema, params as Record<string, JsonValue>) });
  }
}

/**
 * Which param broke decoding: protobuf-es does not always say (a bad enum
 * name inside a list does not), so each param is decoded on its own.
 */
function culprit(schema: DescMessage, params: Record<string, JsonValue>): { field?: string } {
  for (const [key, value] of Object.entries(params)) {
    try {
      fromJson(schema, { [key]: value });
    } catch {
      const f = schema.fields.find((x) => x.jsonName === key || x.name === key);
      return { field: f?.name ?? key };
    }
  }
  return {};
}

export function createJsonRpcBridge(options: JsonRpcBridgeOptions): JsonRpcBridge {
  const { service, impl, validation, shutdown } = options;
  const methods = bridgeMethods(service, options.names ?? SEED_NAMES);
  const maxBatch = options.maxBatch ?? 100;
  let doc: Record<string, unknown> | undefined;
  // Built once; only the servers differ between callers (the Host they used).
  const document = (origin?: string) => {
    doc ??= buildOpenRpcDocument({ service, methods, info: options.info });
    return origin ? { ...doc, servers: openRpcServers(origin) } : doc;
  };

  function context(m: BridgeMethod, call: CallInfo): HandlerContext {
    return createHandlerContext({
      service,
      method: m.method,
      protocolName: call.protocol,
      requestMethod: "POST",
      url: call.url,
      requestSignal: call.signal,
      ...(shutdown ? { shutdownSignal: shutdown } : {}),
      requestHeader: call.headers,
    });
  }

  function implOf(m: BridgeMethod): (req: unknown, ctx: HandlerContext) => unknown {
    const fn = (impl as Record<string, unknown>)[m.method.localName];
    if (typeof fn !== "function") throw new JsonRpcError(METHOD_NOT_FOUND, `method "${m.name}" is not implemented`);
    return fn.bind(impl) as (req: unknown, ctx: HandlerContext) => unknown;
  }

  async function* streamJson(m: BridgeMethod, input: unknown, call: CallInfo): AsyncIterable<JsonValue> {
    const out = m.method.output;
    for await (const msg of implOf(m)(input, context(m, call)) as AsyncIterable<MessageShape<DescMessage>>) {
      yield toJson(out, create(out, msg), JSON_WRITE);
    }
  }

  async function invoke(name: string, params: unknown, call: CallInfo): Promise<unknown> {
    if (name === "rpc.discover") {
      options.authorize?.("jsonrpc", name, call);
      return document(call.origin);
    }
    const m = methods.get(name);
    if (!m) {
      throw new JsonRpcError(METHOD_NOT_FOUND, `method "${name}" not found`, { method: name, available: ["rpc.discover", ...methods.keys()] });
    }
    options.authorize?.(service.typeName, m.method.name, call);
    const offload = options.offload;
    if (call.large && offload?.handles(m.method) && params !== null && typeof params === "object" && !Array.isArray(params)) {
      // The method reads the worker's result from the context; the params it gets lack the definition.
      const ctx = context(m, call);
      const small = await offload.decode(m.method, { format: "json", enveloped: false }, new TextEncoder().encode(JSON.stringify(params)), ctx.values);
      const input = decodeParams(m.method.input, JSON.parse(new TextDecoder().decode(small)));
      validation.check(m.method.input, input);
      const res = await implOf(m)(input, ctx);
      return toJson(m.method.output, create(m.method.output, res as MessageShape<DescMessage>), JSON_WRITE);
    }
    const input = decodeParams(m.method.input, params);
    validation.check(m.method.input, input);
    const out = m.method.output;
    if (!m.streaming) {
      const res = await implOf(m)(input, context(m, call));
      return toJson(out, create(out, res as MessageShape<DescMessage>), JSON_WRITE);
    }
    if (call.subscribe) return call.subscribe(m, (signal) => streamJson(m, input, { ...call, signal }));
    const all: MessageShape<DescMessage>[] = [];
    for await (const msg of implOf(m)(input, context(m, call)) as AsyncIterable<MessageShape<DescMessage>>) all.push(create(out, msg));
    if (mergeable(out)) {
      const merged = create(out) as Record<string, unknown>;
      for (const f of out.fields) merged[f.localName] = all.flatMap((x) => (x as unknown as Record<string, unknown[]>)[f.localName]!);
      return toJson(out, merged as MessageShape<DescMessage>, JSON_WRITE);
    }
    return all.map((x) => toJson(out, x, JSON_WRITE));
  }

  /** One request object: undefined for a notification. */
  async function one(req: unknown, call: CallInfo): Promise<JsonRpcResponse | undefined> {
    if (req === null || typeof req !== "object" || Array.isArray(req)) {
      return errorResponse(null, { code: INVALID_REQUEST, message: "invalid request: expected a JSON-RPC 2.0 request object" });
    }
    const r = req as Record<string, unknown>;
    const hasId = "id" in r;
    const id = hasId && isId(r.id) ? r.id : null;
    const problems: string[] = [];
    if (r.jsonrpc !== "2.0") problems.push('"jsonrpc" must be "2.0"');
    if (typeof r.method !== "string") problems.push('"method" must be a string');
    if (hasId && !isId(r.id)) problems.push('"id" must be a string, a number or null');
    if (r.params !== undefined && (r.params === null || typeof r.params !== "object")) problems.push('"params" must be an object or an array');
    if (problems.length > 0) {
      return errorResponse(id, { code: INVALID_REQUEST, message: `invalid request: ${problems.join("; ")}`, data: { problems } });
    }
    try {
      const result = await invoke(r.method as string, r.params, call);
      return hasId ? { jsonrpc: "2.0", id, result } : undefined;
    } catch (err) {
      // Notifications get no answer, errors included (JSON-RPC 2.0, section 4.1).
      return hasId ? errorResponse(id, toJsonRpcError(err)) : undefined;
    }
  }

  async function handle(message: unknown, call: CallInfo): Promise<JsonRpcResponse | JsonRpcResponse[] | undefined> {
    if (!Array.isArray(message)) return one(message, call);
    if (message.length === 0) return errorResponse(null, { code: INVALID_REQUEST, message: "invalid request: empty batch" });
    if (message.length > maxBatch) {
      return errorResponse(null, { code: INVALID_REQUEST, message: `invalid request: a batch holds at most ${maxBatch} requests`, data: { max: maxBatch } });
    }
    const answers = (await Promise.all(message.map((m) => one(m, call)))).filter((a): a is JsonRpcResponse => a !== undefined);
    return answers.length > 0 ? answers : undefined;
  }

  return {
    methods,
    handle,
    document,
    async handleText(text, call) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        return errorResponse(null, { code: PARSE_ERROR, message: "parse error: the request is not valid JSON", data: { detail: (err as Error).message } });
      }
      return handle(parsed, options.offload && text.length >= options.offload.minBytes ? { ...call, large: true } : call);
    },
  };
}
