/**
 * The server's rate limiter (docs/configuration.md "auth"): the buckets in Redis, shared by
 * every API node, when the event bus is Redis and `auth.rate_limit_store` is `auto`; else in
 * this process. The shared one logs each Redis outage once and counts its takes in /metrics.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AuthConfig } from '../config/auth-schema.ts';
import type { EventsConfig } from '../config/schema.ts';
import { type RateLimit, RateLimiter } from './rate-limit.ts';
import { RedisRateLimiter } from './redis-rate-limit.ts';

export interface ServerRateLimit {
  limiter: RateLimit;
  close(): Promise<void>;
}

interface Log {
  warn(obj: object, msg: string): void;
  info(msg: string): void;
}

export function createRateLimit(auth: AuthConfig, events: EventsConfig, log: Log, registry?: Registry): ServerRateLimit {
  if (auth.rate_limit_store === 'local' || events.kind !== 'redis' || (auth.rate_limit === null && Object.keys(auth.tenant_rate_limits).length === 0)) {
    return { limiter: new RateLimiter(), close: async () => {} };
  }
  const limiter = new RedisRateLimiter({
    url: events.url,
    prefix: events.stream,
    onDown: (err) => log.warn({ err }, 'rate limits: Redis is not answering; each node limits on its own until it does'),
    onUp: () => log.info('rate limits: Redis answers again; the buckets are shared again'),
  });
  if (registry) registerRateLimitMetrics(registry, limiter);
  return { limiter, close: () => limiter.close() };
}

export function registerRateLimitMetrics(registry: Registry, limiter: RedisRateLimiter): void {
  new Counter({
    name: 'lakeray_rate_limit_takes_total',
    help: 'Rate-limit takes by where the bucket was: shared (Redis) or local (this node, while Redis is away)',
    labelNames: ['bucket'],
    registers: [registry],
    collect() {
      const s = limiter.stats();
      this.reset();
      this.inc({ bucket: 'shared' }, s.shared);
      this.inc({ bucket: 'local' }, s.local);
    },
  });
  new Counter({
    name: 'lakeray_rate_limit_redis_outages_total',
    help: 'Times the shared rate-limit buckets fell back to local ones (Redis not answering)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(limiter.stats().outages);
    },
  });
  new Gauge({
    name: 'lakeray_rate_limit_shared',
    help: '1 while rate-limit buckets are shared in Redis, 0 while this node limits on its own',
    registers: [registry],
    collect() {
      this.set(limiter.stats().up);
    },
  });
}
