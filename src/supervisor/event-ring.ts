// The supervisor's recent job events, numbered by a sequence that starts at
// 1. Only the newest `capacity` events are kept; sequence numbers are
// contiguous, so the event with a given number is found by arithmetic.
export class EventRing<T> {
  private buf: T[] = [];
  /** Index in buf of the oldest kept event (moves once the ring is full). */
  private start = 0;
  /** Sequence number of the oldest kept event. */
  private first = 1;
  /** Sequence number of the newest event (0 before the first). */
  private last = 0;

  constructor(private readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`event buffer size must be at least 1, got ${capacity}`);
  }

  /** Appends an event and returns its sequence number. */
  push(event: T): number {
    if (this.buf.length < this.capacity) {
      this.buf.push(event);
    } else {
      this.buf[this.start] = event;
      this.start = (this.start + 1) % this.capacity;
      this.first++;
    }
    return ++this.last;
  }

  get lastSeq(): number {
    return this.last;
  }

  /** Sequence number of the oldest kept event; lastSeq + 1 when there is none. */
  get oldestSeq(): number {
    return this.buf.length === 0 ? this.last + 1 : this.first;
  }

  get size(): number {
    return this.buf.length;
  }

  /** Up to `max` kept events starting at sequence number `from`. */
  slice(from: number, max: number): T[] {
    const begin = Math.max(from, this.oldestSeq);
    const n = Math.max(0, Math.min(max, this.last - begin + 1));
    const out = new Array<T>(n);
    let at = (this.start + (begin - this.first)) % this.capacity;
    for (let i = 0; i < n; i++) {
      out[i] = this.buf[at]!;
      at = at + 1 === this.capacity ? 0 : at + 1;
    }
    return out;
  }
}
