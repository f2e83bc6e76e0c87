import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/cli/errors.ts';
import { buildLabels, buildParams, parseParamValue } from '../../../src/cli/params.ts';

describe('parseParamValue', () => {
  it.each([
    ['2', 2],
    ['-1.5e3', -1500],
    ['true', true],
    ['null', null],
    ['[1,"a"]', [1, 'a']],
    ['{"k":1}', { k: 1 }],
    ['"007"', '007'],
    ['007', '007'],
    ['hello world', 'hello world'],
    ['', ''],
    ['a=b', 'a=b'],
  ])('%j → %j', (raw, value) => expect(parseParamValue(raw)).toEqual(value));
});

describe('buildParams', () => {
  it('nests dotted keys and splits at the first =', () => {
    expect(buildParams(['a.b.c=1', 'a.d=x', 'expr=y=2'])).toEqual({ a: { b: { c: 1 }, d: 'x' }, expr: 'y=2' });
  });

  it('applies in order, last write wins (scalars and objects alike)', () => {
    expect(buildParams(['a=1', 'a.b=2'])).toEqual({ a: { b: 2 } });
    expect(buildParams(['a.b=2', 'a=1'])).toEqual({ a: 1 });
    expect(buildParams(['n=1', 'n=2'])).toEqual({ n: 2 });
  });

  it('layers -p over --params-json without mutating shared structure', () => {
    const json = '{"optim":{"lr":0.1,"m":0.9},"epochs":1}';
    expect(buildParams(['optim.lr=0.01', 'epochs=3'], json)).toEqual({ optim: { lr: 0.01, m: 0.9 }, epochs: 3 });
    expect(buildParams([], '{}')).toEqual({});
  });

  it('refuses malformed input with usage errors', () => {
    for (const bad of ['novalue', '=1', 'a..b=1', '.a=1', 'a.=1', '__proto__.x=1', 'a.constructor=1']) {
      expect(() => buildParams([bad]), bad).toThrow(UsageError);
    }
    expect(() => buildParams([], '[1]')).toThrow('must be a JSON object');
    expect(() => buildParams([], '{nope')).toThrow('not valid JSON');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});

describe('buildLabels', () => {
  it('keeps values as strings', () => {
    expect(buildLabels(['team=ml', 'n=1', 'eq=a=b'])).toEqual({ team: 'ml', n: '1', eq: 'a=b' });
    expect(() => buildLabels(['x'])).toThrow(UsageError);
  });
});
