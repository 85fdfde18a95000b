// gRPC server reflection (grpc.reflection.v1 and the older v1alpha that
// grpcurl and some tools still ask for first), answered from the descriptors
// embedded in the generated code: the same descriptors the server decodes
// requests with, so what tools see can never drift from what is served.
import { toBinary, type DescFile, type DescService } from "@bufbuild/protobuf";
import { nestedTypes } from "@bufbuild/protobuf/reflect";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { ServerReflection as ReflectionV1, type ServerReflectionRequest } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

export interface ReflectionOptions {
  /** The services to list (reflection itself is added). */
  services: DescService[];
}

export { ReflectionV1, ReflectionV1alpha };


// gRPC status codes used in ErrorResponse (the reflection protocol reports
// lookup failures in-band instead of ending the stream).
const NOT_FOUND = 5;
const INVALID_ARGUMENT = 3;

/** The index shared by both versions: files by name, the file defining each symbol, extensions by extendee. */
function buildIndex(services: DescService[]) {
  const files = new Map<string, DescFile>();
  const bySymbol = new Map<string, DescFile>();
  const extensions = new Map<string, Map<number, DescFile>>();
  const add = (file: DescFile) => {
    if (files.has(file.name + ".proto")) return;
    files.set(file.name + ".proto", file);
    for (const dep of file.dependencies) add(dep);
    for (const t of nestedTypes(file)) {
      bySymbol.set(t.typeName, file);
      if (t.kind === "service") for (const m of t.methods) bySymbol.set(`${t.typeName}.${m.name}`, file);
      if (t.kind === "extension") {
        const numbers = extensions.get(t.extendee.typeName) ?? new Map<number, DescFile>();
        numbers.set(t.number, file);
        extensions.set(t.extendee.typeName, numbers);
      }
    }
  };
  for (const s of services) add(s.file);
  return { files, bySymbol, extensions };
}

/** The file and everything it imports, dependencies first, each once (clients cache by name). */
function withDependencies(file: DescFile): Uint8Array[] {
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  const visit = (f: DescFile) => {
    if (seen.has(f.name)) return;
    seen.add(f.name);
    for (const d of f.dependencies) visit(d);
    out.push(toBinary(FileDescriptorProtoSchema, f.proto));
  };
  visit(file);
  return out.reverse(); // the requested file first, as grpc-go does
}

function createAnswer(services: DescService[]) {
  const listed = [...services, ReflectionV1, ReflectionV1alpha];
  const index = buildIndex(listed);
  const notFound = (what: string) => ({ case: "errorResponse" as const, value: { errorCode: NOT_FOUND, errorMessage: `${what} not found` } });
  const fileResponse = (file: DescFile | undefined, what: string) =>
    file ? { case: "fileDescriptorResponse" as const, value: { fileDescriptorProto: withDependencies(file) } } : notFound(what);

  return (req: ServerReflectionRequest) => {
    const r = req.messageRequest;
    const messageResponse = (() => {
      switch (r.case) {
        case "listServices":
          return { case: "listServicesResponse" as const, value: { service: listed.map((s) => ({ name: s.typeName })) } };
        case "fileByFilename":
          return fileResponse(index.files.get(r.value), `file "${r.value}"`);
        case "fileContainingSymbol":
          return fileResponse(index.bySymbol.get(r.value), `symbol "${r.value}"`);
        case "fileContainingExtension": {
          const { containingType, extensionNumber } = r.value;
          return fileResponse(index.extensions.get(containingType)?.get(extensionNumber), `extension ${extensionNumber} of "${containingType}"`);
        }
        case "allExtensionNumbersOfType": {
          const type = r.value;
          if (!index.bySymbol.has(type)) return notFound(`type "${type}"`);
          return {
            case: "allExtensionNumbersResponse" as const,
            value: { baseTypeName: type, extensionNumber: [...(index.extensions.get(type)?.keys() ?? [])] },
          };
        }
        default:
          return { case: "errorResponse" as const, value: { errorCode: INVALID_ARGUMENT, errorMessage: "empty reflection request" } };
      }
    })();
    return { validHost: req.host, originalRequest: req, messageResponse };
  };
}

/** The v1 and v1alpha reflection services for `options.services`. */
export function createReflectionServices(options: ReflectionOptions): {
  v1: ServiceImpl<typeof ReflectionV1>;
  v1alpha: ServiceImpl<typeof ReflectionV1alpha>;
} {
  const answer = createAnswer(options.services);
  return {
    v1: {
      async *serverReflectionInfo(requests) {
        for await (const req of requests) yield answer(req);
      },
    },
    v1alpha: {
      async *serverReflectionInfo(requests) {
        // Same fields, other package: the messages are interchangeable.
        for await (const req of requests) yield answer(req as unknown as ServerReflectionRequest) as never;
      },
    },
  };
}
