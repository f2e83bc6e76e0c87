/**
 * What the lake service keeps per task (the versions it pinned, the tables it writes) lives
 * only while the task runs: real tasks read and write through the lake API with
 * X-Lakeray-Task, end every way a task can end, and the service holds nothing for them after.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import arrow from '../../../src/lake/arrow.ts';
import { startServer, type RunningServer } from '../../../src/main.ts';
import { api, tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';

const ARROW = 'application/vnd.apache.arrow.stream';
let server: RunningServer;
let dir: string;
let n = 0;

const ipc = (rows: number): Buffer => Buffer.from(arrow.tableToIPC(arrow.tableFromArrays({ x: Float64Array.from({ length: rows }, (_, i) => i) }), 'stream'));

const status = async (id: string): Promise<string> => (await api(server.url, 'GET', `/api/v1/tasks/${id}`)).body.status;
const ended = (id: string) => until(`task ${id} to end`, async () => ((s) => (['completed', 'failed', 'cancelled'].includes(s) ? s : null))(await status(id)));

/** A task that reads `digits` (and writes `write`), then waits for its release file. */
const start = async (params: Record<string, unknown> = {}) => {
  const release = join(dir, `release-${n++}`);
  const r = await api(server.url, 'POST', '/api/v1/tasks', { script: 'reads_and_waits.mjs', params: { read: 'digits', release, ...params } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  const id = r.body.id as string;
  await until(`task ${id} to have read`, async () => (await server.lake.heldFor(id))?.reads.length === 1);
  return { id, release: () => writeFileSync(release, '') };
};

beforeAll(async () => {
  dir = tempDir('lakeray-lake-pins-');
  const config = parseConfig(
    {
      state_dir: join(dir, 'state'),
      lake: { root: join(dir, 'lake') },
      script_roots: [join(import.meta.dirname, 'scripts')],
      data_roots: [join(dir, 'data')],
      executors: { local: { cpu: 4, kill_grace_ms: 1000 } },
    },
    dir,
    {},
  );
  server = await startServer({ config, port: 0, logLevel: 'silent' });
  const put = await request(`${server.url}/api/v1/datasets/digits/arrow?mode=create`, { method: 'PUT', body: ipc(10), headers: { 'content-type': ARROW } });
  expect(put.statusCode, await put.body.text()).toBe(200);
});

afterAll(async () => {
  await server?.close();
});

describe('per-task lake memory', () => {
  it('pins what a running task reads and writes, and forgets it when the task succeeds, fails or is cancelled', async () => {
    const ok = await start({ write: 'digits_out' });
    const fails = await start({ fail: true });
    const cancelled = await start();
    expect(await server.lake.heldFor(ok.id)).toEqual({ reads: [{ kind: 'datasets', name: 'digits', version: 1 }], writes: ['datasets/digits_out'] });

    ok.release();
    fails.release();
    const cancel = await api(server.url, 'POST', `/api/v1/tasks/${cancelled.id}/cancel`);
    expect(cancel.status).toBe(200);
    expect(await ended(ok.id)).toBe('completed');
    expect(await ended(fails.id)).toBe('failed');
    expect(await ended(cancelled.id)).toBe('cancelled');
    for (const t of [ok, fails, cancelled]) expect(await server.lake.heldFor(t.id), t.id).toBeNull();
  });

  it('forgets a write that was still uploading when its task ended', async () => {
    const task = await start();
    // The upload names the task and sends half its body; the task ends meanwhile.
    const bytes = ipc(1000);
    const body = new Readable({ read() {} });
    body.push(bytes.subarray(0, bytes.length / 2));
    const put = request(`${server.url}/api/v1/datasets/late_write/arrow?mode=create`, {
      method: 'PUT',
      body,
      headers: { 'content-type': ARROW, 'x-lakeray-task': task.id, authorization: `Bearer ${server.tokens.mint(task.id, 1)}` },
    });
    await new Promise((r) => setTimeout(r, 100)); // the server has looked the task up by now
    task.release();
    expect(await ended(task.id)).toBe('completed');
    body.push(bytes.subarray(bytes.length / 2));
    body.push(null);
    const res = await put;
    expect(res.statusCode, await res.body.text()).toBe(200);
    expect(await server.lake.heldFor(task.id)).toBeNull();
  });
});
