/**
 * The events table on a real PostgreSQL 15 without its foreign key (migration 014): a
 * statement-level trigger on tasks deletes a deleted task's event rows, also when the delete
 * races an append, so no orphan row is left (readEvents joins tasks, so orphans would not show
 * through the store: the tests count the table's rows); and the tasks table's fillfactor
 * (migration 015) keeps the rows an append updates on their page.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { PostgresTaskStore } from '../../../src/store/postgres/postgres-store.ts';
import { usePostgres } from '../../helpers/postgres-server.ts';
import { makeTask, seed, T0, uniq } from './fixtures.ts';

const server = usePostgres();

const progress = (task_id: string, tenant: string, i: number) => ({ task_id, tenant, type: 'progress' as const, ts: T0 + i, data: { fraction: i / 100 } });

async function open(): Promise<{ store: PostgresTaskStore; db: pg.Client; close: () => Promise<void> }> {
  const url = await (await server()).createDatabase();
  const store = await PostgresTaskStore.open({ url });
  const db = new pg.Client(url);
  await db.connect();
  return { store, db, close: async () => void (await Promise.all([store.close(), db.end()])) };
}

/** n new tasks of one tenant, moved from queued to `to`; their ids. */
async function tasksIn(store: PostgresTaskStore, tenant: string, n: number, to: 'cancelled' | 'running'): Promise<string[]> {
  const ids = (await seed(store, Array.from({ length: n }, () => makeTask({ tenant })))).map((t) => t.id);
  const patch = to === 'running' ? { attempt: 1, started_at: T0 + 1 } : { finished_at: T0 + 1 };
  await store.transition(ids.map((id) => ({ id, from: ['pending' as const], to, patch, now: T0 + 1 })));
  return ids;
}

const rowsOf = async (db: pg.Client, ids: readonly string[]): Promise<number> =>
  (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE task_id = ANY($1::text[])', [ids])).rows[0]!.n;

describe('PostgreSQL: events of deleted tasks', () => {
  it("deleting a task deletes its event rows and only its own; its id can be used again from seq 1", async () => {
    const { store, db, close } = await open();
    try {
      const tenant = uniq('tenant');
      const [gone, kept] = await seed(store, [makeTask({ tenant }), makeTask({ tenant })]);
      await store.appendEvents([1, 2, 3].flatMap((i) => [progress(gone!.id, tenant, i), progress(kept!.id, tenant, i)]));
      await store.transition([{ id: gone!.id, from: ['pending'], to: 'cancelled', patch: { finished_at: T0 + 9 }, now: T0 + 9 }]);
      expect(await rowsOf(db, [gone!.id])).toBe(5); // queued, 3 × progress, cancelled
      expect(await store.delete(gone!.id)).toBe(true);
      expect(await rowsOf(db, [gone!.id])).toBe(0);
      expect(await rowsOf(db, [kept!.id])).toBe(4);
      // Orphan rows would collide with the new task's (task_id, seq) keys.
      const [again] = await seed(store, [makeTask({ tenant, id: gone!.id })]);
      expect((await store.readEvents(again!.id, 0, 10)).map((e) => e.seq)).toEqual([1]);
    } finally {
      await close();
    }
  });

  it('a delete racing appends leaves no orphan rows', { timeout: 60_000 }, async () => {
    const { store, db, close } = await open();
    try {
      const tenant = uniq('tenant');
      const ids = await tasksIn(store, tenant, 40, 'cancelled');
      // Each task: appends before, during and after its delete, on other pool connections.
      await Promise.all(
        ids.map(async (id, i) => {
          const append = (k: number) => store.appendEvents([progress(id, tenant, k), progress(id, tenant, k + 1)]);
          await Promise.all([append(10), i % 2 ? store.delete(id) : append(20), append(30), i % 2 ? append(40) : store.delete(id), append(50)]);
        }),
      );
      expect(await Promise.all(ids.map((id) => store.get(id)))).toEqual(ids.map(() => null));
      expect(await rowsOf(db, ids)).toBe(0);
    } finally {
      await close();
    }
  });
});

describe('PostgreSQL: event heads stay on their page', () => {
  it('appends of a quarter of the running tasks move last_seq and progress in place (HOT: same page, no index entries), also for tasks inserted as one batch', { timeout: 60_000 }, async () => {
    const { store, db, close } = await open();
    try {
      const tenant = uniq('tenant');
      const ids = await tasksIn(store, tenant, 400, 'running'); // one batch: packed into the same pages
      const pages = async () =>
        new Map((await db.query<{ id: string; page: string }>(`SELECT id, (ctid::text::point)[0]::text AS page FROM tasks WHERE id = ANY($1::text[])`, [ids])).rows.map((r) => [r.id, r.page]));
      const before = await pages();
      // As a busy flush: a quarter of the running tasks reported since the last one.
      for (let k = 0; k < 20; k++) await store.appendEvents(ids.filter((_, i) => i % 4 === k % 4).map((id) => progress(id, tenant, k)));
      const after = await pages();
      const moved = ids.filter((id) => after.get(id) !== before.get(id)).length;
      console.info(`[store] postgres: ${moved} of ${ids.length} task rows left their page over 20 appends`);
      expect(moved).toBeLessThanOrEqual(ids.length * 0.02);
    } finally {
      await close();
    }
  });
});
