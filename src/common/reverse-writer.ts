// A protobuf binary writer that fills its buffer from the end. A message's
// content is written before its length and tag, so every length is known
// when it is written and no byte is ever copied twice (apart from the
// buffer's own doubling). protobuf-es writes each nested message into a
// fork of its writer and copies the fork's bytes into its parent on join,
// which costs O(depth x size) for deep messages; this costs O(size).
// Callers write a message's fields last to first.

export class ReverseWriter {
  private buf: Buffer;
  /** Where the written bytes start: they are buf[pos .. buf.length). */
  private pos: number;

  constructor(initial: number) {
    this.buf = Buffer.allocUnsafe(initial);
    this.pos = initial;
  }

  /** Bytes written so far; a stable measure across growth (lengths are differences of it). */
  get written(): number {
    return this.buf.length - this.pos;
  }

  private room(n: number): void {
    if (this.pos >= n) return;
    const size = Math.max(this.buf.length * 2, this.written + n);
    const next = Buffer.allocUnsafe(size);
    const start = size - this.written;
    this.buf.copy(next, start, this.pos);
    this.buf = next;
    this.pos = start;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[--this.pos] = b;
  }

  /** An unsigned varint of any safe integer (int64 fields such as a Timestamp's seconds). */
  varint53(v: number): void {
    if (v <= 0xffffffff) return this.varint(v);
    const bytes: number[] = [];
    while (v > 0x7f) {
      bytes.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    bytes.push(v);
    this.room(bytes.length);
    for (let i = bytes.length - 1; i >= 0; i--) this.buf[--this.pos] = bytes[i]!;
  }

  /** An unsigned varint below 2^32 (lengths, tags, enums, non-negative int32s). */
  varint(v: number): void {
    let n = 1;
    for (let x = v >>> 7; x > 0; x >>>= 7) n++;
    this.room(n);
    this.pos -= n;
    let at = this.pos;
    while (v > 0x7f) {
      this.buf[at++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[at] = v;
  }

  double(d: number): void {
    this.room(8);
    this.pos -= 8;
    this.buf.writeDoubleLE(d, this.pos);
  }

  /** UTF-8 bytes of `s` (lone surrogates as U+FFFD, as TextEncoder writes them); their count. */
  string(s: string): number {
    // Short ASCII strings (ids, cursors, states' names) are most of what is
    // written, and copying their bytes here is several times cheaper than a
    // call into Buffer's native UTF-8 code.
    const len = s.length;
    if (len <= 64) {
      this.room(len);
      const end = this.pos;
      let at = end - len;
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        this.buf[at++] = c;
      }
      if (i === len) {
        this.pos = end - len;
        return len;
      }
    }
    const n = Buffer.byteLength(s, "utf8");
    this.room(n);
    this.pos -= n;
    this.buf.write(s, this.pos, n, "utf8");
    return n;
  }

  /** `b` as it is (bytes encoded once and written many times); their count. */
  raw(b: Uint8Array): number {
    this.room(b.length);
    this.pos -= b.length;
    this.buf.set(b, this.pos);
    return b.length;
  }

  bytes(): Uint8Array {
    return this.buf.subarray(this.pos);
  }
}
