/**
 * `tenants:` in lakeray.yaml: per-tenant fair-share weight and quotas (src/tenants/). A tenant
 * not listed gets `defaults`; a limit left out (or null) is no limit. Admins may override any
 * of these at run time (PUT /api/v1/tenants/{name}); the stored override wins over config.
 */
import { z } from 'zod';

/** One tenant's settings as config (and an override) may give them: every field optional. */
export const tenantLimitsSchema = z
  .object({
    /** Fair-share weight: a tenant of weight 2 gets twice the GPU-seconds of one of weight 1 when both wait. */
    weight: z.number().positive().max(1_000_000).optional(),
    /** Most tasks the tenant may have queued at once; a submit beyond it is 429 QUOTA_EXCEEDED. */
    max_queued: z.number().int().nonnegative().nullable().optional(),
    /** Most tasks the tenant may have running at once; more wait queued. */
    max_running: z.number().int().nonnegative().nullable().optional(),
    /** GPU-seconds (GPUs × wall time) per UTC day; over it, GPU submits are 429 and queued GPU tasks wait for the next day. */
    gpu_seconds_per_day: z.number().nonnegative().nullable().optional(),
    /** Bytes of lake storage (enforced by the lake, docs/security.md). */
    lake_bytes: z.number().int().nonnegative().nullable().optional(),
  })
  .strict();

/**
 * Tenant name → settings. The entry named `defaults` is what a tenant not listed gets (so no
 * tenant can be called "defaults").
 */
export const tenantsSchema = z.record(z.string().min(1).max(128), tenantLimitsSchema).default({});

export const DEFAULTS_ENTRY = 'defaults';

export type TenantLimits = z.infer<typeof tenantLimitsSchema>;
export type TenantsConfig = z.infer<typeof tenantsSchema>;
