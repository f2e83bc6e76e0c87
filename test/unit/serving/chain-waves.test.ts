/** ChainWaves on its own: when a wave of session chunks is in (gateway/waves.ts). */
import { describe, expect, it } from 'vitest';
import { ChainWaves } from '../../../src/serving/gateway/waves.ts';

const q = (...chains: (string | undefined)[]) => chains.map((chain) => ({ chain }));
const none = new Map<string, number>();

describe('ChainWaves', () => {
  it('is in once every chain answered within the timeout has its next request queued or running', () => {
    const w = new ChainWaves();
    for (const c of ['a', 'b', 'c']) w.answered(c, 100, 5);
    expect(w.isIn(q('a', 'b'), none, 101, 5)).toBe(false); // c has nothing queued nor running
    expect(w.isIn(q('a', 'b'), new Map([['c', 1]]), 101, 5)).toBe(true); // c runs
    expect(w.isIn(q('a', 'b', 'c'), none, 101, 5)).toBe(true);
  });

  it('counts chains, not requests: two of one chain do not stand for a missing one', () => {
    const w = new ChainWaves();
    for (const c of ['a', 'b']) w.answered(c, 100, 5);
    expect(w.isIn(q('a', 'a'), none, 101, 5)).toBe(false);
    expect(w.isIn(q('a', 'a'), new Map([['x', 1]]), 101, 5)).toBe(false); // a busy chain outside the wave neither
    expect(w.isIn(q('a', 'b', 'a'), none, 101, 5)).toBe(true);
  });

  it('is not in with a queued request of no chain or of a chain outside the wave; quiet and ended chains hold nothing', () => {
    const w = new ChainWaves();
    w.answered('a', 100, 5);
    w.answered('b', 103, 5);
    expect(w.isIn(q('a', 'b', undefined), none, 104, 5)).toBe(false);
    expect(w.isIn(q('a', 'b', 'new'), none, 104, 5)).toBe(false);
    expect(w.isIn(q('b'), none, 105, 5)).toBe(true); // a, answered at 100, is quiet by 105
    expect(w.end('b')).toBe(true);
    expect(w.isIn(q(), none, 105, 5)).toBe(false); // nothing expected: the plain rule
  });
});
