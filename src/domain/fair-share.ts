/**
 * Weighted fair share across tenants on one executor: start-time fair queuing over
 * "pool-seconds" (a task's dominant share of the executor × its wall time; for 1-GPU tasks on
 * a GPU pool that is GPU-seconds / GPUs).
 *
 * Each tenant has a virtual time, its `pass`: what it was charged divided by its weight. The
 * scheduler serves the tenant with the smallest pass next (scheduling.ts). A task is charged
 * when it starts, with an estimate (the tenant's recent mean duration), and corrected when it
 * ends (or while it runs past the estimate, `catchUp`), so over time each tenant is charged
 * exactly what it used, and tenants that wait together get pool-seconds in proportion to
 * their weights.
 *
 * A tenant that was idle (nothing queued or running here) and comes back starts at the
 * system's virtual time: the smallest start tag (its tenant's pass when it started) of the
 * tasks running here, which is below every running tenant's pass by at least what that
 * tenant's running task was charged. So its first task takes one of the next slots that free
 * (within one task duration on a saturated pool) and from then on at its weight; it neither banks credit while
 * idle nor pays for what others used meanwhile. When nothing at all was active (the pool was
 * idle), history is forgotten.
 */
import { dominantShare, type Resources } from './resources.ts';

/** What the scheduling policy needs to know of a tenant (scheduling.ts). */
export interface TenantTerms {
  weight: number;
  /** Charged pool-seconds / weight: the smaller, the sooner it is served. */
  pass: number;
  /** Seconds its next task is expected to run (what it is charged at its start). */
  estimate_s: number;
  /** How many more tasks it may start now (max_running); Infinity when unlimited. */
  running_left: number;
  /** Its GPU tasks wait (its GPU-seconds of the day are used up). */
  gpu_blocked: boolean;
}

/** What starting a task costs its tenant's pass before the task's real duration is known. */
export const startCharge = (resources: Resources, capacity: Resources, terms: Pick<TenantTerms, 'weight' | 'estimate_s'>): number =>
  (dominantShare(resources, capacity) * terms.estimate_s) / terms.weight;

/** How fast the duration estimate follows the latest task (exponential moving average). */
const EWMA = 0.3;

interface Charge {
  tenant: string;
  share: number;
  weight: number;
  /** Pool-seconds charged so far (the estimate, then more while it runs past it). */
  cost: number;
  started_at: number;
  /** Its tenant's pass before this task was charged (the task's start tag). */
  start_tag: number;
}

export class FairShareClock {
  private readonly pass = new Map<string, number>();
  private readonly estimate = new Map<string, number>();
  private readonly charges = new Map<string, Charge>();
  private active = new Set<string>();

  constructor(private readonly initialEstimateS = 1) {}

  /**
   * The tenants active now (something queued that may start, or something running). Those
   * that were not active at the last call start at the smallest pass of those that were.
   */
  observe(activeNow: ReadonlySet<string>): void {
    if (this.active.size === 0) this.pass.clear();
    else {
      let floor = Infinity;
      for (const c of this.charges.values()) floor = Math.min(floor, c.start_tag);
      // Nothing running (only queued work held back): the smallest pass of those active.
      if (floor === Infinity) for (const t of this.active) floor = Math.min(floor, this.pass.get(t) ?? 0);
      for (const t of activeNow) if (!this.active.has(t) && (this.pass.get(t) ?? -Infinity) < floor) this.pass.set(t, floor);
    }
    this.active = new Set(activeNow);
  }

  passOf(tenant: string): number {
    return this.pass.get(tenant) ?? 0;
  }

  estimateOf(tenant: string): number {
    return this.estimate.get(tenant) ?? this.initialEstimateS;
  }

  /** A task started (holds its resources from `now`): charge its estimate. */
  started(id: string, tenant: string, resources: Resources, capacity: Resources, weight: number, now: number): void {
    if (this.charges.has(id)) return;
    const share = dominantShare(resources, capacity);
    const cost = share * this.estimateOf(tenant);
    const start_tag = this.passOf(tenant);
    this.charges.set(id, { tenant, share, weight, cost, started_at: now, start_tag });
    this.pass.set(tenant, start_tag + cost / weight);
  }

  /** A task ended (or its claim failed): charge what it really used instead of the estimate. */
  ended(id: string, now: number): void {
    const c = this.charges.get(id);
    if (!c) return;
    this.charges.delete(id);
    const seconds = Math.max(0, now - c.started_at) / 1000;
    this.pass.set(c.tenant, this.passOf(c.tenant) + (c.share * seconds - c.cost) / c.weight);
    // A claim that failed never ran: it says nothing about the tenant's durations.
    if (seconds > 0.001) this.estimate.set(c.tenant, (1 - EWMA) * this.estimateOf(c.tenant) + EWMA * seconds);
  }

  /** Running tasks past their estimate are charged what they used so far (a long runner counts while it runs). */
  catchUp(now: number): void {
    for (const c of this.charges.values()) {
      const used = (c.share * Math.max(0, now - c.started_at)) / 1000;
      if (used <= c.cost) continue;
      this.pass.set(c.tenant, this.passOf(c.tenant) + (used - c.cost) / c.weight);
      c.cost = used;
    }
  }
}
