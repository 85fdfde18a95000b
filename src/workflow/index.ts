export * from "./definition.js";
export * from "./duration.js";
export * from "./parse.js";
export * from "./plan.js";
export * from "./inputs.js";
