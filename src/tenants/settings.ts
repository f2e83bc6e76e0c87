/**
 * A tenant's effective settings: the stored override (an admin's PUT) field by field over the
 * config entry of that tenant, over config `tenants.defaults`, over the built-in defaults
 * (weight 1, no limits). A field an override sets to null is "no limit" even when config has
 * one. Pure: the store is read by TenantDirectory.
 */
import { DEFAULTS_ENTRY, type TenantLimits, type TenantsConfig } from '../config/tenants-schema.ts';

export interface TenantSettings {
  weight: number;
  max_queued: number | null;
  max_running: number | null;
  gpu_seconds_per_day: number | null;
  lake_bytes: number | null;
}

export const BUILT_IN: TenantSettings = Object.freeze({ weight: 1, max_queued: null, max_running: null, gpu_seconds_per_day: null, lake_bytes: null });

const KEYS = ['weight', 'max_queued', 'max_running', 'gpu_seconds_per_day', 'lake_bytes'] as const;

/** `over` on top of `base`: a field `over` has (null included) wins. */
const layer = (base: TenantSettings, over: TenantLimits | undefined): TenantSettings => {
  if (over === undefined) return base;
  const out = { ...base };
  for (const k of KEYS) {
    const v = over[k];
    if (v === undefined) continue;
    if (k === 'weight') out.weight = v ?? base.weight;
    else out[k] = v;
  }
  return out;
};

export const resolveSettings = (tenant: string, config: TenantsConfig, override?: TenantLimits): TenantSettings =>
  layer(layer(layer(BUILT_IN, config[DEFAULTS_ENTRY]), tenant === DEFAULTS_ENTRY ? undefined : config[tenant]), override);

/** The UTC day (YYYY-MM-DD) an instant falls on: GPU-seconds quotas reset at 00:00 UTC. */
export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** The first instant of the UTC day after the one `ms` falls on. */
export const nextUtcDay = (ms: number): number => {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
};
