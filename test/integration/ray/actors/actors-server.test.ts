/**
 * `lakeray up` with a Ray executor in mode actors in its config (executors.<name>: {kind: ray,
 * mode: actors, pools: […]}): the registry builds it, its driver polls the server's own route,
 * and a task submitted to it runs on a warm actor.
 */
import { request } from 'undici';
import { afterAll, expect, it } from 'vitest';
import { RayJobsClient } from '../../../../src/executors/ray/jobs-client.ts';
import type { RunningServer } from '../../../../src/main.ts';
import { api } from '../../../helpers/server-process.ts';
import { until } from '../../../helpers/until.ts';
import { rayUrl } from '../ray-job-fixture.ts';
import { startActorsServer } from './actors-server-from-config.ts';

const NAME = `as${Math.random().toString(36).slice(2, 8)}`;
const address = await rayUrl();
let server: RunningServer | undefined;

afterAll(async () => {
  const ray = new RayJobsClient({ address });
  for (const j of await ray.list()) if (j.metadata?.lakeray_executor === NAME && j.submission_id) await ray.stop(j.submission_id);
  await ray.close();
  await server?.close();
});

it('a task on an actors-mode executor from the config runs on a warm actor', { timeout: 600_000 }, async () => {
  server = await startActorsServer(NAME, address, [{ name: 'py', cpu: 0.1, min: 1, max: 1 }]);
  const r = await api(server.url, 'POST', '/api/v1/tasks', { script: 'task.py', executor: NAME, pool: 'py', params: { value: 'hi' }, resources: { cpu: 0.1 } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  const id = (r.body as { id: string }).id;
  const t = await until('the task to finish', async () => {
    const b = (await api(server!.url, 'GET', `/api/v1/tasks/${id}`)).body;
    return ['completed', 'failed', 'cancelled'].includes(b.status) ? b : null;
  }, 540_000, 50);
  expect(t.status, JSON.stringify(t.error)).toBe('completed');
  expect(t.result).toMatchObject({ echo: 'hi', cwd_is_package: true });
  // The actor that ran it, as Ray names it, with its dashboard page (the UI's link).
  const actor = (t.placement as { actor_id?: string }).actor_id ?? '';
  expect(actor).toMatch(/^[0-9a-f]{32}$/);
  expect(t.placement).toMatchObject({ kind: 'ray-actor', pool: 'py', dashboard_url: `${address}/#/actors/${actor}` });
  // …and Ray knows that actor, alive in the pool's class (Ray's state API).
  const res = await request(`${address}/api/v0/actors?filter_keys=actor_id&filter_predicates=%3D&filter_values=${actor}`);
  const rows = ((await res.body.json()) as { data: { result: { result: { actor_id: string; state: string }[] } } }).data.result.result;
  expect(rows.map((a) => [a.actor_id, a.state])).toEqual([[actor, 'ALIVE']]);
});
