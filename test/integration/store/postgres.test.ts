/**
 * PostgresTaskStore: the shared conformance suite on a real PostgreSQL 15, plus what only
 * PostgreSQL has: migrations under an advisory lock, and CAS across processes.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { loadMigrations } from '../../../src/store/sqlite/migrate.ts';
import { migratePostgres, PG_MIGRATIONS_DIR } from '../../../src/store/postgres/migrate.ts';
import { PostgresTaskStore } from '../../../src/store/postgres/postgres-store.ts';
import { usePostgres } from '../../helpers/postgres-server.ts';
import { taskStoreConformance } from './conformance.ts';
import { ownershipConformance } from './conformance-ownership.ts';
import { nodeQueueConformance } from './conformance-node-queues.ts';
import { until } from '../../helpers/until.ts';
import { makeTask, seed, start, T0, uniq } from './fixtures.ts';

const server = usePostgres();
let shared: Promise<string> | undefined;
/** One database for the conformance suite: its tests use their own tenants and ids. */
const sharedDatabase = () => (shared ??= server().then((s) => s.createDatabase()));

taskStoreConformance('postgres', async () => PostgresTaskStore.open({ url: await sharedDatabase() }));
ownershipConformance('postgres', async () => PostgresTaskStore.open({ url: await sharedDatabase() }));
nodeQueueConformance('postgres', async () => PostgresTaskStore.open({ url: await sharedDatabase() }));

describe('PostgresTaskStore specifics', () => {
  it('applies migrations once, even when several processes open a fresh database at once', async () => {
    const url = await (await server()).createDatabase();
    const stores = await Promise.all([1, 2, 3, 4].map(() => PostgresTaskStore.open({ url })));
    await Promise.all(stores.map((s) => s.close()));
    const recorded = await sql(url, 'SELECT version, name FROM schema_migrations ORDER BY version');
    expect(recorded).toEqual(loadMigrations(PG_MIGRATIONS_DIR).map((m) => ({ version: m.version, name: m.name })));
  });

  it('rolls back every pending migration when one fails', async () => {
    const url = await (await server()).createDatabase();
    const dir = mkdtempSync(join(tmpdir(), 'pg-migrations-'));
    writeFileSync(join(dir, '001_ok.sql'), 'CREATE TABLE a (x INTEGER);');
    writeFileSync(join(dir, '002_bad.sql'), 'CREATE TABLE b (x INTEGER); THIS IS NOT SQL;');
    const client = new pg.Client(url);
    await client.connect();
    await expect(migratePostgres(client, dir)).rejects.toThrow();
    const tables = await client.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
    await client.end();
    expect(tables.rows).toEqual([]);
  });

  it('refuses a database migrated by a newer version', async () => {
    const url = await (await server()).createDatabase();
    await (await PostgresTaskStore.open({ url })).close();
    await sql(url, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)");
    await expect(PostgresTaskStore.open({ url })).rejects.toThrow(/999_future/);
  });

  it('wakes watchers of other connections when a task is queued on an executor (insert, requeue)', async () => {
    const url = await (await server()).createDatabase();
    const [a, b] = await Promise.all([PostgresTaskStore.open({ url }), PostgresTaskStore.open({ url })]);
    const heard: string[] = [];
    const unwatch = b.watchQueued((executor) => heard.push(executor));
    // The first call says "listening (anything may have been missed)".
    await until('the listener', async () => heard.includes('*'), 10_000);
    const executor = uniq('exec');
    const [t] = await seed(a, [makeTask({ executor, tenant: uniq('tenant') })]);
    await until(`a wake-up for ${executor}`, async () => heard.includes(executor), 10_000);
    // Back to queued (a retry): another wake-up; a transition to anything else is none.
    await start(a, t!.id);
    heard.length = 0;
    await a.transition([{ id: t!.id, from: ['running'], to: 'pending', patch: { lease_owner: null }, now: T0 + 5 }]);
    await until(`a wake-up for ${executor}`, async () => heard.includes(executor), 10_000);
    await start(a, t!.id, 'node-a', T0 + 6);
    await a.transition([{ id: t!.id, from: ['running'], to: 'completed', patch: {}, now: T0 + 7 }]);
    // A rolled-back insert notifies nobody (NOTIFY is delivered at commit).
    const other = uniq('exec');
    await expect(a.insert([{ task: makeTask({ executor: other, id: t!.id }), body_hash: null }], T0)).rejects.toThrow();
    const marker = uniq('exec');
    await seed(a, [makeTask({ executor: marker })]);
    await until(`a wake-up for ${marker}`, async () => heard.includes(marker), 10_000);
    expect(heard).not.toContain(other);
    unwatch();
    await Promise.all([a.close(), b.close()]);
  });

  it('lets exactly one of several processes complete each task', { timeout: 120_000 }, async () => {
    const url = await (await server()).createDatabase();
    const store = await PostgresTaskStore.open({ url });
    const tasks = await seed(store, Array.from({ length: 1000 }, () => makeTask({ tenant: uniq('tenant') })));
    for (const t of tasks) await start(store, t.id);
    const ids = tasks.map((t) => t.id);
    const signals = mkdtempSync(join(tmpdir(), 'pg-race-'));
    mkdirSync(signals, { recursive: true });
    writeFileSync(join(signals, 'ids.json'), JSON.stringify(ids));
    const worker = new URL('./postgres-race-worker.ts', import.meta.url).pathname;
    const runs = [0, 1, 2, 3].map((n) => promisify(execFile)(process.execPath, ['--import', 'tsx', worker, url, String(n), signals]));
    for (let waited = 0; [0, 1, 2, 3].some((n) => !existsSync(join(signals, `ready-${n}`))); waited += 20) {
      if (waited > 60_000) throw new Error('race workers did not start');
      await new Promise((r) => setTimeout(r, 20));
    }
    writeFileSync(join(signals, 'go'), '');
    const won = (await Promise.all(runs)).map((r) => JSON.parse(r.stdout) as string[]);
    console.info(`[store] postgres cross-process race: tasks won per process ${won.map((w) => w.length).join(', ')}`);
    const all = won.flat();
    expect(all).toHaveLength(ids.length);
    expect(new Set(all).size).toBe(ids.length);
    for (const t of tasks) {
      const final = (await store.get(t.id))!;
      expect(final.result).toBe(won.findIndex((w) => w.includes(t.id)));
      expect((await store.readEvents(t.id, 0, 100)).map((e) => e.data.status)).toEqual(['pending', 'running', final.status]);
    }
    await store.close();
  });
});

async function sql(url: string, text: string): Promise<unknown[]> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}
