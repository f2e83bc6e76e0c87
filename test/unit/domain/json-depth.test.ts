import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nestsDeeperThan, textNestsDeeperThan } from '../../../src/domain/json-depth.ts';

/** The obvious recursive definition, fine for the small values fast-check makes. */
const depthOf = (v: unknown): number =>
  v === null || typeof v !== 'object' ? 0 : 1 + Math.max(0, ...(Array.isArray(v) ? v : Object.values(v)).map(depthOf));

/** [[[…]]] `n` levels deep, built without recursion (and parsed the way a body is). */
const nested = (n: number): unknown => JSON.parse(`${'['.repeat(n)}${']'.repeat(n)}`);

describe('nestsDeeperThan', () => {
  it('counts containers: scalars 0, {} and [1] 1, {"a": [1]} 2', () => {
    expect(nestsDeeperThan(3, 0)).toBe(false);
    expect(nestsDeeperThan('x', 0)).toBe(false);
    expect(nestsDeeperThan(null, 0)).toBe(false);
    expect(nestsDeeperThan({}, 0)).toBe(true);
    expect(nestsDeeperThan({}, 1)).toBe(false);
    expect(nestsDeeperThan([1, 'a', null], 1)).toBe(false);
    expect(nestsDeeperThan({ a: [1] }, 1)).toBe(true);
    expect(nestsDeeperThan({ a: [1] }, 2)).toBe(false);
    expect(nestsDeeperThan({ a: 1, b: { c: { d: {} } }, e: [] }, 3)).toBe(true);
    expect(nestsDeeperThan({ a: 1, b: { c: { d: {} } }, e: [] }, 4)).toBe(false);
  });

  it('agrees with the recursive definition on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 10 }), (value, max) => {
        expect(nestsDeeperThan(value, max)).toBe(depthOf(value) > max);
      }),
      { numRuns: 500 },
    );
  });

  it('takes a value 500,000 levels deep (a 1 MiB body) without overflowing the stack, and stops early', () => {
    const deep = nested(500_000);
    expect(() => JSON.stringify(deep)).toThrow(RangeError); // what the store did with it
    const t0 = performance.now();
    expect(nestsDeeperThan(deep, 64)).toBe(true);
    expect(performance.now() - t0).toBeLessThan(50);
    expect(nestsDeeperThan(deep, 500_000)).toBe(false);
  });

  it('walks a wide value (100,000 siblings) in linear time', () => {
    const wide = { items: Array.from({ length: 100_000 }, (_, i) => ({ i, tags: [i] })) };
    const t0 = performance.now();
    expect(nestsDeeperThan(wide, 4)).toBe(false); // root, items, an item, its tags
    expect(nestsDeeperThan(wide, 3)).toBe(true);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});

describe('textNestsDeeperThan', () => {
  it('answers as the value walk does, on the JSON text of arbitrary values (brackets in strings do not count)', () => {
    const withBrackets = fc.jsonValue({ maxDepth: 8 }).map((v) => ({ s: '[[{"\\"]]', v, t: ['\\', '"{'] }));
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 8 }), withBrackets), fc.integer({ min: 0, max: 10 }), (value, max) => {
        expect(textNestsDeeperThan(JSON.stringify(value, null, max % 2 === 0 ? 0 : 1), max)).toBe(nestsDeeperThan(value, max));
      }),
      { numRuns: 500 },
    );
  });

  it('scans a 1 MiB body of brackets in milliseconds, where JSON.parse takes far longer', () => {
    // Decoded from bytes, as a request body is (a flat string, not a concatenation).
    const text = Buffer.from(`${'['.repeat(512 * 1024)}${']'.repeat(512 * 1024)}`).toString('utf8');
    let t0 = performance.now();
    expect(textNestsDeeperThan(text, 64)).toBe(true);
    expect(performance.now() - t0).toBeLessThan(20); // it stops at the 65th bracket
    t0 = performance.now();
    expect(textNestsDeeperThan(text, 1024 * 1024)).toBe(false);
    const scan = performance.now() - t0;
    t0 = performance.now();
    JSON.parse(text);
    expect(scan).toBeLessThan((performance.now() - t0) / 4);
  });
});
