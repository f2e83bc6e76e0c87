/**
 * What the dispatcher knows of tenants when it admits tasks: their fair-share terms (weight and
 * virtual time, one FairShareClock per executor) and their quotas (max_running, GPU-seconds of
 * the day). The scheduling policy (domain/scheduling.ts) passes over a tenant's tasks its
 * quotas hold back: they stay queued, and the dispatcher looks again every RECHECK_MS while
 * something is held back (a slot freed on another scheduler, an admin raised the quota, the
 * UTC day turned); a task of that tenant ending here frees its slot at once.
 *
 * Running counts: this scheduler's own from its ledgers (exact, synchronous), other schedulers'
 * from the store, read at most every RECHECK_MS and only while some tenant has such a limit.
 * That view can be stale by what others started since; the store has the last word: the
 * claims of a tenant with max_running carry it (withRunningQuotas) and the store refuses those
 * over it in the claim's transaction (TransitionRequest.running_quota). A claim refused so
 * makes the next refresh re-read the counts (stale()). GPU-seconds: the store's total of the
 * day plus what this scheduler's meter has not stored yet.
 */
import { FairShareClock, type TenantTerms } from '../domain/fair-share.ts';
import type { Task } from '../domain/task.ts';
import type { TransitionRequest } from '../store/task-store.ts';
import type { TenantStore } from '../store/tenant-store.ts';
import type { TenantDirectory } from '../tenants/directory.ts';
import type { GpuMeter } from '../tenants/gpu-meter.ts';
import { nextUtcDay, utcDay } from '../tenants/settings.ts';
import type { Ledger, LedgerListener } from './ledger.ts';

/** How often other schedulers' running counts are re-read while a quota holds tasks back. */
export const RECHECK_MS = 1000;
/** How often running tasks past their estimate are charged to their tenant's pass. */
const CATCH_UP_MS = 250;

export interface TenantGateDeps {
  directory: TenantDirectory;
  store: TenantStore;
  meter: GpuMeter;
  /** This scheduler's lease owner id: its running tasks are counted from the ledgers. */
  owner: string;
  ledgers: ReadonlyMap<string, Ledger>;
  now: () => number;
}

export class TenantGate {
  private readonly clocks = new Map<string, FairShareClock>();
  private readonly caughtUpAt = new Map<string, number>();
  private remoteRunning = new Map<string, number>();
  private gpuStored = new Map<string, number>();
  private day = '';
  private readAt = -Infinity;

  constructor(private readonly deps: TenantGateDeps) {}

  /** The listener of an executor's ledger: fair-share charges and GPU-seconds follow its holds. */
  listener(executor: string): LedgerListener {
    const clock = this.clockOf(executor);
    const { meter, directory, now } = this.deps;
    return {
      held: (id, tenant, resources, capacity) => {
        clock.started(id, tenant, resources, capacity, directory.settings(tenant).weight, now());
        meter.held(id, tenant, resources.gpu);
      },
      released: (id) => {
        clock.ended(id, now());
        meter.released(id);
      },
    };
  }

  /** Re-read overrides, other schedulers' running counts and the day's GPU-seconds when due. */
  async refresh(): Promise<void> {
    const { directory, store, owner, now } = this.deps;
    await directory.refresh();
    const at = now();
    if (!directory.limitsDispatch || at - this.readAt < RECHECK_MS) return;
    const day = utcDay(at);
    const [activity, gpu] = await Promise.all([store.tenantActivity(undefined, owner), store.gpuSecondsOn(day)]);
    this.remoteRunning = new Map(activity.map((a) => [a.tenant, a.running]));
    this.gpuStored = gpu;
    this.day = day;
    this.readAt = at;
  }

  /** Sets the tenant's max_running on the claims (`requests[i]` claims `tasks[i]`) of tenants that have one: the store enforces it across schedulers. */
  withRunningQuotas(tasks: readonly Task[], requests: TransitionRequest[]): void {
    const { directory } = this.deps;
    if (!directory.limitsDispatch) return; // no tenant has max_running: claims stay as they are
    for (const [i, task] of tasks.entries()) {
      const max = directory.settings(task.tenant).max_running;
      if (max !== null) requests[i]!.running_quota = { tenant: task.tenant, max_running: max };
    }
  }

  /** The store refused a claim over a tenant's max_running: other schedulers' counts are re-read at the next refresh. */
  stale(): void {
    this.readAt = -Infinity;
  }

  /**
   * The terms of every tenant among `candidates` (and those running on the executor), for one
   * scheduling pass. `recheckAt`: when to look again because a quota held something back.
   */
  terms(executor: string, candidates: readonly Task[], ledger: Ledger): { tenants: Map<string, TenantTerms>; recheckAt: number | null } {
    const { directory, now } = this.deps;
    const at = now();
    const clock = this.clockOf(executor);
    if (at - (this.caughtUpAt.get(executor) ?? -Infinity) >= CATCH_UP_MS) {
      clock.catchUp(at);
      this.caughtUpAt.set(executor, at);
    }
    const tenants = new Map<string, TenantTerms>();
    const active = new Set<string>(ledger.tenants());
    let recheckAt: number | null = null;
    for (const task of candidates) {
      if (tenants.has(task.tenant)) continue;
      const s = directory.settings(task.tenant);
      const running_left = s.max_running === null ? Infinity : s.max_running - this.runningOf(task.tenant);
      const gpu_blocked = s.gpu_seconds_per_day !== null && this.gpuToday(task.tenant, at) >= s.gpu_seconds_per_day;
      tenants.set(task.tenant, { weight: s.weight, pass: 0, estimate_s: clock.estimateOf(task.tenant), running_left, gpu_blocked });
      // Held back: look again soon (a slot may free on another scheduler, an admin may raise the quota, the day may turn).
      if (running_left <= 0 || gpu_blocked) recheckAt = Math.min(recheckAt ?? Infinity, at + RECHECK_MS, gpu_blocked ? nextUtcDay(at) : Infinity);
      // A tenant whose quota holds it back waits outside fair share: back, it starts from the others' pass.
      if (running_left > 0 && !gpu_blocked) active.add(task.tenant);
    }
    clock.observe(active);
    for (const [tenant, t] of tenants) t.pass = clock.passOf(tenant);
    return { tenants, recheckAt };
  }

  private runningOf(tenant: string): number {
    let n = this.remoteRunning.get(tenant) ?? 0;
    for (const ledger of this.deps.ledgers.values()) n += ledger.holdsOf(tenant);
    return n;
  }

  private gpuToday(tenant: string, at: number): number {
    const day = utcDay(at);
    const stored = day === this.day ? (this.gpuStored.get(tenant) ?? 0) : 0;
    return stored + this.deps.meter.unstored(tenant, day, at);
  }

  private clockOf(executor: string): FairShareClock {
    let clock = this.clocks.get(executor);
    if (!clock) this.clocks.set(executor, (clock = new FairShareClock()));
    return clock;
  }
}
