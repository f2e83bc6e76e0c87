/** Conformance: list() with keyset paging, queued(), queuePosition(), leases. */
import { describe, expect, it } from 'vitest';
import { LakerayError } from '../../../src/domain/errors.ts';
import type { Task } from '../../../src/domain/task.ts';
import type { TaskStore } from '../../../src/store/task-store.ts';
import { makeTask, type OpenStore, seed, start, T0, uniq, useStore } from './fixtures.ts';

/** Newest first, ties broken by id descending: the order list() promises. */
const newestFirst = (a: Task, b: Task): number => b.created_at - a.created_at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
/** Dispatch order inside one tenant. */
const dispatchOrder = (a: Task, b: Task): number => b.priority - a.priority || a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

const ids = (tasks: Task[]): string[] => tasks.map((t) => t.id);

const pageAll = (store: TaskStore, filter: { tenant: string }, limit: number, between?: (page: number) => void): Task[] => {
  const out: Task[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const res = store.list({ ...filter, limit, ...(cursor !== undefined ? { cursor } : {}) });
    expect(res.tasks.length).toBeLessThanOrEqual(limit);
    out.push(...res.tasks);
    if (res.next_cursor === null) return out;
    cursor = res.next_cursor;
    between?.(page);
  }
  throw new Error('paging did not end');
};

export function queryConformance(open: OpenStore): void {
  const store = useStore(open);

  describe('list', () => {
    it('lists newest first, ties broken by id, and respects the limit', () => {
      const tenant = uniq('tenant');
      const tasks = seed(store(), [0, 5, 5, 5, 2, 9].map((d) => makeTask({ tenant, created_at: T0 + d })));
      const all = store().list({ tenant, limit: 100 });
      expect(ids(all.tasks)).toEqual(ids([...tasks].sort(newestFirst)));
      expect(all.next_cursor).toBeNull();
      expect(store().list({ tenant, limit: 4 }).tasks).toHaveLength(4);
    });

    it('filters by status, exact name, name prefix, executor and combinations', () => {
      const tenant = uniq('tenant');
      const executor = uniq('exec');
      const [v1, v2, , m, odd] = seed(store(), [
        makeTask({ tenant, name: 'video_gen', created_at: T0 + 1 }),
        makeTask({ tenant, name: 'video_up', executor, created_at: T0 + 2 }),
        makeTask({ tenant, name: 'vid', created_at: T0 + 3 }),
        makeTask({ tenant, name: 'mnist', executor, created_at: T0 + 4 }),
        makeTask({ tenant, name: 'a%_x', created_at: T0 + 5 }),
        makeTask({ tenant, name: 'abcd', created_at: T0 + 6 }),
      ]);
      start(store(), v2!.id);
      store().transition([{ id: m!.id, from: ['queued'], to: 'cancelled', patch: {}, now: T0 + 9 }]);
      const names = (f: Parameters<TaskStore['list']>[0]) => store().list(f).tasks.map((t) => t.name);
      expect(names({ tenant, name: 'video_gen', limit: 10 })).toEqual(['video_gen']);
      expect(names({ tenant, name: 'video*', limit: 10 })).toEqual(['video_up', 'video_gen']);
      expect(names({ tenant, name: 'vid*', limit: 10 })).toEqual(['vid', 'video_up', 'video_gen']);
      // Prefix matching is literal: SQL wildcards in the name match only themselves.
      expect(names({ tenant, name: 'a%_*', limit: 10 })).toEqual([odd!.name]);
      expect(names({ tenant, status: ['running', 'cancelled'], limit: 10 })).toEqual(['mnist', 'video_up']);
      expect(names({ tenant, status: ['queued'], limit: 10 })).toEqual(['abcd', 'a%_x', 'vid', 'video_gen']);
      expect(names({ tenant, executor, limit: 10 })).toEqual(['mnist', 'video_up']);
      expect(names({ executor, limit: 10 })).toEqual(['mnist', 'video_up']);
      expect(names({ tenant, executor, status: ['running'], name: 'video*', limit: 10 })).toEqual(['video_up']);
      expect(names({ tenant: uniq('nobody'), limit: 10 })).toEqual([]);
      expect(v1!.name).toBe('video_gen');
    });

    it('pages with an opaque cursor through every row exactly once', () => {
      const tenant = uniq('tenant');
      const tasks = seed(store(), Array.from({ length: 25 }, (_, i) => makeTask({ tenant, created_at: T0 + (i % 7) })));
      const first = store().list({ tenant, limit: 10 });
      expect(first.tasks).toHaveLength(10);
      expect(typeof first.next_cursor).toBe('string');
      expect(ids(pageAll(store(), { tenant }, 10))).toEqual(ids([...tasks].sort(newestFirst)));
      // A page that ends exactly at the last row says so.
      expect(pageAll(store(), { tenant }, 5)).toHaveLength(25);
      expect(store().list({ tenant, limit: 25 }).next_cursor).toBeNull();
    });

    it('stays stable while tasks are inserted between pages', () => {
      const tenant = uniq('tenant');
      const existing = seed(store(), Array.from({ length: 30 }, (_, i) => makeTask({ tenant, created_at: T0 + 1000 + (i % 11) })));
      let k = 0;
      const seen = pageAll(store(), { tenant }, 7, () => {
        // Newer, equally old and older rows arrive while a client pages.
        seed(store(), [
          makeTask({ tenant, created_at: T0 + 5000 + k }),
          makeTask({ tenant, created_at: T0 + 1005 }),
          makeTask({ tenant, created_at: T0 + k }),
        ]);
        k++;
      });
      expect(new Set(ids(seen)).size).toBe(seen.length);
      const seenIds = new Set(ids(seen));
      expect(existing.filter((t) => !seenIds.has(t.id))).toEqual([]);
      // Pages are in order across the whole walk.
      for (let i = 1; i < seen.length; i++) expect(newestFirst(seen[i - 1]!, seen[i]!)).toBeLessThan(0);
    });

    it('rejects a malformed cursor with INVALID_REQUEST', () => {
      for (const cursor of ['not a cursor', 'e30', '']) {
        let error: unknown;
        try {
          store().list({ tenant: uniq('tenant'), cursor, limit: 5 });
        } catch (err) {
          error = err;
        }
        expect(error).toBeInstanceOf(LakerayError);
        expect((error as LakerayError).code).toBe('INVALID_REQUEST');
      }
    });
  });

  describe('queued', () => {
    it('returns the top per_tenant ready tasks of each tenant on one executor', () => {
      const executor = uniq('exec');
      const [ta, tb, tc] = [uniq('tenant'), uniq('tenant'), uniq('tenant')];
      const now = T0 + 100;
      const tasks = seed(store(), [
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
      seed(store(), [running]);
      start(store(), running.id);

      const got = store().queued({ executor, now, per_tenant: 2 });
      const byTenant = (tenant: string) => got.filter((t) => t.tenant === tenant);
      const expectTop = (tenant: string, n: number) => {
        const ready = tasks.filter((t) => t.tenant === tenant && t.executor === executor && (t.not_before === null || t.not_before <= now));
        expect(ids(byTenant(tenant))).toEqual(ids(ready.sort(dispatchOrder).slice(0, n)));
      };
      expectTop(ta, 2);
      expectTop(tb, 2);
      expectTop(tc, 2);
      expect(got).toHaveLength(5);
      expect(got.every((t) => t.status === 'queued')).toBe(true);
      expect(store().queued({ executor, now, per_tenant: 10 })).toHaveLength(7);
      expect(store().queued({ executor: uniq('empty'), now, per_tenant: 10 })).toEqual([]);
    });

    it('is fast on 50k queued rows', { timeout: 120_000 }, () => {
      const executor = uniq('exec');
      const tenants = Array.from({ length: 50 }, () => uniq('tenant'));
      for (let chunk = 0; chunk < 10; chunk++) {
        const tasks = Array.from({ length: 5000 }, (_, i) => {
          const n = chunk * 5000 + i;
          return makeTask({ executor, tenant: tenants[n % tenants.length]!, priority: n % 3, created_at: T0 + n, not_before: n % 10 === 0 ? T0 + 10 * n : null });
        });
        seed(store(), tasks);
      }
      store().queued({ executor, now: T0 + 250_000, per_tenant: 10 }); // warm the cache
      const times: number[] = [];
      let got: Task[] = [];
      for (let i = 0; i < 5; i++) {
        const began = performance.now();
        got = store().queued({ executor, now: T0 + 250_000, per_tenant: 10 });
        times.push(performance.now() - began);
      }
      const median = [...times].sort((a, b) => a - b)[2]!;
      console.info(`[store] queued(): 50000 queued rows, 50 tenants, per_tenant 10: median ${median.toFixed(1)} ms (runs ${times.map((t) => t.toFixed(1)).join(', ')})`);
      expect(got).toHaveLength(500);
      expect(median).toBeLessThan(500);
    });
  });

  describe('queuePosition', () => {
    it('counts the queued tasks ahead on the same executor', () => {
      const executor = uniq('exec');
      const [low, high, old, young, mid] = seed(store(), [
        makeTask({ executor, tenant: uniq('tenant'), priority: 0, created_at: T0 + 5 }),
        makeTask({ executor, tenant: uniq('tenant'), priority: 9, created_at: T0 + 9 }),
        makeTask({ executor, tenant: uniq('tenant'), priority: 1, created_at: T0 + 1 }),
        makeTask({ executor, tenant: uniq('tenant'), priority: 1, created_at: T0 + 2 }),
        makeTask({ executor, tenant: uniq('tenant'), priority: 1, created_at: T0 + 1 }),
      ]);
      seed(store(), [makeTask({ executor: uniq('other'), priority: 100 })]);
      const [first, second] = [old!, mid!].sort(dispatchOrder);
      expect(store().queuePosition(high!.id)).toBe(0);
      expect(store().queuePosition(first!.id)).toBe(1);
      expect(store().queuePosition(second!.id)).toBe(2);
      expect(store().queuePosition(young!.id)).toBe(3);
      expect(store().queuePosition(low!.id)).toBe(4);
      start(store(), high!.id);
      expect(store().queuePosition(high!.id)).toBeNull();
      expect(store().queuePosition(low!.id)).toBe(3);
      expect(store().queuePosition(uniq('missing'))).toBeNull();
    });
  });

  describe('leases', () => {
    const setup = (s: TaskStore) => {
      const tenant = uniq('tenant');
      const [mine, theirs, cancelling, queued, done] = seed(s, [makeTask({ tenant }), makeTask({ tenant }), makeTask({ tenant }), makeTask({ tenant }), makeTask({ tenant })]);
      start(s, mine!.id, 'me', T0, 100); // expires T0+100
      start(s, theirs!.id, 'other', T0, 10_000);
      start(s, cancelling!.id, 'me', T0, 20); // expires T0+20
      s.transition([{ id: cancelling!.id, from: ['running'], to: 'cancelling', patch: {}, now: T0 + 1 }]);
      start(s, done!.id, 'me', T0, 5);
      s.transition([{ id: done!.id, from: ['running'], to: 'succeeded', patch: {}, now: T0 + 2 }]);
      const all = new Set([mine, theirs, cancelling, queued, done].map((t) => t!.id));
      const stale = (owner: string, now: number, exclusive: boolean) =>
        s
          .staleLeases(owner, now, exclusive)
          .filter((t) => all.has(t.id))
          .map((t) => t.id)
          .sort();
      return { mine: mine!, theirs: theirs!, cancelling: cancelling!, queued: queued!, done: done!, stale };
    };

    it('finds expired leases, and with exclusive every lease held by someone else', () => {
      const t = setup(store());
      expect(t.stale('me', T0 + 20, false)).toEqual([]); // expiry is strict: not stale at the instant
      expect(t.stale('me', T0 + 50, false)).toEqual([t.cancelling.id]);
      expect(t.stale('me', T0 + 50, true)).toEqual([t.cancelling.id, t.theirs.id].sort());
      expect(t.stale('me', T0 + 200, false)).toEqual([t.cancelling.id, t.mine.id].sort());
      expect(t.stale('me', T0 + 20_000, false)).toEqual([t.cancelling.id, t.mine.id, t.theirs.id].sort());
    });

    it('renews only leases the owner holds on active tasks', () => {
      const t = setup(store());
      store().renewLeases('me', [t.mine.id, t.theirs.id, t.cancelling.id, t.queued.id, t.done.id, uniq('missing')], T0 + 60_000);
      expect(store().get(t.mine.id)?.lease_expires_at).toBe(T0 + 60_000);
      expect(store().get(t.cancelling.id)?.lease_expires_at).toBe(T0 + 60_000);
      expect(store().get(t.theirs.id)?.lease_expires_at).toBe(T0 + 10_000);
      expect(store().get(t.queued.id)?.lease_expires_at).toBeNull();
      expect(store().get(t.done.id)?.lease_expires_at).toBe(T0 + 5);
      expect(t.stale('me', T0 + 50_000, false)).toEqual([t.theirs.id]);
      store().renewLeases('me', [], T0);
    });
  });
}
