/**
 * Splits a byte stream into lines with a hard bound on each line's size. A script that prints
 * a 2 GB line without a newline must cost the server at most `maxBytes` of memory: the rest of
 * that line is counted and dropped, and the line is delivered truncated when its newline comes.
 */
export type LineHandler = (line: string, truncated: boolean) => void;

const NEWLINE = 0x0a;
const CR = 0x0d;

export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private truncated = false;

  constructor(
    private readonly maxBytes: number,
    private readonly onLine: LineHandler,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl === -1) {
        this.append(chunk.subarray(start));
        return;
      }
      if (this.size === 0 && !this.truncated && nl - start <= this.maxBytes) {
        // The common case: the whole line lies in this chunk. Decode it in place, no copy.
        const end = nl > start && chunk[nl - 1] === CR ? nl - 1 : nl;
        this.onLine(chunk.toString('utf8', start, end), false);
      } else {
        this.append(chunk.subarray(start, nl));
        this.flushLine();
      }
      start = nl + 1;
    }
  }

  /** The stream ended: deliver a last line that had no newline. */
  end(): void {
    if (this.size > 0 || this.truncated) this.flushLine();
  }

  private append(piece: Buffer): void {
    const room = this.maxBytes - this.size;
    if (piece.length > room) this.truncated = true;
    const kept = piece.length > room ? piece.subarray(0, room) : piece;
    if (kept.length === 0) return;
    // Copy: the caller's chunk buffer may be reused by the stream.
    this.parts.push(Buffer.from(kept));
    this.size += kept.length;
  }

  private flushLine(): void {
    let buf = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.size);
    if (buf.length > 0 && buf[buf.length - 1] === CR) buf = buf.subarray(0, buf.length - 1);
    const truncated = this.truncated;
    this.parts = [];
    this.size = 0;
    this.truncated = false;
    this.onLine(buf.toString('utf8'), truncated);
  }
}

/** Cut a string to at most `maxBytes` of UTF-8 without splitting a character. */
export const truncateUtf8 = (text: string, maxBytes: number): { text: string; truncated: boolean } => {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return { text, truncated: false };
  const buf = Buffer.from(text, 'utf8');
  let end = maxBytes;
  // Step back over continuation bytes (10xxxxxx) so the cut lands on a character boundary.
  while (end > 0 && ((buf[end] as number) & 0xc0) === 0x80) end -= 1;
  return { text: buf.subarray(0, end).toString('utf8'), truncated: true };
};
