/**
 * The quotas checked at submit: `max_queued` (the tenant's queued tasks plus the submission's
 * may not exceed it) and `gpu_seconds_per_day` (a submission with a GPU task is refused once
 * the tenant's GPU-seconds of the UTC day reached it). Over quota: 429 QUOTA_EXCEEDED and
 * nothing of the submission is stored (a batch is all or nothing).
 *
 * Check and insert of one tenant run one at a time in this process, so concurrent submits
 * here cannot together pass max_queued. Across processes the insert is handed the tenant's
 * max_queued (QueuedQuota): a store shared by several processes (PostgreSQL) counts the queued
 * tasks again under a per-tenant lock in the insert's own transaction, so submits through
 * several API processes at once cannot pass it either.
 */
import { LakerayError } from '../domain/errors.ts';
import type { Task } from '../domain/task.ts';
import type { QueuedQuota } from '../store/task-store.ts';
import type { TenantStore } from '../store/tenant-store.ts';
import type { TenantDirectory } from './directory.ts';
import type { GpuMeter } from './gpu-meter.ts';
import { nextUtcDay, utcDay } from './settings.ts';

export interface SubmitQuotaDeps {
  directory: TenantDirectory;
  store: TenantStore;
  meter: GpuMeter;
  now: () => number;
}

export class SubmitQuotas {
  /** Per tenant, the tail of its chain of check-then-insert runs. */
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: SubmitQuotaDeps) {}

  /**
   * Runs `insert` if the tenant's quotas allow `tasks`; throws QUOTA_EXCEEDED (and inserts
   * nothing) if not. `insert` gets the tenant's max_queued to check again in its transaction
   * (TaskStore.insert), when the tenant has one.
   */
  async admit<T>(tenant: string, tasks: readonly Task[], insert: (quota?: QueuedQuota) => Promise<T>): Promise<T> {
    const s = await this.deps.directory.fresh(tenant);
    if (s.max_queued === null && s.gpu_seconds_per_day === null) return insert();
    const prev = this.chains.get(tenant) ?? Promise.resolve();
    const run = prev.catch(() => {}).then(async () => {
      await this.check(tenant, tasks);
      const max = this.deps.directory.settings(tenant).max_queued;
      return insert(max === null ? undefined : { tenant, max_queued: max, refuse: (queued, adds) => queuedRefusal(tenant, queued, max, adds) });
    });
    this.chains.set(tenant, run);
    try {
      return await run;
    } finally {
      if (this.chains.get(tenant) === run) this.chains.delete(tenant);
    }
  }

  private async check(tenant: string, tasks: readonly Task[]): Promise<void> {
    const { directory, store, meter, now } = this.deps;
    const s = directory.settings(tenant);
    if (s.max_queued !== null) {
      const queued = (await store.tenantActivity(tenant))[0]?.queued ?? 0;
      if (queued + tasks.length > s.max_queued) throw queuedRefusal(tenant, queued, s.max_queued, tasks.length);
    }
    const limit = s.gpu_seconds_per_day;
    if (limit !== null && tasks.some((t) => t.resources.gpu > 0)) {
      const at = now();
      const day = utcDay(at);
      const used = ((await store.gpuSecondsOn(day)).get(tenant) ?? 0) + meter.unstored(tenant, day, at);
      if (used >= limit)
        throw new LakerayError(
          'QUOTA_EXCEEDED',
          `gpu_seconds_per_day: tenant "${tenant}" used ${Math.round(used)} of its ${limit} GPU-seconds of ${day} (UTC); GPU tasks are taken again from 00:00 UTC. Nothing was submitted`,
          undefined,
          nextUtcDay(at) - at,
        );
    }
  }
}

const queuedRefusal = (tenant: string, queued: number, max: number, adds: number): LakerayError =>
  new LakerayError(
    'QUOTA_EXCEEDED',
    `max_queued: tenant "${tenant}" has ${queued} task(s) queued and may have at most ${max}; this submission adds ${adds}. Nothing was submitted; retry once some have started`,
  );
