/**
 * The service proxy across nodes: a service task run by a `--role scheduler` process is reached
 * through the proxy of a `--role api` process (which runs nothing) over one PostgreSQL store:
 * the endpoint comes from the task's stored `service` events, at the running node's
 * node.advertise_host. Real processes, a real service script.
 */
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { usePostgres } from '../../helpers/postgres-server.ts';
import { api, ROOT, startServerProcess, tempDir, writeConfig, type ServerProcess } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';

const pg = usePostgres();
const servers: ServerProcess[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.kill('SIGTERM')));
});

async function lakeray(url: string, role: 'api' | 'scheduler', advertise: string): Promise<ServerProcess> {
  const dir = tempDir('lakeray-svc-');
  const config = writeConfig(dir, {
    store: { kind: 'postgres', url, pool_size: 4 },
    script_roots: [join(ROOT, 'test/integration/api/scripts')],
    data_roots: [join(dir, 'data')],
    executors: { local: { cpu: 2 } },
    node: { name: `node-${role}`, advertise_host: advertise },
  });
  const s = await startServerProcess(dir, config, undefined, ['--role', role]);
  servers.push(s);
  return s;
}

it('an api process proxies to a service run by a scheduler process', { timeout: 180_000 }, async () => {
  const url = await (await pg()).createDatabase();
  // localhost, not 127.0.0.1: the URL the api node uses is the one the scheduler advertised.
  const [apiNode, scheduler] = await Promise.all([lakeray(url, 'api', '127.0.0.9'), lakeray(url, 'scheduler', 'localhost')]);
  const submitted = await api<{ id: string }>(apiNode.url, 'POST', '/api/v1/tasks', { script: 'service.mjs', service: { startup_timeout_s: 60 } });
  expect(submitted.status).toBe(201);
  const id = submitted.body.id;

  const listed = await until('the service to be ready on the api node', async () => {
    const r = await api<{ services: { task_id: string; state: string; port: number; url: string }[] }>(apiNode.url, 'GET', '/api/v1/services');
    return r.body.services.find((s) => s.task_id === id && s.state === 'ready');
  }, 60_000);
  const echoed = await api<{ method: string; url: string; body: string }>(apiNode.url, 'POST', `/api/v1/services/${id}/echo?x=1`, { hello: 'across' });
  expect(echoed.status).toBe(200);
  expect(echoed.body).toMatchObject({ method: 'POST', url: '/echo?x=1', body: JSON.stringify({ hello: 'across' }) });
  // A scheduler serves no user routes, its proxy included (api/scheduler-surface.ts): users go through an api node.
  expect((await api(scheduler.url, 'GET', `/api/v1/services/${id}/x`)).status).toBe(404);
  const events = await api<{ events: { type: string; data: { state: string; url?: string } }[] }>(apiNode.url, 'GET', `/api/v1/tasks/${id}/events?types=service`);
  expect(events.body.events.find((e) => e.data.state === 'ready')?.data.url).toBe(`http://localhost:${listed.port}`);

  // Cancelled on the api node: the proxy says so (409), not a hang or a 502.
  expect((await api(apiNode.url, 'POST', `/api/v1/tasks/${id}/cancel`)).status).toBeLessThan(300);
  await until('the service task to end', async () => (await api<{ status: string }>(apiNode.url, 'GET', `/api/v1/tasks/${id}`)).body.status === 'cancelled', 60_000);
  const after = await api<{ error: { code: string } }>(apiNode.url, 'GET', `/api/v1/services/${id}/x`);
  expect(after.status).toBe(409);
  expect(after.body.error.code).toBe('SERVICE_NOT_RUNNING');
});
