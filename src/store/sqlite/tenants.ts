/** Tenant settings overrides, GPU-seconds per day and activity counts of the SQLite store (store/tenant-store.ts). */
import type Database from 'better-sqlite3';
import type { TenantLimits } from '../../config/tenants-schema.ts';
import type { GpuCharge, TenantActivity, TenantOverride, TenantStore } from '../tenant-store.ts';

/**
 * Counts per tenant; `owner` ('' for none) is left out of the running count. Queued tasks are
 * read from tasks_tenant_queued, running ones from tasks_leased (at most what runs).
 */
const activity = (oneTenant: boolean): string => {
  const only = oneTenant ? ' AND tenant = @tenant' : '';
  // `+tenant`: not through tasks_tenant_created (every task the tenant ever had), through tasks_leased.
  const onlyRunning = oneTenant ? ' AND +tenant = @tenant' : '';
  return `
  SELECT tenant, SUM(q) AS queued, SUM(r) AS running FROM (
    SELECT tenant, 1 AS q, 0 AS r FROM tasks WHERE status = 'pending'${only}
    UNION ALL
    SELECT tenant, 0 AS q, 1 AS r FROM tasks WHERE status IN ('running', 'cancelling') AND lease_owner IS NOT @owner${onlyRunning}
  ) GROUP BY tenant ORDER BY tenant`;
};

export class SqliteTenants implements TenantStore {
  private readonly q;

  constructor(private readonly db: Database.Database) {
    this.q = {
      list: db.prepare<[], { tenant: string; settings: string; updated_at: number }>('SELECT tenant, settings, updated_at FROM tenant_settings ORDER BY tenant'),
      put: db.prepare(
        'INSERT INTO tenant_settings (tenant, settings, updated_at) VALUES (@tenant, @settings, @updated_at) ON CONFLICT (tenant) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at',
      ),
      charge: db.prepare(
        'INSERT INTO tenant_gpu_usage (tenant, day, gpu_seconds) VALUES (@tenant, @day, @gpu_seconds) ON CONFLICT (day, tenant) DO UPDATE SET gpu_seconds = gpu_seconds + excluded.gpu_seconds',
      ),
      usageOn: db.prepare<[string], { tenant: string; gpu_seconds: number }>('SELECT tenant, gpu_seconds FROM tenant_gpu_usage WHERE day = ?'),
      activity: db.prepare<{ owner: string }, TenantActivity>(activity(false)),
      activityOf: db.prepare<{ owner: string; tenant: string }, TenantActivity>(activity(true)),
    };
  }

  async listTenantOverrides(): Promise<TenantOverride[]> {
    return this.q.list.all().map((r) => ({ tenant: r.tenant, settings: JSON.parse(r.settings) as TenantLimits, updated_at: r.updated_at }));
  }

  async putTenantOverride(o: TenantOverride): Promise<void> {
    this.q.put.run({ tenant: o.tenant, settings: JSON.stringify(o.settings), updated_at: o.updated_at });
  }

  async chargeGpuSeconds(charges: readonly GpuCharge[]): Promise<void> {
    if (charges.length === 0) return;
    this.db.transaction(() => {
      for (const c of charges) this.q.charge.run(c);
    })();
  }

  async gpuSecondsOn(day: string): Promise<Map<string, number>> {
    return new Map(this.q.usageOn.all(day).map((r) => [r.tenant, r.gpu_seconds]));
  }

  async tenantActivity(tenant?: string, excludeOwner?: string): Promise<TenantActivity[]> {
    const owner = excludeOwner ?? '';
    return tenant === undefined ? this.q.activity.all({ owner }) : this.q.activityOf.all({ owner, tenant });
  }
}
