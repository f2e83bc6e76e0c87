/**
 * Incremental parser for `text/event-stream` (WHATWG HTML §9.2.6), enough for task event
 * streams: `id`, `event`, `data` (multi-line joined with \n), `retry`, comments. A message
 * is only dispatched at its terminating blank line, so a connection that drops mid-message
 * never yields a half event: the follower resumes from the last complete one.
 */

export interface SseMessage {
  id: string | undefined;
  event: string;
  data: string;
  retry: number | undefined;
}

export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private id: string | undefined;
  private retry: number | undefined;
  private sawField = false;

  /** Feed decoded text; returns the messages completed by it. */
  push(text: string): SseMessage[] {
    this.buffer += text;
    const out: SseMessage[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      if (!m) break;
      // A lone \r at the end may be the first half of \r\n: wait for the next chunk.
      if (m[0] === '\r' && m.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      const msg = this.line(line);
      if (msg) out.push(msg);
    }
    return out;
  }

  private line(line: string): SseMessage | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined; // comment / keep-alive
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    this.sawField = true;
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value);
    return undefined;
  }

  private dispatch(): SseMessage | undefined {
    const msg: SseMessage | undefined = this.sawField && this.data.length
      ? { id: this.id, event: this.event || 'message', data: this.data.join('\n'), retry: this.retry }
      : undefined;
    // `id` persists across messages per spec (it is the stream's last event id); the rest resets.
    this.data = [];
    this.event = '';
    this.retry = undefined;
    this.sawField = false;
    return msg;
  }
}
