/**
 * The frame channel's message framing (runtimes/serving/protocol.mjs): a byte stream cut
 * anywhere still yields each message whole and in order, several messages in one chunk all
 * come out, and a stream that is not this protocol is refused rather than read as a huge message.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { KIND, MessageReader, writeMessage, type ChannelMessage } from '../../../runtimes/serving/protocol.mjs';

/** The bytes writeMessage puts on a socket. */
const wire = (id: number, kind: number, body: Buffer): Buffer => {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  writeMessage(out as never, id, kind, body);
  return Buffer.concat(chunks);
};

describe('frame channel messages', () => {
  it('reads messages cut at every byte and several in one chunk', () => {
    const bodies = [Buffer.from('first'), Buffer.alloc(0), Buffer.from('x'.repeat(1000))];
    const stream = Buffer.concat(bodies.map((b, i) => wire(i + 1, i === 1 ? KIND.REJECTED : KIND.OK, b)));
    for (const cut of [1, 7, 16, 17, 500, stream.length]) {
      const got: ChannelMessage[] = [];
      const reader = new MessageReader((m) => got.push({ ...m, body: Buffer.from(m.body) }));
      for (let at = 0; at < stream.length; at += cut) reader.push(stream.subarray(at, at + cut));
      expect(got.map((m) => [m.id, m.kind, m.body.toString()])).toEqual([
        [1, KIND.OK, 'first'],
        [2, KIND.REJECTED, ''],
        [3, KIND.OK, 'x'.repeat(1000)],
      ]);
    }
  });

  it('refuses a stream that is not lakeray-frames (an HTTP request, say)', () => {
    const reader = new MessageReader(() => undefined);
    expect(() => reader.push(Buffer.from('POST /infer HTTP/1.1\r\nhost: x\r\n\r\n'))).toThrow(/not a lakeray-frames message/);
  });
});
