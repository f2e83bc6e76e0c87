/**
 * Rate-limit buckets shared by every API node, in Redis (docs/configuration.md "auth"): one
 * Lua script per take (GCRA: the key holds the bucket's "theoretical arrival time", the time
 * at which it is full again, and expires then), so a key's limit holds across the cluster,
 * not per node. Same answers as the local token bucket (rate-limit.ts): `burst` at once,
 * then one request per 1/requests_per_second, and the ms to wait when refused. Redis's clock
 * (TIME) is the only clock, so nodes' clocks need not agree.
 *
 * One round trip per take (EVALSHA, ioredis loads the script on the first NOSCRIPT) on one
 * connection of its own. Redis away never fails a request, nor holds one past `timeoutMs`:
 *   - no offline queue: while the connection is down a take goes to the local bucket at once;
 *   - a take Redis does not answer within `timeoutMs` goes local too, and one PING (same
 *     timeout) asks whether Redis is stuck: only if that fails too is it an outage (a loaded
 *     event loop runs the timer before it reads a reply that came in time: not an outage);
 *   - after a failure every take is local until Redis answers again (the connection's next
 *     `ready`, or a PING every `probeMs` while the connection stayed up); `onDown`/`onUp` are
 *     called once per outage (the server logs them) and the counts are in stats() (metrics).
 * While Redis is away each node limits on its own again: up to N times the limit behind N nodes.
 */
import { Redis } from 'ioredis';
import type { RateLimitConfig } from '../config/auth-schema.ts';
import { type RateLimit, RateLimiter } from './rate-limit.ts';

/**
 * KEYS[1] the bucket; ARGV: ms per token, burst, and now in ms ('' = Redis's TIME).
 * Returns 0 (taken) or the ms until a token would be there.
 */
const GCRA_TAKE = `
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local next_tat = tat + interval
local allowed_at = next_tat - burst * interval
if now < allowed_at then return math.ceil(allowed_at - now) end
-- at least 1 ms: an interval below the clock's resolution (a huge rate) adds nothing to now
redis.call('SET', KEYS[1], string.format('%.3f', next_tat), 'PX', math.max(1, math.ceil(next_tat - now)))
return 0
`;

export interface RedisRateLimiterOptions {
  /** redis://… (the event bus's: config `events.url`). */
  url: string;
  /** Prefix of the bucket keys (`<prefix>:ratelimit:<key id>`); the bus's stream name keeps clusters on one Redis apart. */
  prefix: string;
  /** A take (or PING) Redis has not answered within this goes to the local bucket. Default 250 ms. */
  timeoutMs?: number;
  /** While Redis is out on a live connection, one PING this often asks whether it is back. Default 1000 ms. */
  probeMs?: number;
  /** Tests: the clock the script uses instead of Redis's TIME. */
  now?: () => number;
  /** Redis stopped answering (once per outage). */
  onDown?: (err: Error) => void;
  /** Redis answers again. */
  onUp?: () => void;
}

export interface RedisRateLimiterStats {
  /** Takes Redis answered. */
  shared: number;
  /** Takes the local bucket answered (Redis away). */
  local: number;
  /** Times Redis went away. */
  outages: number;
  /** 1 while takes go to Redis. */
  up: number;
}

type TakeScript = (key: string, intervalMs: string, burst: string, now: string) => Promise<number>;

export class RedisRateLimiter implements RateLimit {
  private readonly client: Redis;
  private readonly script: TakeScript;
  private readonly local: RateLimiter;
  private readonly o: Required<Omit<RedisRateLimiterOptions, 'now' | 'onDown' | 'onUp'>> & Pick<RedisRateLimiterOptions, 'now' | 'onDown' | 'onUp'>;
  /** Set from the first failure until Redis answers again. */
  private down = false;
  private probe: NodeJS.Timeout | null = null;
  /** A PING after a timed-out take is on its way. */
  private checking = false;
  private closed = false;
  private readonly counts = { shared: 0, local: 0, outages: 0 };

  constructor(opts: RedisRateLimiterOptions) {
    this.o = { timeoutMs: 250, probeMs: 1000, ...opts };
    this.local = new RateLimiter(opts.now);
    this.client = new Redis(this.o.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: this.o.timeoutMs,
      connectionName: 'lakeray-ratelimit',
    });
    this.client.defineCommand('lakerayRateTake', { numberOfKeys: 1, lua: GCRA_TAKE });
    this.script = (this.client as unknown as { lakerayRateTake: TakeScript }).lakerayRateTake.bind(this.client);
    // Reconnecting is ioredis's job; an error or a closed connection only says Redis is away.
    this.client.on('error', (err: Error) => this.markDown(err));
    this.client.on('close', () => this.markDown(new Error('the connection to Redis closed')));
    this.client.on('ready', () => this.markUp());
  }

  take(key: string, limit: RateLimitConfig): number | Promise<number> {
    if (this.down || this.client.status !== 'ready') return this.takeLocal(key, limit);
    const now = this.o.now ? String(this.o.now()) : '';
    return this.script(`${this.o.prefix}:ratelimit:${key}`, String(1000 / limit.requests_per_second), String(limit.burst), now).then(
      (waitMs) => {
        this.counts.shared++;
        return Number(waitMs);
      },
      (err: Error) => {
        if (err.message === 'Command timed out') this.checkStuck(err);
        else this.markDown(err);
        return this.takeLocal(key, limit);
      },
    );
  }

  stats(): RedisRateLimiterStats {
    return { ...this.counts, up: this.down || this.client.status !== 'ready' ? 0 : 1 };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopProbe();
    this.client.disconnect();
  }

  private takeLocal(key: string, limit: RateLimitConfig): number {
    this.counts.local++;
    return this.local.take(key, limit);
  }

  /** After a timed-out take: an outage only if a PING right now times out (or fails) too. */
  private checkStuck(err: Error): void {
    if (this.down || this.checking) return;
    this.checking = true;
    this.client
      .ping()
      .catch(() => this.markDown(err))
      .finally(() => (this.checking = false));
  }

  private markDown(err: Error): void {
    if (this.down || this.closed) return;
    this.down = true;
    this.counts.outages++;
    this.o.onDown?.(err);
    this.probe = setInterval(() => {
      if (this.client.status !== 'ready') return; // the connection's own 'ready' will say
      this.client.ping().then(
        () => this.markUp(),
        () => {},
      );
    }, this.o.probeMs);
    this.probe.unref();
  }

  private markUp(): void {
    if (!this.down) return;
    this.down = false;
    this.stopProbe();
    this.o.onUp?.();
  }

  private stopProbe(): void {
    if (this.probe) clearInterval(this.probe);
    this.probe = null;
  }
}
