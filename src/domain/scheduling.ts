/**
 * The scheduling policy: which queued tasks to start now on one executor.
 *
 * Order: priority (higher first), then fair share across tenants, then age (older first, id
 * as tie-break). Fair share: with `tenants` given, the tenant of the smallest weighted virtual
 * time (its `pass`, fair-share.ts), each task admitted in this round adding its start charge;
 * without, the tenant using the smallest dominant share of the executor, counting what this
 * round already admitted.
 *
 * Quotas (`tenants`): a tenant with no `running_left` has nothing admitted, and a tenant whose
 * GPU-seconds of the day are used up has no GPU task admitted; such tasks are passed over, not
 * refused, and take no reservation: they stay queued. The first task in that order that does not fit what
 * is free gets a reservation: it holds every free unit it needs, so resources freed by
 * finishing tasks accrue to it until it fits; later tasks backfill only into what the
 * reservation does not hold. A task can therefore never be starved by a stream of smaller
 * ones. Tasks larger than the whole capacity are refused at submit, never queued.
 *
 * Once a reservation is held and what is left is below the smallest request among the
 * candidates (in cpu, memory or GPUs), no later task can change the answer: the walk stops
 * there instead of visiting the rest of a long queue (the dispatcher calls this per settle).
 */
import { startCharge, type TenantTerms } from './fair-share.ts';
import { add, clampZero, dominantShare, fits, min, sub, type Resources } from './resources.ts';

export interface Candidate {
  id: string;
  tenant: string;
  priority: number;
  created_at: number;
  resources: Resources;
}

export interface ScheduleInput {
  /** Queued tasks that may start now (not_before passed), any order. */
  candidates: readonly Candidate[];
  capacity: Resources;
  /** capacity minus what running tasks hold. */
  free: Resources;
  /** What each tenant's running tasks hold on this executor. */
  usage: ReadonlyMap<string, Resources>;
  /** Per tenant: weight, virtual time and quotas (fair-share.ts). A tenant absent has weight 1, pass 0, no limits. */
  tenants?: ReadonlyMap<string, TenantTerms>;
}

const UNLIMITED: TenantTerms = Object.freeze({ weight: 1, pass: 0, estimate_s: 1, running_left: Infinity, gpu_blocked: false });

export interface ScheduleResult {
  admit: string[];
  /** The task holding a reservation, if the head of the queue did not fit. */
  reserved: string | null;
}

/** The smallest cpu, memory and GPU request among `candidates`: no task needs less. */
const smallestRequest = (candidates: readonly Candidate[]): Resources => {
  let cpu = Infinity;
  let memory_mb = Infinity;
  let gpu = Infinity;
  for (const { resources: r } of candidates) {
    if (r.cpu < cpu) cpu = r.cpu;
    if (r.memory_mb < memory_mb) memory_mb = r.memory_mb;
    if (r.gpu < gpu) gpu = r.gpu;
  }
  return { cpu, memory_mb, gpu, custom: {} };
};

const byAge = (a: Candidate, b: Candidate): number => a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export const schedule = ({ candidates, capacity, free: startFree, usage: startUsage, tenants: terms }: ScheduleInput): ScheduleResult => {
  // Per priority level, per tenant, a queue ordered by age.
  const levels = new Map<number, Map<string, Candidate[]>>();
  for (const c of candidates) {
    let tenants = levels.get(c.priority);
    if (!tenants) levels.set(c.priority, (tenants = new Map()));
    let q = tenants.get(c.tenant);
    if (!q) tenants.set(c.tenant, (q = []));
    q.push(c);
  }
  for (const tenants of levels.values()) for (const q of tenants.values()) q.sort(byAge);

  const usage = new Map(startUsage);
  // This round's copy of each tenant's pass and running allowance, moved by what it admits.
  const pass = new Map<string, number>();
  const runningLeft = new Map<string, number>();
  const termsOf = (tenant: string): TenantTerms => terms?.get(tenant) ?? UNLIMITED;
  const shareOf = (tenant: string): number =>
    terms ? (pass.get(tenant) ?? termsOf(tenant).pass) : dominantShare(usage.get(tenant) ?? { cpu: 0, memory_mb: 0, gpu: 0, custom: {} }, capacity);
  const heldBack = (task: Candidate): boolean => {
    if (!terms) return false;
    const t = termsOf(task.tenant);
    return (runningLeft.get(task.tenant) ?? t.running_left) <= 0 || (t.gpu_blocked && task.resources.gpu > 0);
  };

  let free = startFree;
  let held: Resources | null = null; // what the reservation holds
  let reserved: string | null = null;
  const admit: string[] = [];
  const smallest = smallestRequest(candidates);

  levels: for (const priority of [...levels.keys()].sort((a, b) => b - a)) {
    const tenants = levels.get(priority) as Map<string, Candidate[]>;
    const heads = new Map<string, number>([...tenants.keys()].map((t) => [t, 0]));
    while (heads.size > 0) {
      // Next tenant: smallest share, then its oldest task's age.
      let pick: string | null = null;
      let pickShare = Infinity;
      let pickTask: Candidate | null = null;
      for (const [tenant, i] of heads) {
        const task = (tenants.get(tenant) as Candidate[])[i] as Candidate;
        const share = shareOf(tenant);
        if (share < pickShare || (share === pickShare && pickTask !== null && byAge(task, pickTask) < 0)) {
          pick = tenant;
          pickShare = share;
          pickTask = task;
        }
      }
      const tenant = pick as string;
      const task = pickTask as Candidate;
      const next = (heads.get(tenant) as number) + 1;
      if (next >= (tenants.get(tenant) as Candidate[]).length) heads.delete(tenant);
      else heads.set(tenant, next);

      if (heldBack(task)) continue;
      const available = held ? clampZero(sub(free, held)) : free;
      if (fits(task.resources, available)) {
        admit.push(task.id);
        free = sub(free, task.resources);
        usage.set(tenant, add(usage.get(tenant) ?? { cpu: 0, memory_mb: 0, gpu: 0, custom: {} }, task.resources));
        if (terms) {
          const t = termsOf(tenant);
          pass.set(tenant, shareOf(tenant) + startCharge(task.resources, capacity, t));
          runningLeft.set(tenant, (runningLeft.get(tenant) ?? t.running_left) - 1);
        }
      } else if (!held && fits(task.resources, capacity)) {
        reserved = task.id;
        held = clampZero(min(free, task.resources));
      }
      if (held && !fits(smallest, clampZero(sub(free, held)))) break levels;
    }
  }
  return { admit, reserved };
};
