/**
 * Every tenant's effective settings (settings.ts), with the stored overrides read at most every
 * `ttlMs`: an admin's change made through another process applies here within that time, one
 * made here at once. `settings()` answers from what was read last, synchronously, for the
 * dispatcher's hot path; `fresh()` reads first when that is stale.
 */
import type { TenantLimits, TenantsConfig } from '../config/tenants-schema.ts';
import type { TenantStore } from '../store/tenant-store.ts';
import { resolveSettings, type TenantSettings } from './settings.ts';

export class TenantDirectory {
  private overrides = new Map<string, TenantLimits>();
  private readAt = -Infinity;
  private reading: Promise<void> | null = null;
  private readonly cache = new Map<string, TenantSettings>();
  /** Whether any tenant (or the defaults) has a running or GPU-seconds limit: without, the dispatcher skips quota work. */
  limitsDispatch = false;

  constructor(
    private readonly store: TenantStore,
    private readonly config: TenantsConfig,
    private readonly now: () => number,
    private readonly ttlMs = 1000,
  ) {
    this.reindex();
  }

  settings(tenant: string): TenantSettings {
    let s = this.cache.get(tenant);
    if (!s) {
      s = resolveSettings(tenant, this.config, this.overrides.get(tenant));
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(tenant, s);
    }
    return s;
  }

  /** The settings, after re-reading the overrides if they are older than ttlMs. */
  async fresh(tenant: string): Promise<TenantSettings> {
    await this.refresh();
    return this.settings(tenant);
  }

  /** The stored override of a tenant (what an admin set), as last read. */
  overrideOf(tenant: string): TenantLimits {
    return this.overrides.get(tenant) ?? {};
  }

  async refresh(force = false): Promise<void> {
    if (!force && this.now() - this.readAt < this.ttlMs) return;
    this.reading ??= this.store
      .listTenantOverrides()
      .then((rows) => {
        this.overrides = new Map(rows.map((r) => [r.tenant, r.settings]));
        this.readAt = this.now();
        this.reindex();
      })
      .finally(() => {
        this.reading = null;
      });
    await this.reading;
  }

  private reindex(): void {
    this.cache.clear();
    const limited = (l: TenantLimits | undefined) => l !== undefined && (l.max_running != null || l.gpu_seconds_per_day != null);
    this.limitsDispatch = Object.values(this.config).some(limited) || [...this.overrides.values()].some(limited);
  }
}
