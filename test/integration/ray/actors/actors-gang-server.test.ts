/**
 * A gang pool from lakeray.yaml (`pools: [{name, cpu, gang_size: 2, …}]`) driven by the real
 * server (`startServer`: registry, engine, HTTP API, driver poll route, reports route) on the
 * run's real Ray head: a task on 2 CPU ranks (gloo) all-reduces a tensor and succeeds with one
 * result; kill -9 of one rank's actor fails its task GANG_RANK_FAILED and the gang is rebuilt
 * (setup() runs again) for the next task. Issue 12's Must hold, through the server.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { RayJobsClient } from '../../../../src/executors/ray/jobs-client.ts';
import type { RunningServer } from '../../../../src/main.ts';
import { api } from '../../../helpers/server-process.ts';
import { until } from '../../../helpers/until.ts';
import { rayUrl } from '../ray-job-fixture.ts';
import { startActorsServer } from './actors-server-from-config.ts';

const NAME = `gs${Math.random().toString(36).slice(2, 8)}`;
const address = await rayUrl();
let server: RunningServer | undefined;

afterAll(async () => {
  await server?.close();
  const ray = new RayJobsClient({ address });
  for (const j of await ray.list()) if (j.metadata?.lakeray_executor === NAME && j.submission_id) await ray.stop(j.submission_id);
  await ray.close();
});

interface GangResult { sum: number; rank: number; world: number; dist_rank: number; setup: { token: string } }
interface TaskView { id: string; status: string; result: { value?: GangResult } & GangResult; error: { code: string; message: string } | null; attempt: number }

const submit = async (params: Record<string, unknown>): Promise<string> => {
  const r = await api(server!.url, 'POST', '/api/v1/tasks', { script: 'gang.py', executor: NAME, pool: 'dist', params, resources: { cpu: 0.5 }, max_attempts: 1 });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return (r.body as { id: string }).id;
};
const settled = (id: string, ms = 540_000) =>
  until(`task ${id} settled`, async () => {
    const t = (await api(server!.url, 'GET', `/api/v1/tasks/${id}`)).body as TaskView;
    return ['completed', 'failed', 'cancelled'].includes(t.status) ? t : null;
  }, ms, 50).catch(async (e: unknown) => {
    throw new Error(`${String(e)}\n${await diagnosis(id)}`);
  });
/** What a timed-out wait shows: the task, /ready, and the driver's log on Ray. */
async function diagnosis(id: string): Promise<string> {
  const task = (await api(server!.url, 'GET', `/api/v1/tasks/${id}`)).body;
  const ready = (await api(server!.url, 'GET', '/ready')).body;
  const ray = new RayJobsClient({ address });
  try {
    const drivers = (await ray.list()).filter((j) => j.metadata?.lakeray_executor === NAME);
    const logs = await Promise.all(drivers.map(async (j) => `${j.submission_id} ${j.status}:\n${(await ray.logs(j.submission_id!).catch(String)).slice(-4000)}`));
    return `task: ${JSON.stringify(task)}\nready: ${JSON.stringify(ready)}\n${logs.join('\n')}`;
  } finally {
    await ray.close();
  }
}
const resultEvents = async (id: string) => {
  const r = await api(server!.url, 'GET', `/api/v1/tasks/${id}/events?types=result&limit=1000`);
  return (r.body as { events: unknown[] }).events.length;
};

it('a gang task on 2 CPU ranks (gloo) succeeds with one result; kill -9 of a rank fails its task GANG_RANK_FAILED and the gang is rebuilt', { timeout: 900_000 }, async () => {
  server = await startActorsServer(NAME, address, [{ name: 'dist', cpu: 0.25, gang_size: 2, min: 1, max: 1, preload: ['torch'] }]);

  const first = await settled(await submit({}));
  expect(first.status, JSON.stringify(first.error)).toBe('completed');
  expect(first.result).toMatchObject({ sum: 3, rank: 0, world: 2, dist_rank: 0 }); // 1 + 2, all-reduced over both ranks
  expect(await resultEvents(first.id)).toBe(1); // rank 0 alone reports
  const token = first.result.setup.token;

  const pidDir = mkdtempSync(join(tmpdir(), 'gang-pids-'));
  const victim = await submit({ pid_dir: pidDir, sleep: 600 });
  const pid = await until('rank 1 running', async () => {
    try {
      return Number(readFileSync(join(pidDir, 'rank1'), 'utf8')) || undefined;
    } catch {
      return undefined;
    }
  }, 300_000, 50);
  const killedAt = performance.now();
  process.kill(pid, 'SIGKILL');
  const failed = await settled(victim, 120_000);
  console.info(`[measure] gang rank kill -9 → task settled through the server: ${Math.round(performance.now() - killedAt)} ms`);
  expect(failed.status).toBe('failed');
  expect(failed.error).toMatchObject({ code: 'GANG_RANK_FAILED', message: expect.stringMatching(/rank 1's actor died/) });

  const next = await settled(await submit({}));
  expect(next.status, JSON.stringify(next.error)).toBe('completed');
  expect(next.result).toMatchObject({ sum: 3, world: 2 });
  expect(next.result.setup.token).not.toBe(token); // a new gang: setup() ran again
});
