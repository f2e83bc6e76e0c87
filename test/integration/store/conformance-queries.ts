/** Conformance: list() with keyset paging, queued(), queuePositions(), leases. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LakerayError } from '../../../src/domain/errors.ts';
import type { Task } from '../../../src/domain/task.ts';
import type { QueuedQuery, TaskStore } from '../../../src/store/task-store.ts';
import { makeTask, type OpenStore, seed, start, T0, uniq, useStore } from './fixtures.ts';

/** Newest first, ties broken by id descending: the order list() promises. */
const newestFirst = (a: Task, b: Task): number => b.created_at - a.created_at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
/** Dispatch order: priority desc, then oldest, then id. */
const dispatchOrder = (a: Task, b: Task): number => b.priority - a.priority || a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

const ids = (tasks: Task[]): string[] => tasks.map((t) => t.id);

/** What queued() must answer, computed from the tasks as stored. */
const expectedQueued = (tasks: Task[], q: QueuedQuery): Task[] => {
  const ready = tasks.filter((t) => t.status === 'pending' && t.executor === q.executor && (t.not_before === null || t.not_before <= q.now));
  const byTenant = new Map<string, Task[]>();
  for (const t of ready) byTenant.set(t.tenant, [...(byTenant.get(t.tenant) ?? []), t]);
  const capped = [...byTenant.values()].flatMap((list) => list.sort(dispatchOrder).slice(0, q.per_tenant));
  return capped.sort(dispatchOrder).slice(0, q.limit);
};

const pageAll = async (store: TaskStore, filter: { tenant: string }, limit: number, between?: (page: number) => Promise<void>): Promise<Task[]> => {
  const out: Task[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const res = await store.list({ ...filter, limit, ...(cursor !== undefined ? { cursor } : {}) });
    expect(res.tasks.length).toBeLessThanOrEqual(limit);
    out.push(...res.tasks);
    if (res.next_cursor === null) return out;
    cursor = res.next_cursor;
    await between?.(page);
  }
  throw new Error('paging did not end');
};

/** Median of five timed runs after one warm-up run. */
const timed = async <T>(run: () => Promise<T>): Promise<{ result: T; median: number; times: number[] }> => {
  let result = await run();
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const began = performance.now();
    result = await run();
    times.push(performance.now() - began);
  }
  return { result, median: [...times].sort((a, b) => a - b)[2]!, times };
};
const runs = (times: number[]): string => times.map((t) => t.toFixed(1)).join(', ');

export function queryConformance(open: OpenStore): void {
  const store = useStore(open);

  describe('list', () => {
    it('lists newest first, ties broken by id, and respects the limit', async () => {
      const tenant = uniq('tenant');
      const tasks = await seed(store(), [0, 5, 5, 5, 2, 9].map((d) => makeTask({ tenant, created_at: T0 + d })));
      const all = await store().list({ tenant, limit: 100 });
      expect(ids(all.tasks)).toEqual(ids([...tasks].sort(newestFirst)));
      expect(all.next_cursor).toBeNull();
      expect((await store().list({ tenant, limit: 4 })).tasks).toHaveLength(4);
    });

    it('filters by status, exact name, name prefix, executor and combinations', async () => {
      const tenant = uniq('tenant');
      const executor = uniq('exec');
      const [v1, v2, , m, odd] = await seed(store(), [
        makeTask({ tenant, name: 'video_gen', created_at: T0 + 1 }),
        makeTask({ tenant, name: 'video_up', executor, created_at: T0 + 2 }),
        makeTask({ tenant, name: 'vid', created_at: T0 + 3 }),
        makeTask({ tenant, name: 'mnist', executor, created_at: T0 + 4 }),
        makeTask({ tenant, name: 'a%_x', created_at: T0 + 5 }),
        makeTask({ tenant, name: 'abcd', created_at: T0 + 6 }),
      ]);
      await start(store(), v2!.id);
      await store().transition([{ id: m!.id, from: ['pending'], to: 'cancelled', patch: {}, now: T0 + 9 }]);
      const names = async (f: Parameters<TaskStore['list']>[0]) => (await store().list(f)).tasks.map((t) => t.name);
      expect(await names({ tenant, name: 'video_gen', limit: 10 })).toEqual(['video_gen']);
      expect(await names({ tenant, name: 'video*', limit: 10 })).toEqual(['video_up', 'video_gen']);
      expect(await names({ tenant, name: 'vid*', limit: 10 })).toEqual(['vid', 'video_up', 'video_gen']);
      // Prefix matching is literal: SQL wildcards in the name match only themselves.
      expect(await names({ tenant, name: 'a%_*', limit: 10 })).toEqual([odd!.name]);
      expect(await names({ tenant, status: ['running', 'cancelled'], limit: 10 })).toEqual(['mnist', 'video_up']);
      expect(await names({ tenant, status: ['pending'], limit: 10 })).toEqual(['abcd', 'a%_x', 'vid', 'video_gen']);
      expect(await names({ tenant, executor, limit: 10 })).toEqual(['mnist', 'video_up']);
      expect(await names({ executor, limit: 10 })).toEqual(['mnist', 'video_up']);
      // Across tenants, only the tasks that hold a lease (SQLite reads them from tasks_leased).
      expect(await names({ executor, status: ['running', 'cancelling'], limit: 10 })).toEqual(['video_up']);
      expect(await names({ executor, status: ['cancelled'], limit: 10 })).toEqual(['mnist']);
      expect(await names({ tenant, executor, status: ['running'], name: 'video*', limit: 10 })).toEqual(['video_up']);
      expect(await names({ tenant: uniq('nobody'), limit: 10 })).toEqual([]);
      expect(v1!.name).toBe('video_gen');
    });

    it('pages with an opaque cursor through every row exactly once', async () => {
      const tenant = uniq('tenant');
      const tasks = await seed(store(), Array.from({ length: 25 }, (_, i) => makeTask({ tenant, created_at: T0 + (i % 7) })));
      const first = await store().list({ tenant, limit: 10 });
      expect(first.tasks).toHaveLength(10);
      expect(typeof first.next_cursor).toBe('string');
      expect(ids(await pageAll(store(), { tenant }, 10))).toEqual(ids([...tasks].sort(newestFirst)));
      // A page that ends exactly at the last row says so.
      expect(await pageAll(store(), { tenant }, 5)).toHaveLength(25);
      expect((await store().list({ tenant, limit: 25 })).next_cursor).toBeNull();
    });

    it('stays stable while tasks are inserted between pages', async () => {
      const tenant = uniq('tenant');
      const existing = await seed(store(), Array.from({ length: 30 }, (_, i) => makeTask({ tenant, created_at: T0 + 1000 + (i % 11) })));
      let k = 0;
      const seen = await pageAll(store(), { tenant }, 7, async () => {
        // Newer, equally old and older rows arrive while a client pages.
        await seed(store(), [makeTask({ tenant, created_at: T0 + 5000 + k }), makeTask({ tenant, created_at: T0 + 1005 }), makeTask({ tenant, created_at: T0 + k })]);
        k++;
      });
      expect(new Set(ids(seen)).size).toBe(seen.length);
      const seenIds = new Set(ids(seen));
      expect(existing.filter((t) => !seenIds.has(t.id))).toEqual([]);
      // Pages are in order across the whole walk.
      for (let i = 1; i < seen.length; i++) expect(newestFirst(seen[i - 1]!, seen[i]!)).toBeLessThan(0);
    });

    it('rejects a malformed cursor with INVALID_REQUEST', async () => {
      for (const cursor of ['not a cursor', 'e30', '']) {
        const error: unknown = await store()
          .list({ tenant: uniq('tenant'), cursor, limit: 5 })
          .then(
            () => undefined,
            (err: unknown) => err,
          );
        expect(error).toBeInstanceOf(LakerayError);
        expect((error as LakerayError).code).toBe('INVALID_REQUEST');
      }
    });
  });

  describe('queued', () => {
    it('returns the top per_tenant ready tasks of each tenant on one executor', async () => {
      const executor = uniq('exec');
      const [ta, tb, tc] = [uniq('tenant'), uniq('tenant'), uniq('tenant')];
      const now = T0 + 100;
      const tasks = await seed(store(), [
        makeTask({ executor, tenant: ta, priority: 0, created_at: T0 + 1 }),
        makeTask({ executor, tenant: ta, priority: 5, created_at: T0 + 9 }),
        makeTask({ executor, tenant: ta, priority: 0, created_at: T0 + 1 }),
        makeTask({ executor, tenant: ta, priority: 0, created_at: T0 + 0 }),
        makeTask({ executor, tenant: tb, priority: 1, created_at: T0 + 3 }),
        makeTask({ executor, tenant: tb, priority: 9, created_at: T0 + 4, not_before: now + 1 }), // not yet
        makeTask({ executor, tenant: tb, priority: 0, created_at: T0 + 5, not_before: now }), // due exactly now
        makeTask({ executor, tenant: tc, priority: 3, created_at: T0 + 6 }),
        makeTask({ executor: uniq('other'), tenant: tc, priority: 99 }),
      ]);
      const running = makeTask({ executor, tenant: tc, priority: 100 });
      await seed(store(), [running]);
      await start(store(), running.id);

      const got = await store().queued({ executor, now, per_tenant: 2, limit: 100 });
      const byTenant = (tenant: string) => got.filter((t) => t.tenant === tenant);
      const expectTop = (tenant: string, n: number) => {
        const ready = tasks.filter((t) => t.tenant === tenant && t.executor === executor && (t.not_before === null || t.not_before <= now));
        expect(ids(byTenant(tenant))).toEqual(ids(ready.sort(dispatchOrder).slice(0, n)));
      };
      expectTop(ta, 2);
      expectTop(tb, 2);
      expectTop(tc, 2);
      expect(got).toHaveLength(5);
      expect(got.every((t) => t.status === 'pending')).toBe(true);
      expect(ids(got)).toEqual(ids([...got].sort(dispatchOrder)));
      expect(await store().queued({ executor, now, per_tenant: 10, limit: 100 })).toHaveLength(7);
      expect(await store().queued({ executor: uniq('empty'), now, per_tenant: 10, limit: 100 })).toEqual([]);
    });

    it('caps a lone tenant at per_tenant too (its ready tasks, in dispatch order)', async () => {
      const executor = uniq('exec');
      const tenant = uniq('tenant');
      const now = T0 + 100;
      const tasks = await seed(store(), [
        makeTask({ executor, tenant, priority: 0, created_at: T0 + 1 }),
        makeTask({ executor, tenant, priority: 7, created_at: T0 + 5, not_before: now + 1 }), // not yet
        makeTask({ executor, tenant, priority: 2, created_at: T0 + 3 }),
        makeTask({ executor, tenant, priority: 0, created_at: T0 + 0 }),
      ]);
      const ready = tasks.filter((t) => t.not_before === null).sort(dispatchOrder);
      expect(ids(await store().queued({ executor, now, per_tenant: 2, limit: 100 }))).toEqual(ids(ready.slice(0, 2)));
      expect(ids(await store().queued({ executor, now, per_tenant: 2, limit: 1 }))).toEqual(ids(ready.slice(0, 1)));
    });

    it('returns at most `limit` in all: the overall top of the per-tenant-limited set', async () => {
      const executor = uniq('exec');
      const [ta, tb, tc] = [uniq('tenant'), uniq('tenant'), uniq('tenant')];
      const now = T0 + 100;
      const [a9, a8, , b5, b5late, , c9] = await seed(store(), [
        makeTask({ executor, tenant: ta, priority: 9, created_at: T0 + 1 }),
        makeTask({ executor, tenant: ta, priority: 8, created_at: T0 + 1 }),
        makeTask({ executor, tenant: ta, priority: 7, created_at: T0 + 1 }), // over ta's quota of 2
        makeTask({ executor, tenant: tb, priority: 5, created_at: T0 + 2 }),
        makeTask({ executor, tenant: tb, priority: 5, created_at: T0 + 3 }),
        makeTask({ executor, tenant: tb, priority: 10, created_at: T0 + 1, not_before: now + 1 }), // not ready
        makeTask({ executor, tenant: tc, priority: 9, created_at: T0 + 2 }),
        makeTask({ executor, tenant: tc, priority: 1, created_at: T0 + 3 }),
      ]);
      const q = (per_tenant: number, limit: number) => store().queued({ executor, now, per_tenant, limit });
      // Per-tenant set (quota 2): a9 a8 | b5 b5late | c9 c1; overall order a9, c9 (later), a8, b5, b5late, c1.
      expect(ids(await q(2, 3))).toEqual(ids([a9!, c9!, a8!]));
      expect(ids(await q(2, 5))).toEqual(ids([a9!, c9!, a8!, b5!, b5late!]));
      expect(await q(2, 6)).toHaveLength(6);
      expect(await q(2, 100)).toHaveLength(6);
      expect(ids(await q(1, 2))).toEqual(ids([a9!, c9!]));
      expect(ids(await q(100, 1))).toEqual([a9!.id]);
      expect(await q(2, 0)).toEqual([]);
      expect(await q(0, 10)).toEqual([]);
    });

    it('property: agrees with a model of per-tenant quotas, limit, readiness and order', async () => {
      const task = fc.record({
        tenant: fc.nat({ max: 11 }),
        priority: fc.integer({ min: -1, max: 2 }),
        created: fc.nat({ max: 5 }),
        notBefore: fc.option(fc.integer({ min: 0, max: 20 }), { nil: null }),
        fate: fc.constantFrom('pending', 'pending', 'pending', 'running', 'cancelled', 'other-executor'),
      });
      const scenario = fc.record({
        tasks: fc.array(task, { maxLength: 60 }),
        per_tenant: fc.integer({ min: 1, max: 6 }),
        limit: fc.integer({ min: 1, max: 40 }),
      });
      await fc.assert(
        fc.asyncProperty(scenario, async (s) => {
          const executor = uniq('exec');
          const tenants = Array.from({ length: 12 }, () => uniq('tenant'));
          const made = s.tasks.map((t) =>
            makeTask({
              executor: t.fate === 'other-executor' ? uniq('other') : executor,
              tenant: tenants[t.tenant]!,
              priority: t.priority,
              created_at: T0 + t.created,
              not_before: t.notBefore === null ? null : T0 + t.notBefore,
            }),
          );
          await seed(store(), made);
          const stored = new Map(made.map((t) => [t.id, t]));
          for (const [i, t] of s.tasks.entries()) {
            const id = made[i]!.id;
            if (t.fate === 'running') stored.set(id, await start(store(), id));
            if (t.fate === 'cancelled') {
              const [r] = await store().transition([{ id, from: ['pending'], to: 'cancelled', patch: {}, now: T0 + 1 }]);
              stored.set(id, r!.task);
            }
          }
          const query = { executor, now: T0 + 10, per_tenant: s.per_tenant, limit: s.limit };
          expect(ids(await store().queued(query))).toEqual(ids(expectedQueued([...stored.values()], query)));
          // per_tenant >= limit (no quota binds), as a dispatcher may ask.
          const plain = { ...query, per_tenant: s.limit };
          expect(ids(await store().queued(plain))).toEqual(ids(expectedQueued([...stored.values()], plain)));
        }),
        { numRuns: 60 },
      );
    });

    it('is fast on 50k queued rows', { timeout: 120_000 }, async () => {
      const executor = uniq('exec');
      const tenants = Array.from({ length: 50 }, () => uniq('tenant'));
      for (let chunk = 0; chunk < 10; chunk++) {
        const tasks = Array.from({ length: 5000 }, (_, i) => {
          const n = chunk * 5000 + i;
          return makeTask({ executor, tenant: tenants[n % tenants.length]!, priority: n % 3, created_at: T0 + n, not_before: n % 10 === 0 ? T0 + 10 * n : null });
        });
        await seed(store(), tasks);
      }
      const { result, median, times } = await timed(() => store().queued({ executor, now: T0 + 250_000, per_tenant: 10, limit: 512 }));
      console.info(`[store] queued(): 50000 queued rows, 50 tenants, per_tenant 10, limit 512: median ${median.toFixed(1)} ms (runs ${runs(times)})`);
      expect(result).toHaveLength(500);
      expect(median).toBeLessThan(500);
    });

    it('is fast with many tenants and a limit, balanced or with one deep tenant on top', { timeout: 180_000 }, async () => {
      const executor = uniq('exec');
      const tenants = Array.from({ length: 5000 }, () => uniq('tenant'));
      const all: Task[] = [];
      for (let chunk = 0; chunk < 10; chunk++) {
        const tasks = Array.from({ length: 5000 }, (_, i) => {
          const n = chunk * 5000 + i;
          return makeTask({ executor, tenant: tenants[n % tenants.length]!, priority: n % 3, created_at: T0 + n, not_before: n % 10 === 0 ? T0 + 10 * n : null });
        });
        all.push(...(await seed(store(), tasks)));
      }
      const query = { executor, now: T0 + 250_000, per_tenant: 10, limit: 512 };
      const balanced = await timed(() => store().queued(query));
      console.info(`[store] queued(): 50000 queued rows, 5000 tenants, per_tenant 10, limit 512: median ${balanced.median.toFixed(1)} ms (runs ${runs(balanced.times)})`);
      expect(ids(balanced.result)).toEqual(ids(expectedQueued(all, query)));
      expect(balanced.median).toBeLessThan(500);

      // One tenant's deep queue ahead of everyone: only 10 of it count, the rest must be skipped.
      const deep = uniq('tenant');
      all.push(...(await seed(store(), Array.from({ length: 5000 }, (_, i) => makeTask({ executor, tenant: deep, priority: 5, created_at: T0 + i })))));
      const skewed = await timed(() => store().queued(query));
      console.info(`[store] queued(): + one tenant with 5000 rows on top: median ${skewed.median.toFixed(1)} ms (runs ${runs(skewed.times)})`);
      expect(ids(skewed.result)).toEqual(ids(expectedQueued(all, query)));
      expect(skewed.result.filter((t) => t.tenant === deep)).toHaveLength(10);
      expect(skewed.median).toBeLessThan(1000);
    });
  });

  describe('queuePositions', () => {
    const pos = async (id: string): Promise<number | null> => (await store().queuePositions([id])).get(id) ?? null;

    it('counts the queued tasks ahead on the same executor', async () => {
      const executor = uniq('exec');
      const [low, high, old, young, mid] = await seed(store(), [
        makeTask({ executor, tenant: uniq('tenant'), priority: 0, created_at: T0 + 5 }),
        makeTask({ executor, tenant: uniq('tenant'), priority: 9, created_at: T0 + 9 }),
        makeTask({ executor, tenant: uniq('tenant'), priority: 1, created_at: T0 + 1 }),
        makeTask({ executor, tenant: uniq('tenant'), priority: 1, created_at: T0 + 2 }),
        makeTask({ executor, tenant: uniq('tenant'), priority: 1, created_at: T0 + 1 }),
      ]);
      await seed(store(), [makeTask({ executor: uniq('other'), priority: 100 })]);
      const [first, second] = [old!, mid!].sort(dispatchOrder);
      expect(await pos(high!.id)).toBe(0);
      expect(await pos(first!.id)).toBe(1);
      expect(await pos(second!.id)).toBe(2);
      expect(await pos(young!.id)).toBe(3);
      expect(await pos(low!.id)).toBe(4);
      await start(store(), high!.id);
      expect(await pos(high!.id)).toBeNull();
      expect(await pos(low!.id)).toBe(3);
      expect(await pos(uniq('missing'))).toBeNull();
      // Many at once: one answer per queued id, none for the others.
      const many = await store().queuePositions([low!.id, young!.id, high!.id, uniq('missing'), first!.id]);
      expect(Object.fromEntries(many)).toEqual({ [first!.id]: 0, [young!.id]: 2, [low!.id]: 3 });
    });
  });

  describe('leases', () => {
    const setup = async (s: TaskStore) => {
      const tenant = uniq('tenant');
      const [mine, theirs, cancelling, queued, done] = await seed(s, [makeTask({ tenant }), makeTask({ tenant }), makeTask({ tenant }), makeTask({ tenant }), makeTask({ tenant })]);
      await start(s, mine!.id, 'me', T0, 100); // expires T0+100
      await start(s, theirs!.id, 'other', T0, 10_000);
      await start(s, cancelling!.id, 'me', T0, 20); // expires T0+20
      await s.transition([{ id: cancelling!.id, from: ['running'], to: 'cancelling', patch: {}, now: T0 + 1 }]);
      await start(s, done!.id, 'me', T0, 5);
      await s.transition([{ id: done!.id, from: ['running'], to: 'completed', patch: {}, now: T0 + 2 }]);
      const all = new Set([mine, theirs, cancelling, queued, done].map((t) => t!.id));
      const stale = async (owner: string, now: number, exclusive: boolean) =>
        (await s.staleLeases(owner, now, exclusive))
          .filter((t) => all.has(t.id))
          .map((t) => t.id)
          .sort();
      return { mine: mine!, theirs: theirs!, cancelling: cancelling!, queued: queued!, done: done!, stale };
    };

    it('finds expired leases, and with exclusive every lease held by someone else', async () => {
      const t = await setup(store());
      expect(await t.stale('me', T0 + 20, false)).toEqual([]); // expiry is strict: not stale at the instant
      expect(await t.stale('me', T0 + 50, false)).toEqual([t.cancelling.id]);
      expect(await t.stale('me', T0 + 50, true)).toEqual([t.cancelling.id, t.theirs.id].sort());
      expect(await t.stale('me', T0 + 200, false)).toEqual([t.cancelling.id, t.mine.id].sort());
      expect(await t.stale('me', T0 + 20_000, false)).toEqual([t.cancelling.id, t.mine.id, t.theirs.id].sort());
    });

    it('treats an active lease with no expiry as stale, whoever holds it', async () => {
      const tenant = uniq('tenant');
      const [running, cancelling, finished, queued, fresh] = await seed(store(), [makeTask({ tenant }), makeTask({ tenant }), makeTask({ tenant }), makeTask({ tenant }), makeTask({ tenant })]);
      const startNoExpiry = async (id: string) => {
        const [r] = await store().transition([{ id, from: ['pending'], to: 'running', patch: { attempt: 1, started_at: T0, lease_owner: 'me', lease_expires_at: null }, now: T0 }]);
        expect(r?.task.lease_expires_at).toBeNull();
      };
      await startNoExpiry(running!.id);
      await startNoExpiry(cancelling!.id);
      await store().transition([{ id: cancelling!.id, from: ['running'], to: 'cancelling', patch: {}, now: T0 + 1 }]);
      await startNoExpiry(finished!.id);
      await store().transition([{ id: finished!.id, from: ['running'], to: 'completed', patch: {}, now: T0 + 1 }]);
      await start(store(), fresh!.id, 'me', T0, 60_000);
      const mine = new Set([running, cancelling, finished, queued, fresh].map((t) => t!.id));
      const stale = async (exclusive: boolean) =>
        (await store().staleLeases('me', T0 + 10, exclusive))
          .filter((t) => mine.has(t.id))
          .map((t) => t.id)
          .sort();
      // Queued (no lease) and finished tasks never count, nor a live lease with an expiry.
      expect(await stale(false)).toEqual([running!.id, cancelling!.id].sort());
      expect(await stale(true)).toEqual([running!.id, cancelling!.id].sort());
      // Renewing gives the lease an expiry, and it is no longer stale.
      await store().renewLeases('me', [running!.id], T0 + 60_000);
      expect(await stale(false)).toEqual([cancelling!.id]);
    });

    it('renews only leases the owner holds on active tasks', async () => {
      const t = await setup(store());
      await store().renewLeases('me', [t.mine.id, t.theirs.id, t.cancelling.id, t.queued.id, t.done.id, uniq('missing')], T0 + 60_000);
      const expiry = async (id: string) => (await store().get(id))?.lease_expires_at;
      expect(await expiry(t.mine.id)).toBe(T0 + 60_000);
      expect(await expiry(t.cancelling.id)).toBe(T0 + 60_000);
      expect(await expiry(t.theirs.id)).toBe(T0 + 10_000);
      expect(await expiry(t.queued.id)).toBeNull();
      expect(await expiry(t.done.id)).toBe(T0 + 5);
      expect(await t.stale('me', T0 + 50_000, false)).toEqual([t.theirs.id]);
      await store().renewLeases('me', [], T0);
    });

    it('takes over stale leases by compare-and-set on the lease as read: of two instances one wins each task', async () => {
      const t = await setup(store());
      const read = await store().staleLeases('a', T0 + 20_000, false);
      const mineRead = read.filter((x) => [t.mine.id, t.theirs.id, t.cancelling.id].includes(x.id));
      expect(mineRead).toHaveLength(3);
      const taken = await store().takeLeases('a', [...mineRead, t.queued, t.done], T0 + 50_000);
      expect(taken.sort()).toEqual([t.mine.id, t.theirs.id, t.cancelling.id].sort());
      // The other instance read the same rows before: its compare-and-set finds them changed.
      expect(await store().takeLeases('b', mineRead, T0 + 60_000)).toEqual([]);
      for (const id of taken) expect(await store().get(id)).toMatchObject({ lease_owner: 'a', lease_expires_at: T0 + 50_000 });
      expect(await store().takeLeases('b', [], T0)).toEqual([]);
    });

    it('records placement only on active tasks whose lease the owner holds', async () => {
      const t = await setup(store());
      const where = { gpus: ['1'], pid: 4242, worker: 'w1' };
      const other = { gpus: [], pid: 77 };
      const ids = [t.mine.id, t.cancelling.id, t.theirs.id, t.queued.id, t.done.id, uniq('missing')];
      expect(await store().recordPlacements('me', ids.map((id, i) => ({ id, assignment: i === 1 ? other : where })))).toBe(2);
      expect((await store().get(t.mine.id))?.assignment).toEqual(where);
      expect((await store().get(t.cancelling.id))?.assignment).toEqual(other);
      expect((await store().get(t.theirs.id))?.assignment).not.toEqual(where);
      expect((await store().get(t.queued.id))?.assignment).not.toEqual(where);
      expect(await store().recordPlacements('me', [])).toBe(0);
      // What a later transition returns carries the placement too.
      const [done] = await store().transition([{ id: t.mine.id, from: ['running'], to: 'completed', patch: {}, now: T0 + 9 }]);
      expect(done?.task.assignment).toEqual(where);
    });
  });
}
