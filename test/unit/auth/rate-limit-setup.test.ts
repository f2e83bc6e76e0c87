/**
 * Which rate limiter the server builds (src/auth/rate-limit-setup.ts), and the shared one with
 * no Redis to reach from the start: it answers from the local bucket, logs once, and says so
 * in /metrics.
 */
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { RateLimiter } from '../../../src/auth/rate-limit.ts';
import { createRateLimit, type ServerRateLimit } from '../../../src/auth/rate-limit-setup.ts';
import { RedisRateLimiter } from '../../../src/auth/redis-rate-limit.ts';
import { DEFAULT_AUTH_CONFIG } from '../../../src/config/auth-schema.ts';

// Nothing listens on port 1: every connect is refused at once.
const REDIS = { kind: 'redis', url: 'redis://127.0.0.1:1', stream: 'lakeray:events', max_len: 1000 } as const;
const quiet = { warn: () => {}, info: () => {} };
let made: ServerRateLimit | undefined;
afterEach(async () => made?.close());

describe('createRateLimit', () => {
  it('keeps buckets in the process without the Redis bus, with rate_limit_store local, or with no limits', () => {
    expect(createRateLimit(DEFAULT_AUTH_CONFIG, { kind: 'memory' }, quiet).limiter).toBeInstanceOf(RateLimiter);
    expect(createRateLimit({ ...DEFAULT_AUTH_CONFIG, rate_limit_store: 'local' }, REDIS, quiet).limiter).toBeInstanceOf(RateLimiter);
    expect(createRateLimit({ ...DEFAULT_AUTH_CONFIG, rate_limit: null }, REDIS, quiet).limiter).toBeInstanceOf(RateLimiter);
  });

  it('shares them in Redis with the Redis bus; unreachable, it answers locally, logs once and says so in /metrics', async () => {
    const warnings: string[] = [];
    const registry = new Registry();
    made = createRateLimit(DEFAULT_AUTH_CONFIG, REDIS, { warn: (_o, msg) => warnings.push(msg), info: () => {} }, registry);
    expect(made.limiter).toBeInstanceOf(RedisRateLimiter);
    const limit = { requests_per_second: 1, burst: 2 };
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await made.limiter.take('k', limit));
    expect(answers.slice(0, 2)).toEqual([0, 0]);
    expect(answers[2]).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 400)); // ioredis retries meanwhile: still one warning
    expect(warnings).toHaveLength(1);
    const text = await registry.metrics();
    expect(text).toMatch(/^lakeray_rate_limit_shared 0$/m);
    expect(text).toMatch(/^lakeray_rate_limit_takes_total\{bucket="local"\} 3$/m);
    expect(text).toMatch(/^lakeray_rate_limit_redis_outages_total 1$/m);
  });
});
