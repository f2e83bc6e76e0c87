/**
 * Charges GPU-seconds (GPUs × wall time) to tenants per UTC day, for the `gpu_seconds_per_day`
 * quota. The scheduler that owns an executor runs its tasks, so it charges them: from a task's
 * hold in the ledger to its release (a serving replica is a service task, so replicas are
 * charged the same way). A running task is also charged every `tickMs`, so a long runner's
 * usage counts while it runs, not only when it ends; a span that crosses 00:00 UTC is split
 * between the two days. Charges are added to the store (the truth every process reads) in
 * batches, at most `flushMs` after they accrue.
 *
 * A task adopted after a restart is charged from its adoption: what ran between the previous
 * owner's last charge and its death (at most one tick) is not charged.
 */
import type { GpuCharge, TenantStore } from '../store/tenant-store.ts';
import { nextUtcDay, utcDay } from './settings.ts';

interface Hold {
  tenant: string;
  gpus: number;
  /** Charged up to here (epoch ms). */
  since: number;
}

export interface GpuMeterOptions {
  store: TenantStore;
  now: () => number;
  tickMs?: number;
  flushMs?: number;
  onError?: (err: unknown, context: string) => void;
}

const keyOf = (tenant: string, day: string): string => `${day}\u0000${tenant}`;

export class GpuMeter {
  private readonly holds = new Map<string, Hold>();
  /** Accrued, not yet in the store: day\0tenant → GPU-seconds. */
  private pending = new Map<string, GpuCharge>();
  private flushing: Promise<void> | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly ticker: NodeJS.Timeout;

  constructor(private readonly opts: GpuMeterOptions) {
    this.ticker = setInterval(() => this.tick(), opts.tickMs ?? 5000);
    this.ticker.unref();
  }

  held(taskId: string, tenant: string, gpus: number): void {
    if (gpus > 0 && !this.holds.has(taskId)) this.holds.set(taskId, { tenant, gpus, since: this.opts.now() });
  }

  released(taskId: string): void {
    const h = this.holds.get(taskId);
    if (!h) return;
    this.holds.delete(taskId);
    this.accrue(h, this.opts.now());
    this.scheduleFlush();
  }

  /** GPU-seconds of `tenant` on `day` not in the store yet (accrued, or run since the last charge). */
  unstored(tenant: string, day: string, now: number): number {
    let s = this.pending.get(keyOf(tenant, day))?.gpu_seconds ?? 0;
    const dayStart = Date.parse(`${day}T00:00:00Z`);
    for (const h of this.holds.values()) if (h.tenant === tenant) s += (h.gpus * Math.max(0, now - Math.max(h.since, dayStart))) / 1000;
    return s;
  }

  /** Charge what every running task used so far, and store it. */
  tick(): void {
    const now = this.opts.now();
    for (const h of this.holds.values()) this.accrue(h, now);
    void this.flush();
  }

  /** Store what accrued; resolves once stored (or failed: it is kept for the next flush). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.flushing = this.opts.store
      .chargeGpuSeconds([...batch.values()])
      .catch((err: unknown) => {
        for (const c of batch.values()) this.add(c.tenant, c.day, c.gpu_seconds);
        this.opts.onError?.(err, 'charge GPU-seconds');
      })
      .finally(() => {
        this.flushing = null;
      });
    await this.flushing;
  }

  /** Charge the running tasks up to now, store everything, stop the ticker. */
  async stop(): Promise<void> {
    clearInterval(this.ticker);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    const now = this.opts.now();
    for (const h of this.holds.values()) this.accrue(h, now);
    await this.flush();
  }

  private accrue(h: Hold, until: number): void {
    while (h.since < until) {
      const end = Math.min(until, nextUtcDay(h.since));
      this.add(h.tenant, utcDay(h.since), (h.gpus * (end - h.since)) / 1000);
      h.since = end;
    }
  }

  private add(tenant: string, day: string, gpuSeconds: number): void {
    const key = keyOf(tenant, day);
    const c = this.pending.get(key);
    if (c) c.gpu_seconds += gpuSeconds;
    else this.pending.set(key, { tenant, day, gpu_seconds: gpuSeconds });
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      void this.flush();
    }, this.opts.flushMs ?? 1000);
    this.flushTimer.unref();
  }
}
