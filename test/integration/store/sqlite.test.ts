/**
 * SqliteTaskStore: the shared conformance suite on a file and in memory, plus what only
 * SQLite has: migrations, WAL, durability across reopen, and CAS across processes.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMigrations, migrate } from '../../../src/store/sqlite/migrate.ts';
import { SqliteTaskStore } from '../../../src/store/sqlite/sqlite-store.ts';
import { taskStoreConformance } from './conformance.ts';
import { ownershipConformance } from './conformance-ownership.ts';
import { nodeQueueConformance } from './conformance-node-queues.ts';
import { makeTask, seed, start, T0, uniq } from './fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'lakeray-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = () => join(dir, `store-${++files}.db`);

taskStoreConformance('sqlite file', () => SqliteTaskStore.open(freshPath()));
taskStoreConformance('sqlite :memory:', () => SqliteTaskStore.open(':memory:'));
ownershipConformance('sqlite file', () => SqliteTaskStore.open(freshPath()));
nodeQueueConformance('sqlite file', () => SqliteTaskStore.open(freshPath()));
ownershipConformance('sqlite :memory:', () => SqliteTaskStore.open(':memory:'));
nodeQueueConformance('sqlite :memory:', () => SqliteTaskStore.open(':memory:'));

describe('SqliteTaskStore specifics', () => {
  it('runs in WAL mode', async () => {
    const path = freshPath();
    await SqliteTaskStore.open(path).close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('applies migrations once and records them; reopening applies nothing', async () => {
    const path = freshPath();
    await SqliteTaskStore.open(path).close();
    await SqliteTaskStore.open(path).close();
    const db = new Database(path);
    const recorded = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
    expect(recorded).toEqual(loadMigrations().map((m) => ({ version: m.version, name: m.name })));
    expect(migrate(db)).toEqual([]);
    db.close();
  });

  it('keeps tasks, events and progress across close and reopen', async () => {
    const path = freshPath();
    const first = SqliteTaskStore.open(path);
    const [t] = await seed(first, [makeTask({ tenant: uniq('tenant'), params: { k: 'v' } })]);
    await start(first, t!.id);
    await first.appendEvents([{ task_id: t!.id, tenant: t!.tenant, type: 'progress', ts: T0 + 3, data: { fraction: 0.5, message: 'half' } }]);
    const before = await first.get(t!.id);
    const log = await first.readEvents(t!.id, 0, 100);
    await first.close();
    const again = SqliteTaskStore.open(path);
    expect(await again.get(t!.id)).toEqual(before);
    expect(await again.readEvents(t!.id, 0, 100)).toEqual(log);
    expect((await again.get(t!.id))?.progress).toEqual({ fraction: 0.5, message: 'half' });
    await again.close();
  });

  it('gives whole candidates after a reopen, when it has not seen the tasks before', async () => {
    // queued() reads candidates' mutable columns only and completes them from what the store
    // knows; a fresh store knows nothing yet and must read the rest once.
    const path = freshPath();
    const executor = uniq('exec');
    const first = SqliteTaskStore.open(path);
    await seed(first, [makeTask({ executor, params: { n: 1 }, labels: { a: 'b' } }), makeTask({ executor, params: { n: 2 } })]);
    await first.close();
    const again = SqliteTaskStore.open(path);
    const query = { executor, now: T0 + 10, per_tenant: 10, limit: 10 };
    const candidates = await again.queued(query);
    expect(candidates.map((t) => t.params)).toEqual([{ n: 1 }, { n: 2 }]);
    for (const t of candidates) expect(t).toEqual(await again.get(t.id));
    expect(await again.queued(query)).toEqual(candidates);
    await again.close();
  });

  it("returns what is in the row after another connection wrote it, not what this one remembered", async () => {
    // A transition reads back only last_seq when the store knows the row's other columns;
    // a write by another connection (another process on the file) must not be hidden by that.
    const path = freshPath();
    const a = SqliteTaskStore.open(path);
    const b = SqliteTaskStore.open(path);
    const [t] = await seed(a, [makeTask({ tenant: uniq('tenant') })]);
    await start(a, t!.id);
    await b.appendEvents([{ task_id: t!.id, tenant: t!.tenant, type: 'progress', ts: T0 + 2, data: { fraction: 0.5 } }]);
    await b.renewLeases('node-a', [t!.id], T0 + 99_000);
    const [r] = await a.transition([
      { id: t!.id, from: ['running'], to: 'completed', lease_owner: 'node-a', patch: { finished_at: T0 + 3, result: 7 }, now: T0 + 3 },
    ]);
    expect(r?.task).toEqual(await b.get(t!.id));
    expect(r?.task).toMatchObject({ status: 'completed', progress: { fraction: 0.5 }, lease_expires_at: T0 + 99_000, result: 7, last_seq: 4 });
    expect(r?.event.seq).toBe(4);
    // A write that does not move last_seq (a lease renewal) is noticed too.
    const [u] = await seed(a, [makeTask({ tenant: uniq('tenant') })]);
    await start(a, u!.id);
    await b.renewLeases('node-a', [u!.id], T0 + 77_000);
    const [c] = await a.transition([{ id: u!.id, from: ['running'], to: 'cancelling', patch: { cancel_reason: 'user' }, now: T0 + 4 }]);
    expect(c?.task).toEqual(await b.get(u!.id));
    expect(c?.task.lease_expires_at).toBe(T0 + 77_000);
    await a.close();
    await b.close();
  });

  it('rolls back every pending migration when one fails', () => {
    const migrations = join(dir, 'broken-migrations');
    mkdirSync(migrations);
    writeFileSync(join(migrations, '001_ok.sql'), 'CREATE TABLE a (x INTEGER);');
    writeFileSync(join(migrations, '002_bad.sql'), 'CREATE TABLE b (x INTEGER); THIS IS NOT SQL;');
    const db = new Database(':memory:');
    expect(() => migrate(db, migrations)).toThrow();
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all();
    expect(tables).toEqual([{ name: 'schema_migrations' }]);
    expect(db.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get()).toEqual({ n: 0 });
    db.close();
  });

  it('refuses a database migrated by a newer version', async () => {
    const path = freshPath();
    await SqliteTaskStore.open(path).close();
    const db = new Database(path);
    db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)").run();
    db.close();
    expect(() => SqliteTaskStore.open(path)).toThrow(/999_future/);
  });

  it('lets exactly one of several processes complete each task', { timeout: 60_000 }, async () => {
    const path = freshPath();
    const store = SqliteTaskStore.open(path);
    const tasks = await seed(store, Array.from({ length: 1000 }, () => makeTask({ tenant: uniq('tenant') })));
    for (const t of tasks) await start(store, t.id);
    const ids = tasks.map((t) => t.id);
    const signals = mkdtempSync(join(dir, 'race-'));
    writeFileSync(join(signals, 'ids.json'), JSON.stringify(ids));
    const worker = new URL('./race-worker.ts', import.meta.url).pathname;
    const runs = [0, 1, 2, 3].map((n) => promisify(execFile)(process.execPath, ['--import', 'tsx', worker, path, String(n), signals]));
    // Release the workers together once all have opened the database.
    for (let waited = 0; [0, 1, 2, 3].some((n) => !existsSync(join(signals, `ready-${n}`))); waited += 20) {
      if (waited > 30_000) throw new Error('race workers did not start');
      await new Promise((r) => setTimeout(r, 20));
    }
    writeFileSync(join(signals, 'go'), '');
    const won = (await Promise.all(runs)).map((r) => JSON.parse(r.stdout) as string[]);
    console.info(`[store] cross-process race: tasks won per process ${won.map((w) => w.length).join(', ')}`);
    const all = won.flat();
    expect(all).toHaveLength(ids.length);
    expect(new Set(all).size).toBe(ids.length);
    for (const t of tasks) {
      const final = (await store.get(t.id))!;
      const winner = won.findIndex((w) => w.includes(t.id));
      expect(final.result).toBe(winner);
      expect((await store.readEvents(t.id, 0, 100)).map((e) => e.data.status)).toEqual(['pending', 'running', final.status]);
    }
    await store.close();
  });
});
