export { createJsRunner, type JsRunnerOptions } from "./runner.js";
