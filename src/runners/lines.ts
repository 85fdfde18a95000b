// Splits a byte stream into text lines for job logs. Decoding is
// incremental so a multi-byte character cut across chunks stays intact.
import { StringDecoder } from "node:string_decoder";

export class LineSplitter {
  private readonly decoder = new StringDecoder("utf8");
  private partial = "";

  /**
   * @param emit receives each complete line, without "\n" or "\r\n"
   * @param maxLineChars a line longer than this is emitted in pieces, so a
   *   stream without newlines cannot grow the buffer without bound
   */
  constructor(
    private readonly emit: (line: string) => void,
    private readonly maxLineChars = 64 * 1024,
  ) {}

  push(chunk: Buffer): void {
    let text = this.partial + this.decoder.write(chunk);
    let start = 0;
    for (;;) {
      const nl = text.indexOf("\n", start);
      if (nl < 0) break;
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      this.emit(text.slice(start, end));
      start = nl + 1;
    }
    text = start === 0 ? text : text.slice(start);
    while (text.length > this.maxLineChars) {
      this.emit(text.slice(0, this.maxLineChars));
      text = text.slice(this.maxLineChars);
    }
    this.partial = text;
  }

  /** Emits the unterminated last line, if any. */
  end(): void {
    const rest = this.partial + this.decoder.end();
    this.partial = "";
    if (rest !== "") this.emit(rest.endsWith("\r") ? rest.slice(0, -1) : rest);
  }
}
