// The workflow inputs a supervisor keeps so that jobs can leave them out
// (Job.inputs_omitted): a for_each over an input list of n items would
// otherwise carry the list n times, n² bytes in all. Bounded by entries and
// bytes; the least recently used entry goes first, but never one of a
// workflow whose jobs the supervisor still holds (queued or running), since
// its next jobs are the likeliest to leave the inputs out. A job whose
// inputs are gone is refused, never run with empty inputs.
import type { JsonMap } from "../common/json.js";

interface Entry {
  inputs: JsonMap;
  bytes: number;
  /** Jobs of the workflow held now. */
  held: number;
}

export class InputsCache {
  /** Least recently used first (Map order). */
  private entries = new Map<string, Entry>();
  private held = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Bytes (JSON) of the inputs kept. */
  get bytes(): number {
    return this.held;
  }

  has(workflowId: string): boolean {
    return this.entries.has(workflowId);
  }

  /** Keeps a workflow's inputs, unless kept already (a workflow's inputs never change). */
  put(workflowId: string, inputs: JsonMap, bytes: number): void {
    if (this.touch(workflowId)) return;
    this.entries.set(workflowId, { inputs, bytes, held: 0 });
    this.held += bytes;
    // Not the new entry itself: the job that brought it is about to hold it.
    this.evict(workflowId);
  }

  /** The kept inputs, marked as just used; undefined when not kept. */
  get(workflowId: string): JsonMap | undefined {
    return this.touch(workflowId)?.inputs;
  }

  /** A job of the workflow is held: its entry is not evicted meanwhile. */
  hold(workflowId: string): void {
    const e = this.entries.get(workflowId);
    if (e) e.held++;
  }

  /** A held job finished. */
  release(workflowId: string): void {
    const e = this.entries.get(workflowId);
    if (!e || e.held === 0) return;
    e.held--;
    if (e.held === 0) this.evict();
  }

  private touch(workflowId: string): Entry | undefined {
    const e = this.entries.get(workflowId);
    if (!e) return undefined;
    this.entries.delete(workflowId);
    this.entries.set(workflowId, e);
    return e;
  }

  private evict(spare?: string): void {
    if (this.entries.size <= this.maxEntries && this.held <= this.maxBytes) return;
    for (const [id, e] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.held <= this.maxBytes) return;
      if (e.held > 0 || id === spare) continue;
      this.entries.delete(id);
      this.held -= e.bytes;
    }
  }
}
