import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../../src/executors/local/line-splitter.ts';

const split = (chunks: Array<string | Buffer>, maxBytes = 1024): Array<[string, boolean]> => {
  const lines: Array<[string, boolean]> = [];
  const splitter = new LineSplitter(maxBytes, (line, truncated) => lines.push([line, truncated]));
  for (const chunk of chunks) splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  splitter.end();
  return lines;
};

describe('line splitter', () => {
  it('splits many lines in one chunk and lines across chunks, dropping a CR before the newline', () => {
    expect(split(['a\nbb\r\n\nccc\n'])).toEqual([['a', false], ['bb', false], ['', false], ['ccc', false]]);
    expect(split(['{"a":', '1}\n{"b"', ':2}\nrest'])).toEqual([['{"a":1}', false], ['{"b":2}', false], ['rest', false]]);
    expect(split(['x\r', '\n'])).toEqual([['x', false]]);
  });

  it('keeps a multi-byte character cut between chunks whole', () => {
    const bytes = Buffer.from('héllo\n');
    expect(split([bytes.subarray(0, 2), bytes.subarray(2)])).toEqual([['héllo', false]]);
  });

  it('bounds a line to maxBytes, in one chunk or across chunks, and goes on with the next line', () => {
    expect(split(['0123456789\nok\n'], 4)).toEqual([['0123', true], ['ok', false]]);
    expect(split(['01', '23456', '789\nok\n'], 4)).toEqual([['0123', true], ['ok', false]]);
    expect(split(['0123\n'], 4)).toEqual([['0123', false]]);
  });

  it('does not keep a reference to the chunk for a line that ends in a later chunk', () => {
    const chunk = Buffer.from('abc');
    const lines: string[] = [];
    const splitter = new LineSplitter(100, (line) => lines.push(line));
    splitter.push(chunk);
    chunk.fill(0x7a); // the stream may reuse its buffer
    splitter.push(Buffer.from('\n'));
    expect(lines).toEqual(['abc']);
  });
});
