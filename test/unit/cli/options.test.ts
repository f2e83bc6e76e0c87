import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { number, parseDurationS, statusList } from '../../../src/cli/options.ts';

describe('option parsers', () => {
  it('parses durations in seconds', () => {
    expect(['90', '1.5', '90s', '10m', '2h', '1h30m', '1d', '500ms'].map(parseDurationS)).toEqual([90, 1.5, 90, 600, 7200, 5400, 86400, 0.5]);
    for (const bad of ['', '0', '5x', 'm', '10 m', '-5']) expect(() => parseDurationS(bad), bad).toThrow(InvalidArgumentError);
  });

  it('checks numbers', () => {
    const gpu = number({ int: true, min: 0 });
    expect(gpu('2')).toBe(2);
    for (const bad of ['', 'x', '1.5', '-1', 'Infinity']) expect(() => gpu(bad), bad).toThrow(InvalidArgumentError);
    expect(number({ max: 10 })('10')).toBe(10);
    expect(() => number({ max: 10 })('11')).toThrow('<= 10');
  });

  it('splits status lists', () => {
    expect(statusList('pending, running,,')).toEqual(['pending', 'running']);
  });
});
