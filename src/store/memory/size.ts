// Rough byte counts of what the memory store holds, for its byte budget.
//
// An estimate, not a measurement: V8 does not tell what one object graph
// costs. Strings count their length (V8 keeps ASCII text at a byte a
// character; other text costs twice that, which the estimate ignores),
// numbers 8 bytes, and every object, array, record, event and log line a
// fixed overhead for its header, its fields and its slot in the lists that
// hold it. What makes a store grow without bound is big outputs, payloads
// and log lines, and those are counted by their size; the fixed overheads
// only keep many small things from counting as nothing.
import type { JsonValue } from "../../common/json.js";
import type { DomainEvent, StepRecord, WorkflowRecord } from "../../engine/model.js";
import type { StepDefinition, WorkflowDefinition } from "../../workflow/definition.js";
import type { LogRecord } from "../store.js";

/** Header and slots of an object or array. */
const OBJECT = 32;
/** A step record with its usual fields (no output). */
const STEP = 160;
/** One attempt of a step. */
const ATTEMPT = 120;
/** An event with its usual fields (no output). */
const EVENT = 120;
/** A log line's record and cursor (besides its text). */
const LOG = 96;
/** A workflow record's own fields and its entry in the store's maps. */
const WORKFLOW = 512;

/**
 * Estimated bytes of a JSON value. Iterative, so a deep value cannot
 * overflow the stack; linear in the value's size, like storing it was.
 */
export function jsonBytes(value: JsonValue | undefined): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === "string") return value.length + 16;
  if (typeof value !== "object") return 8;
  let total = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string") total += v.length + 16;
    else if (v === null || typeof v !== "object") total += 8;
    else if (Array.isArray(v)) {
      total += OBJECT + 8 * v.length;
      for (let i = 0; i < v.length; i++) stack.push(v[i]);
    } else {
      for (const k in v) {
        total += k.length + 24;
        stack.push((v as Record<string, unknown>)[k]);
      }
      total += OBJECT;
    }
  }
  return total;
}

function textBytes(s: string | undefined): number {
  return s === undefined ? 0 : s.length;
}

function stepDefinitionBytes(s: StepDefinition): number {
  let n = STEP + textBytes(s.id) + textBytes(s.runner) + textBytes(s.payload) + textBytes(s.when) + textBytes(s.forEach);
  for (const d of s.dependsOn) n += d.length + 16;
  if (s.workflow && "inline" in s.workflow) n += definitionBytes(s.workflow.inline);
  return n;
}

/** A definition: its steps (payloads, expressions, dependencies) and inline children. */
export function definitionBytes(def: WorkflowDefinition): number {
  let n = OBJECT + def.name.length;
  for (const s of def.steps) n += stepDefinitionBytes(s);
  for (const s of def.onFailure ?? []) n += stepDefinitionBytes(s);
  return n;
}

/** A step record: its output, list item, error and attempts. */
export function stepBytes(s: StepRecord): number {
  let n = STEP + s.id.length + jsonBytes(s.output) + jsonBytes(s.item) + textBytes(s.error?.message) + textBytes(s.waitingReason);
  for (const a of s.attempts) n += ATTEMPT + textBytes(a.error?.message);
  return n;
}

/** A whole workflow record as created: definition, inputs and step records. */
export function recordBytes(r: WorkflowRecord): number {
  let n = WORKFLOW + definitionBytes(r.definition) + jsonBytes(r.inputs) + 8 * r.levels.length;
  for (const s of r.steps) n += stepBytes(s);
  return n;
}

/**
 * An event. `sharedOutput` is true when the same output object is held by a
 * step record too (the usual case: the event announcing a success carries
 * the step's output), so it is not counted twice.
 */
export function eventBytes(e: DomainEvent, sharedOutput: boolean): number {
  if (e.kind === "workflow") return EVENT + textBytes(e.error);
  return EVENT + e.stepId.length + (sharedOutput ? 0 : jsonBytes(e.output)) + textBytes(e.error?.message) + textBytes(e.waitingReason);
}

export function logBytes(l: LogRecord): number {
  return LOG + l.line.length + l.stepId.length;
}
