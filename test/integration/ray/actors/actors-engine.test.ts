/**
 * Mode actors through the whole platform on a real Ray head: the engine, the HTTP API (task
 * routes, reports, the driver's poll) and a RayActorsExecutor. Measures submit → run() entered
 * on a warm actor; a cancel ends the task within 2 s and its actor is replaced; the poll route
 * refuses what is not its executor's driver.
 */
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../../src/api/app.ts';
import { parseConfig } from '../../../../src/config/load.ts';
import { Engine } from '../../../../src/engine/engine.ts';
import { RemoteReports } from '../../../../src/engine/remote-reports.ts';
import { TaskTokens } from '../../../../src/engine/task-tokens.ts';
import { MemoryEventBus } from '../../../../src/events/memory.ts';
import { processAlive } from '../../../../src/executors/local/process-group.ts';
import { RayActorsExecutor } from '../../../../src/executors/ray/actors/ray-actors-executor.ts';
import { RayJobsClient } from '../../../../src/executors/ray/jobs-client.ts';
import { SqliteTaskStore } from '../../../../src/store/sqlite/sqlite-store.ts';
import { api, freePort, tempDir } from '../../../helpers/server-process.ts';
import { until } from '../../../helpers/until.ts';
import { rayUrl } from '../ray-job-fixture.ts';
import { pool } from './actors-platform.ts';
import { FIXTURES } from './start-driver.ts';

const NAME = `ae${Math.random().toString(36).slice(2, 8)}`;
let url = '';
let engine: Engine;
let executor: RayActorsExecutor;
let app: FastifyInstance;
let store: SqliteTaskStore;
let tokens: TaskTokens;
let address = '';

beforeAll(async () => {
  address = await rayUrl();
  const dir = tempDir();
  const config = parseConfig(
    {
      state_dir: join(dir, 'state'),
      script_roots: [FIXTURES],
      data_roots: [dir],
      // an actor's share of the cluster is the task's resources
      tasks: { default_resources: { cpu: 0.1 } },
    },
    dir,
    {},
  );
  store = SqliteTaskStore.open(join(dir, 'lakeray.db'));
  tokens = TaskTokens.fromStateDir(join(dir, 'state'));
  const reports = new RemoteReports({ tokens, task: (id) => store.get(id), stored: () => engine.eventsStored() });
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  executor = new RayActorsExecutor({
    name: NAME,
    address,
    pools: { py: pool({ min_actors: 1, max_actors: 2 }) },
    scriptRoots: [FIXTURES],
    dataRoots: [dir],
    runtimesDir: join(import.meta.dirname, '../../../../runtimes'),
    apiUrl: url,
    settings: { graceMs: 1500 },
    executorToken: tokens.mintExecutor(NAME),
    taskToken: (id, attempt) => tokens.mint(id, attempt),
    reports,
  });
  engine = new Engine({ config, store, bus: new MemoryEventBus(), executors: new Map([[NAME, executor]]), pools: new Map([[NAME, new Set(['py'])]]) });
  await engine.start();
  app = await buildApp({ tasks: engine, reports, tokens, drivers: (name) => (name === NAME ? executor : undefined) });
  await app.listen({ host: '127.0.0.1', port });
}, 600_000);

afterAll(async () => {
  const ray = new RayJobsClient({ address });
  if (executor?.driver.id) await ray.stop(executor.driver.id).catch(() => false);
  await ray.close();
  await app?.close();
  await engine?.stop();
  await executor?.close();
  await store?.close();
});

const submit = async (body: Record<string, unknown>): Promise<string> => {
  const r = await api(url, 'POST', '/api/v1/tasks', { executor: NAME, ...body });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return (r.body as { id: string }).id;
};
const task = async (id: string) => (await api(url, 'GET', `/api/v1/tasks/${id}`)).body;
const finished = (id: string, ms = 240_000) =>
  until(`task ${id} to finish`, async () => {
    const t = await task(id);
    return ['completed', 'failed', 'cancelled'].includes(t.status) ? t : null;
  }, ms, 10);
const logs = async (id: string): Promise<string[]> => (await api(url, 'GET', `/api/v1/tasks/${id}/logs`)).body.lines.map((l: { message: string }) => l.message);

describe('mode actors through the whole platform (real Ray head)', { timeout: 900_000 }, () => {
  it('submit → run() entered on a warm actor, p50 and p99 over 50 tasks', async () => {
    const first = await finished(await submit({ script: 'entered.py' }), 600_000); // waits for the driver and its first actor
    expect(first.status, JSON.stringify(first.error)).toBe('completed');
    const latencies: number[] = [];
    for (let i = 0; i < 50; i++) {
      const at = performance.timeOrigin + performance.now();
      const id = await submit({ script: 'entered.py', params: { i } });
      const t = await finished(id);
      expect(t.status, JSON.stringify(t.error)).toBe('completed');
      latencies.push(t.result.entered_ms - at);
    }
    latencies.sort((a, b) => a - b);
    const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
    console.info(`[measure] actors, whole platform: POST /api/v1/tasks → run() entered on a warm actor: p50 ${q(0.5).toFixed(1)} ms, p99 ${q(0.99).toFixed(1)} ms, min ${latencies[0]!.toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms (n=${latencies.length})`);
    expect(q(0.5)).toBeLessThan(2_000);
  });

  it('a cancelled task is cancelled within 2 s, and its actor is replaced', async () => {
    const id = await submit({ script: 'task.py', params: { mode: 'loop' } });
    const line = await until('the loop logs its pid', async () => (await logs(id)).find((m) => m.startsWith('pid ')), 120_000, 20);
    const pid = Number(line.slice(4));
    const at = Date.now();
    const r = await api(url, 'POST', `/api/v1/tasks/${id}/cancel`);
    expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
    const t = await finished(id, 10_000);
    const took = Date.now() - at;
    console.info(`[measure] actors, whole platform: cancel → task cancelled in ${took} ms`);
    expect(t.status).toBe('cancelled');
    expect(took).toBeLessThan(2_000);
    expect(await logs(id)).toContain('cleanup ran');
    await until('the cancelled actor is gone', async () => !processAlive(pid), 30_000, 50);
    const next = await finished(await submit({ script: 'entered.py' }));
    expect(next.status).toBe('completed');
    expect(next.result.pid).not.toBe(pid);
  });

  it('the poll route: 401 without the executor token or with another executor\'s, 400 for a bad body, 404 for an executor that is not here', async () => {
    const body = { driver_id: 'x', running: [], capacity: {}, done: [] };
    const post = (name: string, token: string | undefined, b: unknown) =>
      fetch(`${url}/api/v1/executors/${name}/driver/poll`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(b) });
    for (const token of [undefined, 'nope', tokens.mintExecutor('other'), tokens.mint('t1', 1)]) {
      const r = await post(NAME, token, body);
      expect(r.status).toBe(401);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    }
    const bad = await post(NAME, tokens.mintExecutor(NAME), { ...body, capacity: { py: -1 } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('INVALID_REQUEST');
    const gone = await post('other', tokens.mintExecutor('other'), body);
    expect(gone.status).toBe(404);
    // a driver that is not the executor's current one is told to stop, at once
    const stale = await post(NAME, tokens.mintExecutor(NAME), { ...body, driver_id: 'lr-driver-old-1' });
    expect(stale.status).toBe(200);
    expect(await stale.json()).toEqual({ run: [], cancel: [], stop: true });
  });
});
