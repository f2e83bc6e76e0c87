/**
 * Weighted fair share (domain/fair-share.ts with domain/scheduling.ts), pure: a discrete-event
 * simulation of a saturated GPU pool, each tenant with a deep backlog of 1-GPU tasks, driven
 * exactly as the dispatcher drives the policy (observe → terms → schedule → started/ended).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FairShareClock, type TenantTerms } from '../../../src/domain/fair-share.ts';
import { resources, ZERO, add, sub, type Resources } from '../../../src/domain/resources.ts';
import { schedule, type Candidate } from '../../../src/domain/scheduling.ts';

interface SimTenant {
  name: string;
  weight: number;
  /** Task durations (s), cycled. */
  durations: number[];
  /** When its backlog arrives (s). */
  arrives: number;
  running_limit?: number;
}

interface SimResult {
  /** Per tenant: [start, end] of every task run. */
  runs: Map<string, [number, number][]>;
}

/** Runs the pool until `horizon` seconds. */
function simulate(gpus: number, tenants: readonly SimTenant[], horizon: number): SimResult {
  const capacity = resources({ cpu: 1000, gpu: gpus });
  const clock = new FairShareClock();
  const runs = new Map(tenants.map((t) => [t.name, [] as [number, number][]]));
  const issued = new Map(tenants.map((t) => [t.name, 0]));
  const running = new Map<string, { tenant: string; end: number }>();
  const byTenant = new Map<string, Resources>();
  let free = capacity;
  let seq = 0;
  const task = resources({ cpu: 0, gpu: 1 });
  const candidatesAt = (now: number): Candidate[] =>
    tenants
      .filter((t) => t.arrives <= now)
      .flatMap((t) => [0, 1, 2].map((k) => ({ id: `${t.name}#${(issued.get(t.name) as number) + k}`, tenant: t.name, priority: 0, created_at: t.arrives * 1000 + (issued.get(t.name) as number) + k, resources: task })));
  let now = 0;
  while (now < horizon) {
    const candidates = candidatesAt(now);
    const active = new Set([...candidates.map((c) => c.tenant), ...[...running.values()].map((r) => r.tenant)]);
    clock.catchUp(now * 1000);
    clock.observe(active);
    const terms = new Map<string, TenantTerms>(
      tenants.map((t) => [
        t.name,
        {
          weight: t.weight,
          pass: clock.passOf(t.name),
          estimate_s: clock.estimateOf(t.name),
          running_left: (t.running_limit ?? Infinity) - [...running.values()].filter((r) => r.tenant === t.name).length,
          gpu_blocked: false,
        },
      ]),
    );
    const { admit } = schedule({ candidates, capacity, free, usage: byTenant, tenants: terms });
    for (const id of admit) {
      const tenant = id.slice(0, id.indexOf('#'));
      const t = tenants.find((x) => x.name === tenant) as SimTenant;
      const n = issued.get(tenant) as number;
      issued.set(tenant, n + 1);
      const duration = t.durations[n % t.durations.length] as number;
      const key = `run${++seq}`;
      running.set(key, { tenant, end: now + duration });
      clock.started(key, tenant, task, capacity, t.weight, now * 1000);
      free = sub(free, task);
      byTenant.set(tenant, add(byTenant.get(tenant) ?? ZERO, task));
      runs.get(tenant)?.push([now, now + duration]);
      // Only the tasks issued are visible as candidates: re-read after each admit.
      break;
    }
    if (admit.length > 0) continue;
    // Nothing more starts now: jump to the next end (or arrival).
    const nextEnd = Math.min(...[...running.values()].map((r) => r.end), ...tenants.map((t) => (t.arrives > now ? t.arrives : Infinity)));
    if (!Number.isFinite(nextEnd)) break;
    now = nextEnd;
    for (const [key, r] of running) {
      if (r.end > now) continue;
      running.delete(key);
      clock.ended(key, now * 1000);
      free = add(free, task);
      byTenant.set(r.tenant, sub(byTenant.get(r.tenant) as Resources, task));
    }
  }
  return { runs };
}

const gpuSecondsIn = (runs: readonly [number, number][], from: number, to: number): number =>
  runs.reduce((s, [a, b]) => s + Math.max(0, Math.min(b, to) - Math.max(a, from)), 0);

/**
 * How far a tenant's measured share may stray from its due share: 5% of it, or one longest task
 * over the GPU-seconds measured, whichever is larger. Tasks are never preempted, so over a finite
 * window a share moves in whole tasks: a weight-1 tenant due 22 GPU-seconds of 400 on one GPU
 * cannot be nearer than a 1.5 s task allows (found by CI's seed -1209488919: 1.14 GPU-s off).
 */
const allowedError = (due: number, longestTask: number, total: number): number => Math.max(due * 0.05, longestTask / total);

const arbTenants = fc
  .array(
    fc.record({
      weight: fc.integer({ min: 1, max: 6 }),
      durations: fc.array(fc.constantFrom(0.2, 0.4, 0.5, 1, 1.5), { minLength: 1, maxLength: 4 }),
    }),
    { minLength: 2, maxLength: 4 },
  )
  .map((ts) => ts.map((t, i) => ({ ...t, name: `t${i}`, arrives: 0 })));

describe('weighted fair share', () => {
  it('property: tenants saturating a pool get GPU-seconds in proportion to their weights (±5% of each due share, or one task)', { timeout: 120_000 }, () => {
    fc.assert(
      fc.property(arbTenants, fc.integer({ min: 2, max: 8 }), (tenants, gpus) => {
        const horizon = 400;
        const { runs } = simulate(gpus, tenants, horizon);
        const used = tenants.map((t) => gpuSecondsIn(runs.get(t.name) ?? [], 0, horizon));
        const total = used.reduce((a, b) => a + b, 0);
        const weights = tenants.reduce((a, t) => a + t.weight, 0);
        expect(total).toBeGreaterThan(gpus * horizon * 0.99); // saturated
        const longest = Math.max(...tenants.flatMap((t) => t.durations));
        tenants.forEach((t, i) => {
          const due = t.weight / weights;
          expect(Math.abs((used[i] as number) / total - due)).toBeLessThanOrEqual(allowedError(due, longest, total));
        });
      }),
      { numRuns: 30 },
    );
  });

  it('property: a tenant arriving late starts within one task duration, then converges to its share', { timeout: 120_000 }, () => {
    fc.assert(
      fc.property(arbTenants, fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 10, max: 60 }), (early, gpus, weight, arrives) => {
        const late: SimTenant = { name: 'late', weight, durations: [0.4], arrives };
        const tenants = [...early, late];
        const horizon = arrives + 400;
        const { runs } = simulate(gpus, tenants, horizon);
        const first = Math.min(...(runs.get('late') ?? []).map(([start]) => start));
        const maxDuration = Math.max(...early.flatMap((t) => t.durations));
        expect(first - arrives).toBeLessThanOrEqual(maxDuration + 1e-9);
        // Over the time after it arrived, every tenant's share is its weight's.
        const from = arrives + maxDuration;
        const used = tenants.map((t) => gpuSecondsIn(runs.get(t.name) ?? [], from, horizon));
        const total = used.reduce((a, b) => a + b, 0);
        const weights = tenants.reduce((a, t) => a + t.weight, 0);
        tenants.forEach((t, i) => {
          const due = t.weight / weights;
          expect(Math.abs((used[i] as number) / total - due)).toBeLessThanOrEqual(allowedError(due, Math.max(maxDuration, 0.4), total));
        });
      }),
      { numRuns: 30 },
    );
  });

  it('a tenant at its running limit waits, and others take the slots it cannot use', () => {
    const tenants: SimTenant[] = [
      { name: 'capped', weight: 10, durations: [1], arrives: 0, running_limit: 1 },
      { name: 'other', weight: 1, durations: [1], arrives: 0 },
    ];
    const { runs } = simulate(4, tenants, 100);
    const capped = runs.get('capped') ?? [];
    // Never two at once, and always one (it is due far more than one GPU).
    for (const [a] of capped) expect(capped.filter(([s, e]) => s <= a && a < e)).toHaveLength(1);
    expect(gpuSecondsIn(capped, 0, 100)).toBeCloseTo(100, 0);
    expect(gpuSecondsIn(runs.get('other') ?? [], 0, 100)).toBeCloseTo(300, 0);
  });
});

describe('schedule() with tenant terms', () => {
  const cap = resources({ cpu: 8, gpu: 4 });
  const c = (id: string, tenant: string, gpu: number, created_at = 0): Candidate => ({ id, tenant, priority: 0, created_at, resources: resources({ cpu: 1, gpu }) });
  const terms = (o: Partial<TenantTerms> = {}): TenantTerms => ({ weight: 1, pass: 0, estimate_s: 1, running_left: Infinity, gpu_blocked: false, ...o });

  it('serves the tenant of the smallest pass first, and moves its pass by each start it admits', () => {
    const candidates = [c('a1', 'a', 1, 0), c('a2', 'a', 1, 1), c('a3', 'a', 1, 2), c('b1', 'b', 1, 3), c('b2', 'b', 1, 4)];
    // b weighs 3: each start costs it a third of what it costs a.
    const tenants = new Map([
      ['a', terms({ pass: 0 })],
      ['b', terms({ weight: 3, pass: 0.1 })],
    ]);
    const { admit } = schedule({ candidates, capacity: cap, free: resources({ cpu: 3, gpu: 3 }), usage: new Map(), tenants });
    // a (0) → a at 0.25; b (0.1) → b at 0.183; b (0.183) → b at 0.27; a (0.25)… only 3 fit.
    expect(admit).toEqual(['a1', 'b1', 'b2']);
  });

  it('passes over a tenant without running_left, and a GPU-blocked tenant’s GPU tasks, without reserving for them', () => {
    const candidates = [c('a1', 'a', 4), c('b1', 'b', 4), c('b2', 'b', 0), c('d1', 'd', 1)];
    const tenants = new Map([
      ['a', terms({ running_left: 0 })],
      ['b', terms({ gpu_blocked: true })],
      ['d', terms({ pass: 5 })],
    ]);
    const r = schedule({ candidates, capacity: cap, free: resources({ cpu: 8, gpu: 2 }), usage: new Map(), tenants });
    expect(r.admit).toEqual(['b2', 'd1']);
    expect(r.reserved).toBeNull();
  });
});
