/**
 * The task statuses' rename to seed 004's names (`queued` → `pending`, `succeeded` →
 * `completed`) upgrades existing databases in place: a database at the migration before it
 * (SQLite 019, PostgreSQL 015) holding tasks in every old status, with their state events and a
 * `completed` webhook delivery not yet sent, is opened by the store (which migrates it), and
 * reads back in the new names with nothing lost; the partial indexes name 'pending', and the
 * claim path's queries still use them.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { migratePostgres, PG_MIGRATIONS_DIR } from '../../../src/store/postgres/migrate.ts';
import { PostgresTaskStore } from '../../../src/store/postgres/postgres-store.ts';
import { SQL as PG_SQL } from '../../../src/store/postgres/queries.ts';
import { migrate, MIGRATIONS_DIR } from '../../../src/store/sqlite/migrate.ts';
import { QUEUED_SQL } from '../../../src/store/sqlite/queued-query.ts';
import { SqliteTaskStore } from '../../../src/store/sqlite/sqlite-store.ts';
import type { TaskStore } from '../../../src/store/task-store.ts';
import { usePostgres } from '../../helpers/postgres-server.ts';

const tmp = mkdtempSync(join(tmpdir(), 'lakeray-states-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A copy of `dir`'s migrations below `version`: the schema as it was before it. */
const migrationsBefore = (dir: string, version: number): string => {
  const out = mkdtempSync(join(tmp, `before-${version}-`));
  for (const f of readdirSync(dir)) if (/^\d+_/.test(f) && Number(f.split('_')[0]) < version) copyFileSync(join(dir, f), join(out, f));
  return out;
};

const T = 1_700_000_000_000;
const EXECUTOR = 'local';
/** Each old status, the state events its task went through (old names), and the new status. */
const OLD = [
  { id: 't_queued', old: 'queued', now: 'pending', states: ['queued', 'running', 'queued'] },
  { id: 't_running', old: 'running', now: 'running', states: ['queued', 'running'] },
  { id: 't_cancelling', old: 'cancelling', now: 'cancelling', states: ['queued', 'running', 'cancelling'] },
  { id: 't_succeeded', old: 'succeeded', now: 'completed', states: ['queued', 'running', 'succeeded'] },
  { id: 't_failed', old: 'failed', now: 'failed', states: ['queued', 'running', 'failed'] },
  { id: 't_cancelled', old: 'cancelled', now: 'cancelled', states: ['queued', 'cancelled'] },
] as const;
const RENAMED: Record<string, string> = { queued: 'pending', succeeded: 'completed' };

const TASK_INSERT = `INSERT INTO tasks (id, tenant, name, script, params, executor, resources, priority, retry, labels, status,
    attempt, created_at, updated_at, finished_at, result, last_seq, lease_owner, lease_expires_at)
  VALUES ($1, 'default', 'old', 'demo.py', '{}', '${EXECUTOR}', '{"cpu":1,"memory_mb":0,"gpu":0,"custom":{}}', 0,
    '{"max_attempts":3,"backoff_ms":0,"backoff_factor":2,"max_backoff_ms":0}', '{}', $2, $3, $4, $4, $5, $6, $7, $8, $9)`;

/** The rows of the old database, as [sql with $n, params] for either store. */
function oldRows(): [string, unknown[]][] {
  const rows: [string, unknown[]][] = [];
  OLD.forEach((t, i) => {
    const ended = t.old === 'succeeded' || t.old === 'failed' || t.old === 'cancelled';
    const leased = t.old === 'running' || t.old === 'cancelling';
    rows.push([
      TASK_INSERT,
      [t.id, t.old, t.states.filter((s) => s === 'running').length, T + i, ended ? T + 100 : null, t.old === 'succeeded' ? '{"answer":42}' : null, t.states.length + 1, leased ? 'old-server' : null, leased ? T + 60_000 : null],
    ]);
    t.states.forEach((s, k) => {
      // The stores write `status` first; one event uses another layout (status last).
      const data = t.id === 't_succeeded' && k === 2 ? `{"note":"x","status":"${s}"}` : JSON.stringify(s === 'running' ? { status: s, attempt: 1 } : { status: s });
      rows.push(['INSERT INTO events (task_id, seq, type, ts, data) VALUES ($1, $2, $3, $4, $5)', [t.id, k + 1, 'state', T + k, data]]);
    });
    // A log line that mentions the old names is the script's text, not a status: kept.
    rows.push(['INSERT INTO events (task_id, seq, type, ts, data) VALUES ($1, $2, $3, $4, $5)', [t.id, t.states.length + 1, 'log', T + 9, '{"status":"queued","line":"queued"}']]);
  });
  rows.push([
    `INSERT INTO webhook_deliveries (id, task_id, tenant, event, url, task, data, next_at, created_at, updated_at)
     VALUES ('whd_1', 't_succeeded', 'default', 'completed', 'http://127.0.0.1:9/hook', '{}', $1, $2, $2, $2)`,
    ['{"status":"succeeded","result":{"answer":42},"error":null}', T],
  ]);
  return rows;
}

/** Runs a `$n` statement of oldRows() on SQLite (as named parameters: `$4` may appear twice). */
const sqliteRun = (db: Database.Database, sql: string, params: unknown[]) =>
  db.prepare(sql.replace(/\$(\d+)/g, '@p$1')).run(Object.fromEntries(params.map((v, i) => [`p${i + 1}`, v])));

/** What every store must read back after the migration. */
async function expectRenamed(store: TaskStore): Promise<void> {
  for (const t of OLD) {
    const task = await store.get(t.id);
    expect(task?.status, t.id).toBe(t.now);
    const events = await store.readEvents(t.id, 0, 100);
    expect(events.filter((e) => e.type === 'state').map((e) => e.data.status)).toEqual(t.states.map((s) => RENAMED[s] ?? s));
    // Everything else in the events is as it was.
    expect(events.find((e) => e.type === 'state' && e.data.status === 'running')?.data.attempt ?? 1).toBe(1);
    expect(events.find((e) => e.type === 'log')?.data).toEqual({ status: 'queued', line: 'queued' });
  }
  expect((await store.get('t_succeeded'))?.result).toEqual({ answer: 42 });
  expect((await store.readEvents('t_succeeded', 2, 1))[0]?.data).toEqual({ note: 'x', status: 'completed' });
  // The claim path's read finds the pending task (its queries name the indexes' literal).
  const queued = await store.queued({ executor: EXECUTOR, now: T + 1_000, per_tenant: 10, limit: 10 });
  expect(queued.map((t) => t.id)).toEqual(['t_queued']);
  expect(await store.queuePositions(['t_queued'])).toEqual(new Map([['t_queued', 0]]));
}

describe('SQLite: 020_seed_task_states', () => {
  it('upgrades a database at 019 in place: statuses, state events and webhook deliveries in the new names, indexes on pending', async () => {
    const path = join(tmp, 'old.db');
    const db = new Database(path);
    db.pragma('foreign_keys = ON');
    expect(migrate(db, migrationsBefore(MIGRATIONS_DIR, 20)).at(-1)).toBe(19);
    for (const [sql, params] of oldRows()) sqliteRun(db, sql, params);
    const eventsBefore = (db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
    db.close();

    const store = SqliteTaskStore.open(path);
    try {
      await expectRenamed(store);
    } finally {
      await store.close();
    }
    const after = new Database(path, { readonly: true });
    try {
      expect((after.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n).toBe(eventsBefore);
      expect(after.pragma('foreign_key_check')).toEqual([]);
      const delivery = after.prepare("SELECT data FROM webhook_deliveries WHERE id = 'whd_1'").get() as { data: string };
      expect(JSON.parse(delivery.data)).toEqual({ status: 'completed', result: { answer: 42 }, error: null });
      const indexes = after.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tasks' AND sql IS NOT NULL").all() as { name: string; sql: string }[];
      expect(indexes.map((i) => i.name).sort()).toEqual(
        ['tasks_dispatch', 'tasks_idempotency', 'tasks_leased', 'tasks_queue_order', 'tasks_tenant_created', 'tasks_tenant_queued', 'tasks_webhook_finished'],
      );
      for (const name of ['tasks_dispatch', 'tasks_queue_order', 'tasks_tenant_queued']) expect(indexes.find((i) => i.name === name)?.sql).toMatch(/WHERE status = 'pending'$/);
      expect(indexes.filter((i) => /queued'|succeeded'/.test(i.sql))).toEqual([]);
      const table = (after.prepare("SELECT sql FROM sqlite_master WHERE name = 'tasks'").get() as { sql: string }).sql;
      expect(table).toContain("CHECK (status IN ('pending', 'running', 'cancelling', 'completed', 'failed', 'cancelled'))");
      // The claim path's statements: planned on the partial indexes, no scan of the table.
      const plan = (sql: string) =>
        (after.prepare(`EXPLAIN QUERY PLAN ${sql}`).all({ executor: EXECUTOR, now: T, limit: 10, per_tenant: 10, cap: 10 }) as { detail: string }[]).map((r) => r.detail).join('\n');
      expect(plan(QUEUED_SQL.head)).toContain('tasks_queue_order');
      expect(plan(QUEUED_SQL.perTenant)).toContain('tasks_dispatch');
      expect(plan(QUEUED_SQL.perTenant)).not.toMatch(/SCAN tasks\b(?! USING)/);
    } finally {
      after.close();
    }
  });

  it('a fresh database cannot hold an old status any more', () => {
    const db = new Database(':memory:');
    migrate(db);
    const [[sql, params]] = oldRows() as [[string, unknown[]]];
    expect(() => sqliteRun(db, sql, params)).toThrow(/CHECK constraint/);
    db.close();
  });
});

describe('PostgreSQL: 016_seed_task_states', () => {
  const server = usePostgres();

  it('upgrades a database at 015 in place: statuses, state events and webhook deliveries in the new names, indexes on pending', async () => {
    const url = await (await server()).createDatabase();
    const client = new pg.Client(url);
    await client.connect();
    try {
      expect((await migratePostgres(client, migrationsBefore(PG_MIGRATIONS_DIR, 16))).at(-1)).toBe(15);
      for (const [sql, params] of oldRows()) await client.query(sql, params);
      await expect(client.query("UPDATE tasks SET status = 'pending' WHERE id = 't_queued'")).rejects.toThrow(/tasks_status_check/);
    } finally {
      await client.end();
    }

    const store = await PostgresTaskStore.open({ url });
    try {
      await expectRenamed(store);
    } finally {
      await store.close();
    }

    const after = new pg.Client(url);
    await after.connect();
    try {
      const delivery = await after.query("SELECT data FROM webhook_deliveries WHERE id = 'whd_1'");
      expect(JSON.parse(delivery.rows[0].data)).toEqual({ status: 'completed', result: { answer: 42 }, error: null });
      // Written by the stores (status first): rewritten as text, the rest byte for byte.
      const running = await after.query("SELECT data FROM events WHERE task_id = 't_queued' AND seq = 2");
      expect(running.rows[0].data).toBe('{"status":"running","attempt":1}');
      const first = await after.query("SELECT data FROM events WHERE task_id = 't_queued' AND seq = 1");
      expect(first.rows[0].data).toBe('{"status":"pending"}');

      const { rows } = await after.query<{ indexname: string; indexdef: string }>("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'tasks'");
      for (const name of ['tasks_dispatch', 'tasks_queue_order', 'tasks_tenant_queued']) expect(rows.find((r) => r.indexname === name)?.indexdef).toMatch(/WHERE \(status = 'pending'::text\)$/);
      expect(rows.filter((r) => /queued'|succeeded'/.test(r.indexdef))).toEqual([]);
      await expect(after.query("UPDATE tasks SET status = 'queued' WHERE id = 't_queued'")).rejects.toThrow(/tasks_status_check/);

      // The claim path's queries: with sequential scans priced out, the planner picks the partial indexes.
      await after.query('BEGIN');
      await after.query('SET LOCAL enable_seqscan = off');
      const plan = async (sql: string, params: unknown[]) => (await after.query(`EXPLAIN ${sql}`, params)).rows.map((r: { 'QUERY PLAN': string }) => r['QUERY PLAN']).join('\n');
      // (A predicate that no longer matched would leave only the table: a disabled Seq Scan.)
      for (const [sql, params] of [[PG_SQL.queuedHead, [EXECUTOR, T, 10]], [PG_SQL.queuedPerTenant, [EXECUTOR, T, 10, 10]]] as const) {
        const p = await plan(sql, [...params]);
        expect(p).toMatch(/Index (Only )?Scan using tasks_(queue_order|dispatch)/);
        expect(p).not.toContain('Seq Scan');
      }
      await after.query('ROLLBACK');
    } finally {
      await after.end();
    }
  });
});
