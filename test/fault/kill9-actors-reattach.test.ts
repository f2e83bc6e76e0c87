/**
 * kill -9 of `lakeray up` while a task runs on a warm actor (mode `actors`, the run's real Ray
 * head): the restarted server re-attaches it. That re-attach waits for the adopted driver's
 * next poll, so the server must listen while it recovers: it did not (recovery ran before
 * listen), and a restart hung 30 s, then gave the task up to the next lease sweep.
 * Here: the restart is ready in well under that, and attempt 1 — run once — succeeds.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { RayJobsClient } from '../../src/executors/ray/jobs-client.ts';
import { rayHead } from '../helpers/ray-head.ts';
import { api, ROOT, startServerProcess, tempDir, writeConfig, type ServerProcess } from '../helpers/server-process.ts';
import { until } from '../helpers/until.ts';
import { readLedger, runningNow } from './ledger.ts';

const address = process.env.LAKERAY_TEST_RAY_URL ?? (await rayHead()).url;
const ray = new RayJobsClient({ address });
const EXECUTOR = `k9r-${Math.random().toString(36).slice(2, 8)}`;
let server: ServerProcess | null = null;

afterAll(async () => {
  await server?.kill('SIGKILL');
  for (const j of await ray.list()) {
    if (j.metadata?.lakeray_executor === EXECUTOR && j.submission_id && !['SUCCEEDED', 'FAILED', 'STOPPED'].includes(j.status)) await ray.stop(j.submission_id);
  }
  await ray.close();
});

it('a task on a warm actor survives kill -9 of the server: re-attached at once, run once, succeeded', { timeout: 400_000 }, async () => {
  const dir = tempDir('lakeray-kill9-actor-');
  const ledger = join(dir, 'ledger');
  mkdirSync(ledger);
  const config = writeConfig(dir, {
    script_roots: [join(ROOT, 'test/fault/scripts')],
    data_roots: [join(dir, 'data')],
    executors: { [EXECUTOR]: { kind: 'ray', mode: 'actors', address, grace_ms: 1000, pools: [{ name: 'py', cpu: 0.1, min: 1, max: 1 }] } },
  });
  server = await startServerProcess(dir, config);
  const r = await api(server.url, 'POST', '/api/v1/tasks', { script: 'ledger.py', executor: EXECUTOR, params: { ledger, ms: 15_000 }, resources: { cpu: 0.1 } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  const id = r.body.id as string;
  await until('run() to be entered on the actor', async () => runningNow(ledger, new Set([id])).length > 0, 300_000, 100);

  await server.kill('SIGKILL');
  const killed = Date.now();
  server = await startServerProcess(dir, config, Number(new URL(server.url).port));
  const readyMs = Date.now() - killed;
  console.info(`[measure] kill -9 → restarted server ready (actors re-attached): ${readyMs} ms`);
  expect(readyMs).toBeLessThan(25_000); // the driver polls again within 5 s of the server listening

  const task = await until('the task to end', async () => {
    const t = (await api(server!.url, 'GET', `/api/v1/tasks/${id}`)).body;
    return ['completed', 'failed', 'cancelled'].includes(t.status) ? t : null;
  }, 60_000, 100);
  expect(task).toMatchObject({ status: 'completed', attempt: 1, result: { task_id: id, attempt: 1 } });
  expect(readLedger(ledger).get(id)).toEqual(new Map([[1, { run: 1, ret: 1 }]]));
});
