/**
 * The batching bench's open-loop criteria (bench/batching.ts): which criterion a window misses,
 * in words, and the count of failing ladder steps per criterion (budget vs sustainability).
 */
import { describe, expect, it } from 'vitest';
import { reasons, sustainable, unsustained } from '../../../bench/batching.ts';

type Window = Parameters<typeof unsustained>[0];
const ok = { rate: 2000, offered: 16000, offered_rps: 2000, n: 16000, failed: 0, answered_rps: 2000, backlog_start: 2, backlog_end: 3, p95_first_ms: 4, p95_second_ms: 5 } as Window;

describe('batching bench criteria', () => {
  it('a kept-up window misses nothing', () => {
    expect(unsustained(ok)).toEqual([]);
    expect(sustainable(ok)).toBe(true);
  });

  it('names each criterion a window misses', () => {
    expect(unsustained({ ...ok, backlog_end: 400 })).toEqual(['backlog 2→400 > 100']);
    expect(unsustained({ ...ok, p95_second_ms: 12 })).toEqual(['p95 grew 4.0→12.0 ms']);
    expect(unsustained({ ...ok, failed: 3, n: 15000 })).toEqual(['3 failed', '15000 of 16000 answered']);
    expect(unsustained({ ...ok, answered_rps: 1500 })).toEqual(['answered 1500/s < 0.97 × offered 2000/s']);
    // A half without answers has no p95: not sustained.
    expect(unsustained({ ...ok, p95_second_ms: Number.NaN })).toHaveLength(1);
    expect(sustainable({ ...ok, backlog_start: 400 })).toBe(false);
  });

  it('judges the answered rate against the arrivals the window held, not the nominal rate', () => {
    // A 2 s Poisson window at a nominal 274/s that held 526 arrivals, all answered in it.
    const low = { ...ok, rate: 274, offered: 526, offered_rps: 263, n: 526, answered_rps: 263 };
    expect(unsustained(low)).toEqual([]);
    expect(unsustained({ ...low, answered_rps: 250 })).toEqual(['answered 250/s < 0.97 × offered 263/s']);
  });

  it('counts failing ladder steps per criterion', () => {
    const ladder = [
      { rate: 1000, ok: true },
      { rate: 1150, ok: false, why: 'p95 12.0 > budget 9.9 ms; p95 grew 4.0→12.0 ms' },
      { rate: 1150, ok: false, why: 'backlog 2→400 > 100' },
      { rate: 1150, ok: false },
    ];
    expect(reasons([ladder, [{ rate: 9, ok: false, why: '3 failed; 15000 of 16000 answered' }]])).toEqual({ budget: 1, p95_growth: 1, backlog: 1, failed: 1, answered_rate: 1 });
  });
});
