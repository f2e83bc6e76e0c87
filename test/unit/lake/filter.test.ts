/**
 * The filter check of the Lance lake (src/lake/lance/filter.ts). What Lance itself then makes
 * of a checked filter is tested against the real LanceDB in test/integration/lake and
 * test/integration/api/lake-filter.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { asOneExpression, checkFilter } from '../../../src/lake/lance/filter.ts';
import { LakeError } from '../../../src/lake/lake.ts';

const refusal = (filter: string): string => {
  try {
    checkFilter(filter);
  } catch (err) {
    expect(err).toBeInstanceOf(LakeError);
    expect((err as LakeError).kind).toBe('BAD_FILTER');
    return (err as LakeError).message;
  }
  throw new Error(`accepted ${JSON.stringify(filter)}`);
};

describe('checkFilter', () => {
  it.each([
    'label = 3',
    "label = 3 AND split = 'test'",
    'label IN (3, 4, 5)',
    "tags @> ['a', 'b']",
    'array_has_any(tags, [1, 2]) OR NOT (a > 1 AND b < 2)',
    "s = 'a;b' OR s = 'x)' OR s = '--' OR s = '/*' OR s = '$$'",
    "s = 'it''s'",
    '"weird ; name" = 1',
    '`a``b` = 1',
    "s = 'back\\slash'",
    'a$b = 1',
    'x BETWEEN 1 AND 3',
    "CAST(label AS INT) = 3 AND timestamp '2026-01-01 00:00:00' < ts",
    'label - -1 = 4',
    'a / b > 2',
    'é = 1',
  ])('accepts %s', (filter) => {
    expect(() => checkFilter(filter)).not.toThrow();
  });

  it('refuses a second statement after ";"', () => {
    expect(refusal('label = 3; DROP TABLE x')).toBe('invalid filter "label = 3; DROP TABLE x": ";" at character 10: a filter is one expression, not statements');
  });

  it('refuses brackets closed that were never opened, and ones never closed', () => {
    expect(refusal('label = 3 )))')).toContain('")" at character 11 closes nothing');
    expect(refusal('(label = 3')).toContain('"(" at character 1 is never closed');
    expect(refusal('a IN (1, 2]')).toContain('"]" at character 11 does not match "(" at character 6');
    expect(refusal('f(a))')).toContain('closes nothing');
  });

  it('refuses a top-level comma (two expressions), but not one inside brackets', () => {
    expect(refusal('label = 3, label = 4')).toContain('join conditions with AND or OR');
    expect(() => checkFilter('f(a, b) AND c IN (1, 2)')).not.toThrow();
  });

  it('refuses an unterminated string or quoted identifier', () => {
    expect(refusal("s = 'abc")).toContain(`the quote "'" at character 5 is never closed`);
    expect(refusal("s = 'it''s")).toContain('never closed');
    expect(refusal('"label = 3')).toContain('never closed');
  });

  it('refuses comments and $ quoting, which would hide or change what Lance reads', () => {
    expect(refusal('label = 3 -- and more')).toContain('comments are not allowed');
    expect(refusal('label = 3 /* x */')).toContain('comments are not allowed');
    expect(refusal('s = $$x)$$')).toContain('$ placeholders and $$ strings are not supported');
    expect(refusal('label = $1')).toContain('not supported');
  });

  it('stays fast on hostile input (4 KiB of brackets and quotes)', () => {
    const t0 = performance.now();
    for (const text of ['('.repeat(4096), "'".repeat(4095), `${'['.repeat(2048)}${']'.repeat(2048)}`, "''".repeat(2048)]) {
      try {
        checkFilter(text);
      } catch {
        // refused or not: it must only be quick
      }
    }
    expect(performance.now() - t0).toBeLessThan(200);
  });
});

describe('asOneExpression', () => {
  it('puts the filter in parentheses, so Lance must parse it to the end', () => {
    expect(asOneExpression('label = 3 label = 4')).toBe('(label = 3 label = 4)');
  });
});
