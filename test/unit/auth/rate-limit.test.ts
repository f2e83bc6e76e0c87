import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../../src/auth/rate-limit.ts';

describe('RateLimiter (token bucket per key)', () => {
  const limit = { requests_per_second: 2, burst: 3 };

  it('lets a burst through, then one request per 1/rate seconds, and says how long to wait', () => {
    let now = 1_000_000;
    const limiter = new RateLimiter(() => now);
    expect([0, 1, 2].map(() => limiter.take('k1', limit))).toEqual([0, 0, 0]);
    expect(limiter.take('k1', limit)).toBe(500); // empty: one token in 1/2 s
    now += 250;
    expect(limiter.take('k1', limit)).toBe(250);
    now += 250;
    expect(limiter.take('k1', limit)).toBe(0);
    expect(limiter.take('k1', limit)).toBe(500);
  });

  it('keeps keys apart and refills no further than the burst', () => {
    let now = 0;
    const limiter = new RateLimiter(() => now);
    for (let i = 0; i < 3; i++) limiter.take('a', limit);
    expect(limiter.take('a', limit)).toBeGreaterThan(0);
    expect(limiter.take('b', limit)).toBe(0);
    now += 60_000; // a minute idle: full again, but only `burst` deep
    expect([0, 1, 2, 3].map(() => limiter.take('a', limit))).toEqual([0, 0, 0, 500]);
  });

  it('forgets buckets that are full again, so idle keys cost nothing', () => {
    let now = 0;
    const limiter = new RateLimiter(() => now);
    for (let i = 0; i < 100; i++) limiter.take(`k${i}`, limit);
    expect(limiter.size).toBe(100);
    now += 20_000;
    limiter.take('fresh', limit);
    expect(limiter.size).toBe(1);
  });
});
