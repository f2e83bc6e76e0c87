/**
 * The tenants' admin use cases behind /api/v1/tenants (api/routes/tenants.ts): read a tenant's
 * effective settings with today's usage, and override its settings at run time.
 *
 * Who may do what. Quotas bound what a tenant may take from a shared platform, so they are the
 * platform operator's to set, not the tenant's: only an admin of the `default` tenant (the
 * operator; also the keyless loopback caller) may change any tenant's settings, or read
 * another tenant's. Any caller may read its own tenant's settings and usage (to see why a
 * submit was refused or why its tasks wait). A tenant's own admin may not raise its own quotas
 * (403). Another tenant is a 404 to anyone else, as another tenant's objects are (isolation).
 * A change is recorded in the audit log (auth/audit.ts) of the acting caller's tenant.
 */
import { audit } from '../auth/audit.ts';
import type { TenantLimits } from '../config/tenants-schema.ts';
import { DEFAULTS_ENTRY } from '../config/tenants-schema.ts';
import { LakerayError } from '../domain/errors.ts';
import type { Caller } from '../engine/task-service.ts';
import type { TaskStore } from '../store/task-store.ts';
import type { TenantDirectory } from './directory.ts';
import type { GpuMeter } from './gpu-meter.ts';
import { type TenantSettings, utcDay } from './settings.ts';

/** The operator's tenant: its admins administer every tenant. */
export const OPERATOR_TENANT = 'default';

export interface TenantUsage {
  queued: number;
  running: number;
  /** GPU-seconds of the UTC day `day` so far (running tasks included up to now). */
  gpu_seconds_today: number;
  day: string;
}

export interface TenantView {
  tenant: string;
  /** What applies: override over config over defaults. */
  settings: TenantSettings;
  /** What an admin set at run time (a field set to null: no limit, whatever config says). */
  override: TenantLimits;
  usage: TenantUsage;
}

export interface TenantAdminDeps {
  store: Pick<TaskStore, 'tenants' | 'audit'>;
  tenants: { directory: TenantDirectory; meter: GpuMeter };
  now?: () => number;
}

const isOperator = (c: Caller): boolean => c.tenant === OPERATOR_TENANT && (c.role ?? 'admin') === 'admin';

export class TenantAdmin {
  private readonly now: () => number;

  constructor(private readonly deps: TenantAdminDeps) {
    this.now = deps.now ?? Date.now;
  }

  async get(caller: Caller, tenant: string): Promise<TenantView> {
    this.visible(caller, tenant);
    return this.view(tenant, true);
  }

  /** Replaces the tenant's override with `limits` (fields left out follow config again). */
  async put(caller: Caller, tenant: string, limits: TenantLimits): Promise<TenantView> {
    this.visible(caller, tenant);
    if (!isOperator(caller)) throw new LakerayError('FORBIDDEN', `Only an admin of the "${OPERATOR_TENANT}" tenant may change tenant settings (quotas are the operator's)`);
    if (tenant === DEFAULTS_ENTRY) throw new LakerayError('INVALID_REQUEST', `"${DEFAULTS_ENTRY}" is not a tenant: it names the config entry for tenants not listed`);
    const before = this.deps.tenants.directory.overrideOf(tenant);
    await this.deps.store.tenants.putTenantOverride({ tenant, settings: limits, updated_at: this.now() });
    await audit(this.deps.store, caller, 'tenant.quota', tenant, { before, after: limits }, this.now());
    return this.view(tenant, true);
  }

  /** Queued, running and today's GPU-seconds of every tenant with any (for /metrics). */
  async usageOfAll(): Promise<({ tenant: string } & TenantUsage)[]> {
    const at = this.now();
    const day = utcDay(at);
    const [activity, gpu] = await Promise.all([this.deps.store.tenants.tenantActivity(), this.deps.store.tenants.gpuSecondsOn(day)]);
    const tenants = new Set([...activity.map((a) => a.tenant), ...gpu.keys()]);
    const byTenant = new Map(activity.map((a) => [a.tenant, a]));
    return [...tenants].sort().map((tenant) => ({
      tenant,
      queued: byTenant.get(tenant)?.queued ?? 0,
      running: byTenant.get(tenant)?.running ?? 0,
      gpu_seconds_today: (gpu.get(tenant) ?? 0) + this.deps.tenants.meter.unstored(tenant, day, at),
      day,
    }));
  }

  private visible(caller: Caller, tenant: string): void {
    if (tenant !== caller.tenant && !isOperator(caller)) throw new LakerayError('TENANT_NOT_FOUND', `Tenant '${tenant}' does not exist`);
  }

  private async view(tenant: string, forceRead: boolean): Promise<TenantView> {
    const { directory, meter } = this.deps.tenants;
    await directory.refresh(forceRead);
    const at = this.now();
    const day = utcDay(at);
    const [activity, gpu] = await Promise.all([this.deps.store.tenants.tenantActivity(tenant), this.deps.store.tenants.gpuSecondsOn(day)]);
    return {
      tenant,
      settings: directory.settings(tenant),
      override: directory.overrideOf(tenant),
      usage: {
        queued: activity[0]?.queued ?? 0,
        running: activity[0]?.running ?? 0,
        gpu_seconds_today: (gpu.get(tenant) ?? 0) + meter.unstored(tenant, day, at),
        day,
      },
    };
  }
}
