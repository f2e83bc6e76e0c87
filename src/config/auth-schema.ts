/**
 * `auth:` of lakeray.yaml (docs/configuration.md "auth"): who may call the API.
 *
 *   auto (default)  keyless requests are the `default` tenant's admin while the server is bound
 *                   to loopback; bound to any other address, every request needs a key
 *   keys            every request needs a key, loopback included
 *   none            keyless everywhere (explicit only; logged as a warning off loopback)
 *
 * `auth: none` (a bare string) is short for `auth: {mode: none}`.
 */
import { z } from 'zod';

const rateLimitSchema = z
  .object({
    /** Tokens added to a key's bucket per second. */
    requests_per_second: z.number().positive(),
    /** Bucket size: the most requests a key may send at once after being idle. */
    burst: z.number().int().positive(),
  })
  .strict();

export const DEFAULT_RATE_LIMIT = { requests_per_second: 100, burst: 200 } as const;

const authObjectSchema = z
  .object({
    mode: z.enum(['auto', 'keys', 'none']).default('auto'),
    /** Per API key (token bucket); null turns rate limiting off. */
    rate_limit: rateLimitSchema.nullable().default({ ...DEFAULT_RATE_LIMIT }),
    /**
     * Where the buckets live: `auto` in Redis, shared by every API node, when the event bus is
     * Redis (`events.kind: redis`), else in each server process; `local` always per process.
     */
    rate_limit_store: z.enum(['auto', 'local']).default('auto'),
    /** Per-tenant overrides of `rate_limit` for that tenant's keys. */
    tenant_rate_limits: z.record(z.string().min(1), rateLimitSchema).default({}),
  })
  .strict();

export const authSchema = z.preprocess((v) => (typeof v === 'string' ? { mode: v } : v), authObjectSchema);

export type AuthConfig = z.infer<typeof authObjectSchema>;
export type RateLimitConfig = z.infer<typeof rateLimitSchema>;
export const DEFAULT_AUTH_CONFIG: AuthConfig = authObjectSchema.parse({});
