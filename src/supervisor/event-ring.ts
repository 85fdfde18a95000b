// The supervisor's recent job events, numbered by a sequence that starts at
// 1. Only the newest events are kept: at most `capacity` of them, and at
// most `maxBytes` of them by the size their producer gives (outputs and log
// lines can be large, so a count alone does not bound memory). Sequence
// numbers are contiguous, so the event with a given number is found by
// arithmetic.
export class EventRing<T> {
  private buf: Array<T | undefined> = [];
  private sizes: number[] = [];
  /** Index in buf of the oldest kept event. */
  private start = 0;
  /** Events kept. */
  private count = 0;
  /** Sequence number of the oldest kept event. */
  private first = 1;
  /** Sequence number of the newest event (0 before the first). */
  private last = 0;
  private held = 0;

  constructor(
    private readonly capacity: number,
    private readonly maxBytes = Number.POSITIVE_INFINITY,
  ) {
    if (!(capacity >= 1)) throw new RangeError(`event buffer size must be at least 1, got ${capacity}`);
  }

  /** Appends an event of `bytes` (its share of the byte budget) and returns its sequence number. */
  push(event: T, bytes = 0): number {
    if (this.count === this.capacity) this.dropOldest();
    // The newest event is always kept, even when it alone is over budget.
    while (this.count > 0 && this.held + bytes > this.maxBytes) this.dropOldest();
    if (this.count === this.buf.length) {
      // Grow (below capacity): the kept events first, in order, then room.
      if (this.start !== 0) {
        this.buf = [...this.buf.slice(this.start), ...this.buf.slice(0, this.start)];
        this.sizes = [...this.sizes.slice(this.start), ...this.sizes.slice(0, this.start)];
        this.start = 0;
      }
      this.buf.push(event);
      this.sizes.push(bytes);
    } else {
      const at = (this.start + this.count) % this.buf.length;
      this.buf[at] = event;
      this.sizes[at] = bytes;
    }
    this.count++;
    this.held += bytes;
    if (this.count === 1) this.first = this.last + 1;
    return ++this.last;
  }

  private dropOldest(): void {
    this.held -= this.sizes[this.start]!;
    this.buf[this.start] = undefined;
    this.sizes[this.start] = 0;
    this.start = (this.start + 1) % this.buf.length;
    this.count--;
    this.first++;
  }

  get lastSeq(): number {
    return this.last;
  }

  /** Sequence number of the oldest kept event; lastSeq + 1 when there is none. */
  get oldestSeq(): number {
    return this.count === 0 ? this.last + 1 : this.first;
  }

  get size(): number {
    return this.count;
  }

  /** Sum of the byte sizes of the kept events. */
  get bytes(): number {
    return this.held;
  }

  /** Up to `max` kept events starting at sequence number `from`. */
  slice(from: number, max: number): T[] {
    const begin = Math.max(from, this.oldestSeq);
    const n = Math.max(0, Math.min(max, this.last - begin + 1));
    const out = new Array<T>(n);
    const len = this.buf.length;
    let at = (this.start + (begin - this.first)) % len;
    for (let i = 0; i < n; i++) {
      out[i] = this.buf[at]!;
      at = at + 1 === len ? 0 : at + 1;
    }
    return out;
  }
}
