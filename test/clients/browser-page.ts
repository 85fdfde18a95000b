// Bundled by esbuild for the browser test: exposes the web client's README
// example to the page, recording what it shows.
import { example } from "../../clients/web/example.js";

const shown: string[] = [];
Object.assign(globalThis, {
  shown,
  runExample: (baseUrl: string, protocol: "connect" | "grpc-web") => example(baseUrl, (line) => shown.push(line), protocol),
});
