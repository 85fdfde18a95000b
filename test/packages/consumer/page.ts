// The scratch project's page (bundled by esbuild from the installed
// horus-client-web): exposes the web README's example to the test.
import { example } from "./web-example.js";

Object.assign(globalThis, {
  runExample: (baseUrl: string, protocol: "connect" | "grpc-web") => example(baseUrl, () => undefined, protocol),
});
