/**
 * Rate limits per API key (issue 15 §5): a token bucket per key, `burst` tokens deep, refilled
 * at `requests_per_second`. RateLimiter keeps the buckets in this process: behind N API
 * servers a key gets up to N times its limit. With the Redis event bus the buckets are shared
 * by every node instead (redis-rate-limit.ts), and this one is the fallback while Redis is away
 * (docs/configuration.md "auth"). A bucket idle long enough to be full again is dropped, so the
 * map holds only keys active in the last few seconds.
 */
import type { RateLimitConfig } from '../config/auth-schema.ts';

/** Where the auth hook takes a request's token: 0 when the request may go, else ms until it would fit. */
export interface RateLimit {
  take(key: string, limit: RateLimitConfig): number | Promise<number>;
}

interface Bucket {
  tokens: number;
  at: number;
  limit: RateLimitConfig;
}

export class RateLimiter implements RateLimit {
  private readonly buckets = new Map<string, Bucket>();
  private sweptAt = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** Takes one token from `key`'s bucket: 0 when the request may go, else ms until it would fit. */
  take(key: string, limit: RateLimitConfig): number {
    const now = this.now();
    this.sweep(now);
    const b = this.buckets.get(key);
    const bucket = b && b.limit === limit ? b : { tokens: limit.burst, at: now, limit };
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.at) / 1000) * limit.requests_per_second);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - bucket.tokens) / limit.requests_per_second) * 1000);
  }

  /** How many keys have a bucket (tests, metrics). */
  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number): void {
    if (now - this.sweptAt < 10_000) return;
    this.sweptAt = now;
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * b.limit.requests_per_second >= b.limit.burst) this.buckets.delete(key);
    }
  }
}
