/**
 * Per-tenant metrics for /metrics, read from the store at scrape time (one read shared by the
 * three gauges of a scrape): queued and running tasks, and GPU-seconds of the UTC day so far.
 * Labelled by tenant; tenants with nothing queued, running or used today are absent.
 */
import type { Registry } from 'prom-client';
import type { TenantUsage } from '../tenants/admin.ts';
import { scrapedGauge, sharedRead } from './scraped-metrics.ts';

export type TenantUsageSource = () => Promise<({ tenant: string } & TenantUsage)[]>;

export function registerTenantMetrics(registry: Registry, source: () => TenantUsageSource | null): void {
  const read = sharedRead<({ tenant: string } & TenantUsage)[]>(() => source()?.() ?? [], []);
  const gauge = (name: string, help: string, value: (u: TenantUsage) => number) =>
    scrapedGauge(registry, name, help, ['tenant'], async (set) => {
      for (const r of await read()) set({ tenant: r.tenant }, value(r));
    });
  gauge('lakeray_tenant_queued_tasks', 'Tasks a tenant has queued', (u) => u.queued);
  gauge('lakeray_tenant_running_tasks', 'Tasks a tenant has running (or cancelling)', (u) => u.running);
  gauge('lakeray_tenant_gpu_seconds_today', 'GPU-seconds (GPUs × wall time) a tenant used on the current UTC day, running tasks included', (u) => u.gpu_seconds_today);
}
