/** Tenant settings overrides, GPU-seconds per day and activity counts of the PostgreSQL store (store/tenant-store.ts). */
import type { TenantLimits } from '../../config/tenants-schema.ts';
import type { GpuCharge, TenantActivity, TenantOverride, TenantStore } from '../tenant-store.ts';
import type { Connection } from './connection.ts';

/** Counts per tenant; $1 (the owner, '' for none) is left out of the running count (queued: tasks_tenant_queued; running: tasks_leased). */
const activity = (oneTenant: boolean): string => {
  const only = oneTenant ? ' AND tenant = $2' : '';
  return `
  SELECT tenant, SUM(q)::int AS queued, SUM(r)::int AS running FROM (
    SELECT tenant, 1 AS q, 0 AS r FROM tasks WHERE status = 'pending'${only}
    UNION ALL
    SELECT tenant, 0 AS q, 1 AS r FROM tasks WHERE status IN ('running', 'cancelling') AND lease_owner IS DISTINCT FROM $1${only}
  ) AS a GROUP BY tenant ORDER BY tenant`;
};

const SQL = {
  list: 'SELECT tenant, settings, updated_at FROM tenant_settings ORDER BY tenant',
  put: 'INSERT INTO tenant_settings (tenant, settings, updated_at) VALUES ($1, $2, $3) ON CONFLICT (tenant) DO UPDATE SET settings = EXCLUDED.settings, updated_at = EXCLUDED.updated_at',
  // One statement for a batch of charges: arrays unnested into rows, summed per (day, tenant) first
  // (ON CONFLICT may not touch one row twice in a statement).
  charge: `
    INSERT INTO tenant_gpu_usage AS u (tenant, day, gpu_seconds)
    SELECT tenant, day, SUM(s) FROM unnest($1::text[], $2::text[], $3::float8[]) AS c (tenant, day, s) GROUP BY tenant, day
    ON CONFLICT (day, tenant) DO UPDATE SET gpu_seconds = u.gpu_seconds + EXCLUDED.gpu_seconds`,
  usageOn: 'SELECT tenant, gpu_seconds FROM tenant_gpu_usage WHERE day = $1',
  activity: activity(false),
  activityOf: activity(true),
} as const;

export class PostgresTenants implements TenantStore {
  constructor(private readonly db: Connection) {}

  async listTenantOverrides(): Promise<TenantOverride[]> {
    const rows = await this.db.query<{ tenant: string; settings: string; updated_at: number }>({ name: 'lakeray_tenants_list', text: SQL.list });
    return rows.map((r) => ({ tenant: r.tenant, settings: JSON.parse(r.settings) as TenantLimits, updated_at: r.updated_at }));
  }

  async putTenantOverride(o: TenantOverride): Promise<void> {
    await this.db.execute({ name: 'lakeray_tenants_put', text: SQL.put, values: [o.tenant, JSON.stringify(o.settings), o.updated_at] });
  }

  async chargeGpuSeconds(charges: readonly GpuCharge[]): Promise<void> {
    if (charges.length === 0) return;
    const values = [charges.map((c) => c.tenant), charges.map((c) => c.day), charges.map((c) => c.gpu_seconds)];
    await this.db.execute({ name: 'lakeray_tenants_charge', text: SQL.charge, values });
  }

  async gpuSecondsOn(day: string): Promise<Map<string, number>> {
    const rows = await this.db.query<{ tenant: string; gpu_seconds: number }>({ name: 'lakeray_tenants_usage_on', text: SQL.usageOn, values: [day] });
    return new Map(rows.map((r) => [r.tenant, r.gpu_seconds]));
  }

  async tenantActivity(tenant?: string, excludeOwner?: string): Promise<TenantActivity[]> {
    const owner = excludeOwner ?? '';
    return tenant === undefined
      ? await this.db.query<TenantActivity>({ name: 'lakeray_tenants_activity', text: SQL.activity, values: [owner] })
      : await this.db.query<TenantActivity>({ name: 'lakeray_tenants_activity_of', text: SQL.activityOf, values: [owner, tenant] });
  }
}
