/**
 * GET /api/v1/executors and a task's `executor`/`placement` on a real server (startServer:
 * config, real engine, real local executor) with a Ray executor pointed at a closed port:
 * the listing names it down with its address (no credentials), /ready agrees, its task waits
 * queued with no placement, and a local task's placement is `{kind: "process"}` only.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutorInfo } from '../../../web/src/api/types.ts';
import { parseConfig } from '../../../src/config/load.ts';
import { type RunningServer, startServer } from '../../../src/main.ts';
import { api, freePort, tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';

const SCRIPTS = join(import.meta.dirname, '../../fixtures/scripts');
let server: RunningServer;
let closedPort: number;
let dir: string;

beforeAll(async () => {
  dir = tempDir('lakeray-executors-');
  closedPort = await freePort();
  const config = parseConfig(
    {
      state_dir: join(dir, 'state'),
      lake: { root: join(dir, 'lake') },
      script_roots: [SCRIPTS],
      data_roots: [join(dir, 'data')],
      executors: {
        local: { cpu: 2 },
        'ray-down': { kind: 'ray', address: `http://ops:hunter2@127.0.0.1:${closedPort}`, capacity_refresh_ms: 200 },
        'ray-public': { kind: 'ray', mode: 'actors', address: `http://127.0.0.1:${closedPort}`, dashboard_url: 'https://ray.example.com/', pools: [{ name: 'sd' }] },
      },
    },
    dir,
    {},
  );
  server = await startServer({ config, port: 0, host: '127.0.0.1', logLevel: 'silent' });
}, 60_000);

afterAll(async () => {
  await server?.close();
});

type ExecutorEntry = ExecutorInfo;

describe('GET /api/v1/executors', () => {
  it('lists every configured executor, local first, and names the Ray one that is down by its address', async () => {
    const listing = await until('the Ray executor to be seen down', async () => {
      const r = await api<{ executors: ExecutorEntry[] }>(server.url, 'GET', '/api/v1/executors');
      expect(r.status).toBe(200);
      return r.body.executors.find((e) => e.name === 'ray-down')?.health.ok === false ? r.body.executors : null;
    }, 30_000);
    expect(listing.map((e) => [e.name, e.kind, e.mode])).toEqual([
      ['local', 'local', null],
      ['ray-down', 'ray', 'job'],
      ['ray-public', 'ray', 'actors'],
    ]);
    const [local, down, pub] = listing as [ExecutorEntry, ExecutorEntry, ExecutorEntry];
    expect(local).toMatchObject({ health: { ok: true, message: null }, capacity: { cpu: 2 }, dashboard_url: null });
    expect(down.health.message).toContain(`Ray at http://127.0.0.1:${closedPort}`);
    expect(down.dashboard_url).toBe(`http://127.0.0.1:${closedPort}`);
    expect(down.capacity.cpu).toBe(0);
    expect(pub.dashboard_url).toBe('https://ray.example.com');
    expect(JSON.stringify(listing)).not.toContain('hunter2');

    const ready = await api(server.url, 'GET', '/ready');
    expect(ready.body.executors_down.map((d: { name: string }) => d.name)).toEqual(expect.arrayContaining(['ray-down', 'ray-public']));
  });
});

describe("a task's executor and placement", () => {
  it('a task on the Ray executor that is down waits queued, its placement null', async () => {
    const r = await api(server.url, 'POST', '/api/v1/tasks', { script: 'ok.py', executor: 'ray-down', resources: { cpu: 1 } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ executor: 'ray-down', placement: null, status: 'pending' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const list = await api(server.url, 'GET', '/api/v1/tasks?executor=ray-down');
    expect(list.body.tasks.map((t: { id: string; status: string; placement: unknown }) => [t.id, t.status, t.placement])).toEqual([[r.body.id, 'pending', null]]);
  });

  it("a local task's placement is its kind alone: no pid", async () => {
    const r = await api(server.url, 'POST', '/api/v1/tasks', { script: 'sleeps.py', params: { seconds: 30, marker: join(dir, 'marker') } });
    expect(r.status).toBe(201);
    const running = await until('the local task to be placed', async () => {
      const t = (await api(server.url, 'GET', `/api/v1/tasks/${r.body.id}`)).body;
      return t.placement === null ? null : t;
    }, 30_000);
    expect(running).toMatchObject({ executor: 'local', placement: { kind: 'process' } });
    expect(Object.keys(running.placement)).toEqual(['kind']);
    await api(server.url, 'POST', `/api/v1/tasks/${r.body.id}/cancel`);
  });
});
