/**
 * A task's lake pins live in the store: a server killed (kill -9) while its task holds a pin
 * comes back knowing it. The task's next attempt reads the version the first one pinned (not
 * the newer one written meanwhile), the table cannot be deleted under it, and the pin is
 * released when the task ends. A real `lakeray up` child process on SQLite.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, expect, it } from 'vitest';
import arrow from '../../../src/lake/arrow.ts';
import { SqliteTaskStore } from '../../../src/store/sqlite/sqlite-store.ts';
import { api, startServerProcess, tempDir, writeConfig, type ServerProcess } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';

const ARROW = 'application/vnd.apache.arrow.stream';
const ipc = (rows: number): Buffer => Buffer.from(arrow.tableToIPC(arrow.tableFromArrays({ x: Float64Array.from({ length: rows }, (_, i) => i) }), 'stream'));
const servers: ServerProcess[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.kill('SIGKILL')));
});

const put = async (s: ServerProcess, rows: number, mode: string) => {
  const r = await request(`${s.url}/api/v1/datasets/digits/arrow?mode=${mode}`, { method: 'PUT', body: ipc(rows), headers: { 'content-type': ARROW } });
  expect(r.statusCode, await r.body.text()).toBe(200);
};

/** Attempts whose lake calls are done (the script logs it after reading). */
const readsDone = async (s: ServerProcess, id: string): Promise<number> =>
  (await api<{ events: { data: { message?: string } }[] }>(s.url, 'GET', `/api/v1/tasks/${id}/events?types=log&limit=1000`)).body.events.filter((e) => e.data.message === 'lake calls done').length;

it('keeps a task’s pins across a kill -9 of the server and releases them at the task’s end', { timeout: 180_000 }, async () => {
  const dir = tempDir('lakeray-pins-');
  const config = writeConfig(dir, {
    lake: { root: join(dir, 'lake') },
    script_roots: [join(import.meta.dirname, 'scripts')],
    data_roots: [join(dir, 'data')],
    executors: { local: { cpu: 2, kill_grace_ms: 1000 } },
  });
  let s = await startServerProcess(dir, config);
  servers.push(s);
  await put(s, 10, 'create');
  const release = join(dir, 'release');
  const submitted = await api<{ id: string }>(s.url, 'POST', '/api/v1/tasks', { script: 'reads_and_waits.mjs', params: { read: 'digits', release }, max_attempts: 3 });
  expect(submitted.status).toBe(201);
  const id = submitted.body.id;
  await until('the first attempt to read', async () => (await readsDone(s, id)) === 1, 60_000);
  await put(s, 20, 'overwrite'); // version 2, newer than the pin
  await s.kill('SIGKILL');

  s = await startServerProcess(dir, config);
  servers.push(s);
  await until('the second attempt to read', async () => (await readsDone(s, id)) === 2, 90_000);
  const held = await api<{ error: { code: string } }>(s.url, 'DELETE', '/api/v1/datasets/digits');
  expect(held.status).toBe(409);
  expect(held.body.error.code).toBe('DATASET_IN_USE');
  writeFileSync(release, '');
  const done = await until('the task to end', async () => {
    const t = (await api<{ status: string; attempt: number; result: { rows: number } | null }>(s.url, 'GET', `/api/v1/tasks/${id}`)).body;
    return ['completed', 'failed', 'cancelled'].includes(t.status) ? t : null;
  }, 60_000);
  // The pinned snapshot (10 rows), not the one written while the server was down for it (20).
  expect(done).toMatchObject({ status: 'completed', attempt: 2, result: { rows: 10 } });
  await s.kill('SIGTERM');

  const store = SqliteTaskStore.open(join(dir, 'state', 'lakeray.db'));
  try {
    expect(await store.lakePins.lakePinsOf(id)).toEqual({ reads: [], writes: [] });
  } finally {
    await store.close();
  }
});
