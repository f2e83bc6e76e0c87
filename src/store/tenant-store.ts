/**
 * What the store keeps per tenant (src/tenants/): settings an admin overrode at run time, and
 * GPU-seconds used per UTC day. Part of the task store's database, so every process (API
 * replicas, schedulers) reads the same settings and usage: the store is the truth.
 */
import type { TenantLimits } from '../config/tenants-schema.ts';

export interface TenantOverride {
  tenant: string;
  /** Only the fields the admin set; null in a field means "no limit" (it overrides config). */
  settings: TenantLimits;
  updated_at: number;
}

/** Counts of one tenant's active tasks, over every executor. */
export interface TenantActivity {
  tenant: string;
  queued: number;
  /** running + cancelling (they hold their resources until their process is gone). */
  running: number;
}

/** GPU-seconds to add to a tenant's total of a UTC day (YYYY-MM-DD). */
export interface GpuCharge {
  tenant: string;
  day: string;
  gpu_seconds: number;
}

export interface TenantStore {
  listTenantOverrides(): Promise<TenantOverride[]>;
  /** Replace the tenant's override (upsert). */
  putTenantOverride(override: TenantOverride): Promise<void>;
  /** Adds each charge to its (tenant, day) total, in one transaction. */
  chargeGpuSeconds(charges: readonly GpuCharge[]): Promise<void>;
  /** GPU-seconds per tenant on `day` (tenants without usage are absent). */
  gpuSecondsOn(day: string): Promise<Map<string, number>>;
  /**
   * Active tasks per tenant; `tenant` narrows it to one. `excludeOwner`: running tasks whose
   * lease this owner holds are not counted (a scheduler counts its own from memory).
   */
  tenantActivity(tenant?: string, excludeOwner?: string): Promise<TenantActivity[]>;
}
