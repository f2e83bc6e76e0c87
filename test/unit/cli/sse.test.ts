import { describe, expect, it } from 'vitest';
import { SseParser } from '../../../src/cli/sse.ts';

describe('SseParser', () => {
  it('parses id/event/data, joins multi-line data, skips comments', () => {
    const p = new SseParser();
    const msgs = p.push(': keep-alive\n\nid: 7\nevent: progress\ndata: {"a":\ndata: 1}\n\n');
    expect(msgs).toEqual([{ id: '7', event: 'progress', data: '{"a":\n1}', retry: undefined }]);
  });

  it('handles chunks split anywhere, including inside \\r\\n', () => {
    const text = 'id: 1\r\nevent: log\r\ndata: x\r\n\r\nid: 2\rdata: y\r\n\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const p = new SseParser();
      const msgs = [...p.push(text.slice(0, cut)), ...p.push(text.slice(cut))];
      expect(msgs.map((m) => [m.id, m.event, m.data]), `cut at ${cut}`).toEqual([
        ['1', 'log', 'x'],
        ['2', 'message', 'y'],
      ]);
    }
  });

  it('never yields a message cut off before its blank line', () => {
    const p = new SseParser();
    expect(p.push('id: 1\ndata: {"seq":1}\n\nid: 2\ndata: {"se')).toHaveLength(1);
  });

  it('reads retry and keeps the last id for messages without one', () => {
    const p = new SseParser();
    expect(p.push('retry: 1500\nid: 3\ndata: a\n\ndata: b\n\n')).toEqual([
      { id: '3', event: 'message', data: 'a', retry: 1500 },
      { id: '3', event: 'message', data: 'b', retry: undefined },
    ]);
  });
});
