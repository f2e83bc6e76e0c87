/**
 * The shared rate-limit buckets (src/auth/redis-rate-limit.ts) against a real redis-server:
 * the same answers as the local token bucket, one bucket per key whichever node takes from
 * it, keys that expire once full, and Redis away (stopped, or stuck) answered from the local
 * bucket without waiting, then shared again once Redis is back.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisRateLimiter } from '../../../src/auth/redis-rate-limit.ts';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server.ts';
import { until } from '../../helpers/until.ts';

const limit = { requests_per_second: 2, burst: 3 };
let redis: RedisServer;
let admin: Redis;
const limiters: RedisRateLimiter[] = [];
let prefixes = 0;

/** A limiter on its own key prefix (tests do not share buckets) unless `prefix` is given. */
function limiter(opts: Partial<ConstructorParameters<typeof RedisRateLimiter>[0]> = {}): RedisRateLimiter {
  const l = new RedisRateLimiter({ url: redis.url, prefix: `t${++prefixes}`, ...opts });
  limiters.push(l);
  return l;
}

const shared = (l: RedisRateLimiter) => until('the shared buckets', async () => l.stats().up === 1, 10_000);

beforeAll(async () => {
  redis = await startRedisServer();
  admin = new Redis(redis.url, { maxRetriesPerRequest: null });
  admin.on('error', () => {});
});

afterAll(async () => {
  await Promise.all(limiters.map((l) => l.close()));
  admin?.disconnect();
  await redis?.stop();
});

describe('RedisRateLimiter', () => {
  it('lets a burst through, then one request per 1/rate seconds, and says how long to wait', async () => {
    let now = 1_000_000;
    const l = limiter({ now: () => now });
    await shared(l);
    expect(await Promise.all([0, 1, 2].map(() => l.take('k1', limit)))).toEqual([0, 0, 0]);
    expect(await l.take('k1', limit)).toBe(500); // empty: one token in 1/2 s
    now += 250;
    expect(await l.take('k1', limit)).toBe(250);
    now += 250;
    expect(await l.take('k1', limit)).toBe(0);
    expect(await l.take('k1', limit)).toBe(500);
    now += 60_000; // a minute idle: full again, but only `burst` deep
    expect(await Promise.all([0, 1, 2, 3].map(() => l.take('k1', limit)))).toEqual([0, 0, 0, 500]);
    expect(await l.take('other', limit)).toBe(0);
    expect(l.stats()).toMatchObject({ local: 0, outages: 0, up: 1 });
  });

  it('refills by Redis’s own clock, and drops a bucket once it is full again', async () => {
    const l = limiter();
    await shared(l);
    const fast = { requests_per_second: 20, burst: 2 };
    expect(await l.take('k', fast)).toBe(0);
    expect(await l.take('k', fast)).toBe(0);
    const wait = await l.take('k', fast);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(50);
    const key = `t${prefixes}:ratelimit:k`;
    const ttl = await admin.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(100); // full again within 2 tokens × 50 ms
    await new Promise((r) => setTimeout(r, wait + 10));
    expect(await l.take('k', fast)).toBe(0);
    await until('the full bucket to expire', async () => (await admin.exists(key)) === 0, 2_000);
  });

  it('takes from a limit faster than the clock resolves (a 1 ms expiry at least), on Redis', async () => {
    const l = limiter();
    await shared(l);
    const huge = { requests_per_second: 1e9, burst: 1_000_000 };
    expect(await Promise.all([0, 1, 2].map(() => l.take('k', huge)))).toEqual([0, 0, 0]);
    expect(l.stats()).toMatchObject({ shared: 3, local: 0, outages: 0 });
  });

  it('gives two limiters (two API nodes) one bucket per key', async () => {
    let now = 5_000_000;
    const a = limiter({ now: () => now });
    const b = limiter({ prefix: `t${prefixes}`, now: () => now });
    await Promise.all([shared(a), shared(b)]);
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await (i % 2 === 0 ? a : b).take('key', limit));
    expect(answers).toEqual([0, 0, 0, 500, 500, 500]);
    now += 500;
    expect(await b.take('key', limit)).toBe(0);
    expect(await a.take('key', limit)).toBe(500);
  });

  it('answers from the local bucket at once while Redis is down, and shares again once it is back', async () => {
    const downs: Error[] = [];
    let ups = 0;
    const l = limiter({ onDown: (err) => downs.push(err), onUp: () => ups++ });
    await shared(l);
    const slow = { requests_per_second: 0.01, burst: 2 };
    expect(await l.take('k', slow)).toBe(0);
    await redis.restart(async () => {
      await until('the local fallback', async () => l.stats().up === 0, 5_000);
      const t0 = performance.now();
      // A fresh local bucket: the whole burst again (each node limits on its own meanwhile).
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(await l.take('k', slow));
      expect(performance.now() - t0).toBeLessThan(50);
      expect(answers.slice(0, 2)).toEqual([0, 0]);
      expect(answers[2]).toBeGreaterThan(0);
    });
    await shared(l);
    expect(downs).toHaveLength(1);
    expect(ups).toBe(1);
    // Redis came back empty: a fresh shared bucket.
    expect(await l.take('k', slow)).toBe(0);
    expect(l.stats()).toMatchObject({ local: 3, outages: 1, up: 1 });
  });

  it('does not wait for a stuck Redis longer than its timeout, and probes until it answers', async () => {
    const l = limiter({ timeoutMs: 50, probeMs: 100 });
    await shared(l);
    const pid = Number(/process_id:(\d+)/.exec(await admin.info('server'))?.[1]);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGSTOP');
    try {
      const t0 = performance.now();
      expect(await l.take('k', limit)).toBe(0); // the timeout, then the local bucket
      expect(performance.now() - t0).toBeLessThan(300);
      await until('the PING after the timeout to fail too', async () => l.stats().up === 0, 2_000);
      const t1 = performance.now();
      expect(await l.take('k', limit)).toBe(0); // local at once: Redis is known to be out
      expect(performance.now() - t1).toBeLessThan(20);
      expect(l.stats()).toMatchObject({ shared: 0, outages: 1, up: 0 });
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await shared(l);
    expect(await l.take('k', limit)).toBe(0);
    expect(l.stats().shared).toBe(1);
  });

  it('takes one late answer for what it is, not an outage, when a PING right after is answered', async () => {
    const l = limiter({ timeoutMs: 100 });
    await shared(l);
    // Redis busy for 150 ms (a script that spins): the take times out at 100 ms, the PING
    // sent then is answered at 150 ms, well within its own 100 ms.
    const busy = admin.eval(`local t = redis.call('TIME'); local s = t[1] * 1e6 + t[2]
      repeat t = redis.call('TIME') until t[1] * 1e6 + t[2] - s > 150000 return 1`, 0);
    await new Promise((r) => setTimeout(r, 10));
    expect(await l.take('k', limit)).toBe(0);
    expect(l.stats()).toMatchObject({ shared: 0, local: 1 }); // that take timed out: local
    await busy;
    await new Promise((r) => setTimeout(r, 100));
    expect(l.stats()).toMatchObject({ outages: 0, up: 1 });
    expect(await l.take('k', limit)).toBe(0);
    expect(l.stats().shared).toBe(1);
  });
});
