import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { add, clampZero, dominantShare, fits, min, resources, sub, ZERO, type Resources } from '../../../src/domain/resources.ts';
import { schedule, type Candidate } from '../../../src/domain/scheduling.ts';

const cap = resources({ cpu: 8, memory_mb: 8000, gpu: 4 });
const cand = (id: string, o: Partial<Candidate> & { r?: Partial<Resources> } = {}): Candidate => ({
  id,
  tenant: o.tenant ?? 'default',
  priority: o.priority ?? 0,
  created_at: o.created_at ?? 0,
  resources: resources(o.r ?? { cpu: 1 }),
});

const arbCandidates = fc
  .array(
    fc.record({
      tenant: fc.constantFrom('a', 'b', 'c'),
      priority: fc.integer({ min: -1, max: 2 }),
      created_at: fc.integer({ min: 0, max: 100 }),
      cpu: fc.constantFrom(0.5, 1, 2, 3, 8),
      gpu: fc.integer({ min: 0, max: 4 }),
      memory_mb: fc.constantFrom(0, 500, 4000),
    }),
    { maxLength: 40 },
  )
  .map((xs) => xs.map((x, i) => cand(`t${i}`, { ...x, r: { cpu: x.cpu, gpu: x.gpu, memory_mb: x.memory_mb } })));

const arbUsed = fc.record({ cpu: fc.integer({ min: 0, max: 8 }), gpu: fc.integer({ min: 0, max: 4 }), memory_mb: fc.constantFrom(0, 2000, 8000) });

/**
 * The policy walked to the end of the queue, as it was written before schedule() learned to
 * stop early: the oracle for the property that stopping early never changes the answer.
 */
const scheduleToTheEnd = (candidates: readonly Candidate[], capacity: Resources, startFree: Resources, startUsage: ReadonlyMap<string, Resources>) => {
  const byAge = (a: Candidate, b: Candidate): number => a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const usage = new Map(startUsage);
  let free = startFree;
  let held: Resources | null = null;
  let reserved: string | null = null;
  const admit: string[] = [];
  for (const priority of [...new Set(candidates.map((c) => c.priority))].sort((a, b) => b - a)) {
    const queues = new Map<string, Candidate[]>();
    for (const c of candidates.filter((x) => x.priority === priority)) queues.set(c.tenant, [...(queues.get(c.tenant) ?? []), c]);
    for (const q of queues.values()) q.sort(byAge);
    while (queues.size > 0) {
      const share = (t: string) => dominantShare(usage.get(t) ?? ZERO, capacity);
      const [tenant, q] = [...queues].sort(([ta, qa], [tb, qb]) => share(ta) - share(tb) || byAge(qa[0]!, qb[0]!))[0]!;
      const task = q.shift()!;
      if (q.length === 0) queues.delete(tenant);
      if (fits(task.resources, held ? clampZero(sub(free, held)) : free)) {
        admit.push(task.id);
        free = sub(free, task.resources);
        usage.set(tenant, add(usage.get(tenant) ?? ZERO, task.resources));
      } else if (!held && fits(task.resources, capacity)) {
        reserved = task.id;
        held = clampZero(min(free, task.resources));
      }
    }
  }
  return { admit, reserved };
};

describe('scheduling policy', () => {
  it('property: stopping once nothing else can start gives the answer of a walk to the end of the queue', () => {
    fc.assert(
      fc.property(arbCandidates, arbUsed, fc.constantFrom('a', 'b', 'c'), (candidates, used, busy) => {
        const free = clampZero(sub(cap, resources(used)));
        const usage = new Map([[busy, resources(used)]]);
        expect(schedule({ candidates, capacity: cap, free, usage })).toEqual(scheduleToTheEnd(candidates, cap, free, usage));
      }),
      { numRuns: 500 },
    );
  });

  it('orders by priority, then age', () => {
    const r = schedule({
      candidates: [cand('old', { created_at: 1 }), cand('new', { created_at: 2 }), cand('high', { created_at: 3, priority: 5 })],
      capacity: resources({ cpu: 2 }),
      free: resources({ cpu: 2 }),
      usage: new Map(),
    });
    expect(r.admit).toEqual(['high', 'old']);
  });

  it('shares fairly between tenants of equal priority', () => {
    const candidates = [
      ...Array.from({ length: 10 }, (_, i) => cand(`a${i}`, { tenant: 'a', created_at: i })),
      ...Array.from({ length: 10 }, (_, i) => cand(`b${i}`, { tenant: 'b', created_at: 100 + i })),
    ];
    const r = schedule({ candidates, capacity: resources({ cpu: 4 }), free: resources({ cpu: 4 }), usage: new Map() });
    expect(r.admit.filter((id) => id.startsWith('a'))).toHaveLength(2);
    expect(r.admit.filter((id) => id.startsWith('b'))).toHaveLength(2);
  });

  it('counts what a tenant already runs', () => {
    const candidates = [cand('a0', { tenant: 'a', created_at: 0 }), cand('b0', { tenant: 'b', created_at: 5 })];
    const r = schedule({ candidates, capacity: resources({ cpu: 4 }), free: resources({ cpu: 1 }), usage: new Map([['a', resources({ cpu: 3 })]]) });
    expect(r.admit).toEqual(['b0']);
  });

  it('reserves for a big task so small ones only backfill what it does not need', () => {
    const candidates = [cand('big', { created_at: 0, r: { cpu: 4 } }), cand('s1', { created_at: 1 }), cand('s2', { created_at: 2 })];
    // 3 of 4 cpus free: big needs 4 and holds all 3, nothing is left to backfill.
    const r = schedule({ candidates, capacity: resources({ cpu: 4 }), free: resources({ cpu: 3 }), usage: new Map() });
    expect(r).toEqual({ admit: [], reserved: 'big' });
    // A GPU task waiting for GPUs does not block CPU-only work.
    const g = schedule({
      candidates: [cand('gpu', { created_at: 0, r: { cpu: 1, gpu: 2 } }), cand('cpu', { created_at: 1, r: { cpu: 1 } })],
      capacity: resources({ cpu: 4, gpu: 2 }),
      free: resources({ cpu: 3, gpu: 1 }),
      usage: new Map(),
    });
    expect(g).toEqual({ admit: ['cpu'], reserved: 'gpu' });
  });

  it('property: never admits beyond what is free', () => {
    fc.assert(
      fc.property(arbCandidates, arbUsed, (candidates, used) => {
        const free = sub(cap, resources(used));
        const r = schedule({ candidates, capacity: cap, free, usage: new Map() });
        const byId = new Map(candidates.map((c) => [c.id, c]));
        const total = r.admit.reduce((acc, id) => add(acc, (byId.get(id) as Candidate).resources), ZERO);
        expect(fits(total, free)).toBe(true);
        expect(new Set(r.admit).size).toBe(r.admit.length);
      }),
    );
  });

  it('property: without a reservation it is work-conserving (nothing left out that fits)', () => {
    fc.assert(
      fc.property(arbCandidates, arbUsed, (candidates, used) => {
        const free = sub(cap, resources(used));
        const r = schedule({ candidates, capacity: cap, free, usage: new Map() });
        if (r.reserved !== null) return;
        const byId = new Map(candidates.map((c) => [c.id, c]));
        const left = r.admit.reduce((acc, id) => sub(acc, (byId.get(id) as Candidate).resources), free);
        for (const c of candidates) if (!r.admit.includes(c.id)) expect(fits(c.resources, left)).toBe(false);
      }),
    );
  });

  it('property: with equal sizes, a higher priority task is never passed over for a lower one', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -3, max: 3 }), { maxLength: 30 }), fc.integer({ min: 0, max: 8 }), (prios, freeCpu) => {
        const candidates = prios.map((p, i) => cand(`t${i}`, { priority: p, created_at: i }));
        const r = schedule({ candidates, capacity: cap, free: resources({ cpu: freeCpu, gpu: 4, memory_mb: 8000 }), usage: new Map() });
        const admitted = new Set(r.admit);
        const minAdmitted = Math.min(...candidates.filter((c) => admitted.has(c.id)).map((c) => c.priority));
        for (const c of candidates) if (!admitted.has(c.id)) expect(c.priority).toBeLessThanOrEqual(minAdmitted);
      }),
    );
  });

  it('property: a big task at the head is never starved by a stream of small ones', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 50, maxLength: 50 }), (durations) => {
        const capacity = resources({ cpu: 4 });
        let queue: Candidate[] = [cand('big', { created_at: 0, r: { cpu: 4 } })];
        let running: { id: string; cpu: number; endsAt: number }[] = [{ id: 'warm', cpu: 3, endsAt: 2 }];
        let next = 1;
        for (let tick = 0; tick < 50; tick++) {
          running = running.filter((r) => r.endsAt > tick);
          // two small tasks arrive every tick
          for (let k = 0; k < 2; k++) queue.push(cand(`s${next}`, { created_at: next++ }));
          const used = running.reduce((a, r) => a + r.cpu, 0);
          const r = schedule({ candidates: queue, capacity, free: resources({ cpu: 4 - used }), usage: new Map() });
          if (r.admit.includes('big')) {
            expect(tick).toBeLessThanOrEqual(6); // longest running task ends by then
            return;
          }
          for (const id of r.admit) {
            const c = queue.find((q) => q.id === id) as Candidate;
            running.push({ id, cpu: c.resources.cpu, endsAt: tick + (durations[tick] as number) });
          }
          queue = queue.filter((q) => !r.admit.includes(q.id));
        }
        throw new Error('big task starved');
      }),
    );
  });
});
