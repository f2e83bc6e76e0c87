/**
 * The events table on a real PostgreSQL 15 without its foreign key (migration 014): a
 * statement-level trigger on tasks deletes a deleted task's event rows, also when the delete
 * races an append, so no orphan row is left (readEvents joins tasks, so orphans would not show
 * through the store: the tests count the table's rows).
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

const rowsOf = async (db: pg.Client, ids: readonly string[]): Promise<number> =>
  (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE task_id = ANY($1::text[])', [ids])).rows[0]!.n;

describe('PostgreSQL: events of deleted tasks', () => {
  it("deleting a task deletes its event rows and only its own; its id can be used again from seq 1", async () => {
    const { store, db, close } = await open();
    try {
      const tenant = uniq('tenant');
      const [gone, kept] = await seed(store, [makeTask({ tenant }), makeTask({ tenant })]);
      await store.appendEvents([1, 2, 3].flatMap((i) => [progress(gone!.id, tenant, i), progress(kept!.id, tenant, i)]));
      await store.transition([{ id: gone!.id, from: ['queued'], to: 'cancelled', patch: { finished_at: T0 + 9 }, now: T0 + 9 }]);
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
      const tasks = await seed(store, Array.from({ length: 40 }, () => makeTask({ tenant })));
      const ids = tasks.map((t) => t.id);
      await store.transition(ids.map((id) => ({ id, from: ['queued' as const], to: 'cancelled' as const, patch: { finished_at: T0 + 1 }, now: T0 + 1 })));
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
