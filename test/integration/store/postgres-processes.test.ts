/**
 * Two `lakeray up` processes sharing one PostgreSQL store (store.kind: postgres): `--role api`
 * takes the submissions, `--role scheduler` owns the executor and runs them, woken by the
 * store's NOTIFY (it gets no submissions of its own). A PostgreSQL restart under both live
 * servers crashes neither: /ready says STORE_UNAVAILABLE while the database is gone, then both
 * recover, and wake-ups flow again (the scheduler's LISTEN connection came back).
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { usePostgres } from '../../helpers/postgres-server.ts';
import { api, ROOT, startServerProcess, tempDir, writeConfig, type ServerProcess } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';

const server = usePostgres();
const servers: ServerProcess[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.kill('SIGTERM')));
});

async function startLakeray(url: string, role: 'api' | 'scheduler'): Promise<ServerProcess> {
  const dir = tempDir();
  const config = writeConfig(dir, {
    store: { kind: 'postgres', url, pool_size: 4 },
    script_roots: [join(ROOT, 'test/fixtures/scripts')],
    data_roots: [join(dir, 'data')],
    executors: { local: { cpu: 2 } },
    // The engine's safety net re-reads the queue every lease_ms / 3: make that 100 s, so that
    // only a NOTIFY can wake the scheduler within the tests' deadlines; and an ownership that
    // outlives the outage, so that no re-claim after it wakes the scheduler either.
    tasks: { lease_ms: 300_000 },
    scheduler: { ownership_ttl_ms: 90_000, ownership_renew_ms: 1_000 },
  });
  const s = await startServerProcess(dir, config, undefined, ['--role', role]);
  servers.push(s);
  return s;
}

const submitWaits = async (s: ServerProcess, ms: number): Promise<string[]> => {
  const r = await api<{ tasks: { id: string }[] }>(s.url, 'POST', '/api/v1/tasks/batch', {
    tasks: [0, 1].map(() => ({ script: 'waits.mjs', params: { ms }, resources: { cpu: 1 } })),
  });
  expect(r.status).toBe(201);
  return r.body.tasks.map((t) => t.id);
};

const statuses = async (s: ServerProcess, ids: string[]): Promise<string[]> =>
  Promise.all(ids.map(async (id) => (await api<{ status: string }>(s.url, 'GET', `/api/v1/tasks/${id}`)).body.status));

describe('Lakeray processes sharing one PostgreSQL store', () => {
  let a: ServerProcess;
  let b: ServerProcess;

  it('runs the tasks queued through the api process on the scheduler at once (woken by NOTIFY)', { timeout: 120_000 }, async () => {
    const url = await (await server()).createDatabase();
    [a, b] = await Promise.all([startLakeray(url, 'api'), startLakeray(url, 'scheduler')]);
    const ids = await submitWaits(a, 4_000);
    await until('both tasks running', async () => (await statuses(a, ids)).every((s) => s === 'running'), 20_000);
    await until('both tasks succeeded', async () => (await statuses(a, ids)).every((s) => s === 'completed'), 30_000);
  });

  it('survives a PostgreSQL restart: /ready says STORE_UNAVAILABLE, then both processes work on', { timeout: 180_000 }, async () => {
    const pg = await server();
    await pg.halt();
    for (const s of [a, b]) {
      const ready = await until(
        '/ready to report the outage',
        async () => {
          const r = await api<{ error?: { code: string; message: string } }>(s.url, 'GET', '/ready');
          return r.status === 503 ? r : undefined;
        },
        30_000,
      );
      expect(ready.body.error?.code).toBe('STORE_UNAVAILABLE');
      expect(ready.body.error?.message).toMatch(/unreachable/);
    }
    // A read during the outage is a clear 503, not a 500 or a hang.
    const list = await api<{ error: { code: string } }>(a.url, 'GET', '/api/v1/tasks?limit=1');
    expect(list.status).toBe(503);
    expect(list.body.error.code).toBe('STORE_UNAVAILABLE');
    await pg.start();
    for (const s of [a, b]) await until('/ready once PostgreSQL is back', async () => (await api(s.url, 'GET', '/ready')).status === 200, 30_000);
    expect([a.child.exitCode, b.child.exitCode]).toEqual([null, null]);
    // Wake-ups flow again: the idle process's LISTEN connection came back.
    const ids = await submitWaits(a, 4_000);
    await until('both tasks running after the restart', async () => (await statuses(a, ids)).every((s) => s === 'running'), 20_000);
    await until('both tasks succeeded after the restart', async () => (await statuses(a, ids)).every((s) => s === 'completed'), 30_000);
  });
});
