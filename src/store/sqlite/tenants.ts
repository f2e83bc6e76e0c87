/** Tenant settings overrides, GPU-seconds per day and activity counts of the SQLite store (store/tenant-store.ts). */
import type Database from 'better-sqlite3';
import type { TenantLimits } from '../../config/tenants-schema.ts';
import type { GpuCharge, TenantActivity, TenantOverride, TenantStore } from '../tenant-store.ts';

/** Counts per tenant; `owner` ('' for none) is left out of the running count. Uses tasks_tenant_active. */
const ACTIVITY = `
  SELECT tenant,
         SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END) AS queued,
         SUM(CASE WHEN status <> 'queued' AND lease_owner IS NOT @owner THEN 1 ELSE 0 END) AS running
  FROM tasks WHERE status IN ('queued', 'running', 'cancelling')`;

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
      activity: db.prepare<{ owner: string }, TenantActivity>(`${ACTIVITY} GROUP BY tenant ORDER BY tenant`),
      activityOf: db.prepare<{ owner: string; tenant: string }, TenantActivity>(`${ACTIVITY} AND tenant = @tenant GROUP BY tenant`),
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
