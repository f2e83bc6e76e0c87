/**
 * Uploads when the reader is another node: an API node and a node of role `all` (API and
 * scheduler; real processes, one PostgreSQL store) share a directory (node.shared_dir) and the
 * artifact root. An image uploaded to the API node is found by the other node (GET, and a
 * generation submitted there that names it) and read by the task that node runs. (A node of
 * role `scheduler` serves no user routes: api/scheduler-surface.ts.)
 */
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { usePostgres } from '../../helpers/postgres-server.ts';
import { api, ROOT, startServerProcess, tempDir, writeConfig, type ServerProcess } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';
import { fakeModel } from './helpers.ts';

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(120, 7)]);
const pg = usePostgres();
const servers: ServerProcess[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.kill('SIGTERM')));
});

it('an upload accepted by one node is read by a task on another that shares the storage', { timeout: 180_000 }, async () => {
  const url = await (await pg()).createDatabase();
  const shared = tempDir('lakeray-shared-');
  const start = async (role: 'api' | 'all') => {
    const dir = tempDir(`lakeray-${role}-`);
    const config = writeConfig(dir, {
      store: { kind: 'postgres', url, pool_size: 4 },
      script_roots: [join(ROOT, 'test/fixtures/scripts')],
      data_roots: [join(dir, 'data')],
      lake: { root: join(shared, 'lake') },
      artifacts: { kind: 'local', root: join(shared, 'artifacts') },
      executors: { local: { cpu: 2 } },
      generation: { models: [fakeModel('fake')] },
      node: { name: role, shared_dir: shared },
    });
    const s = await startServerProcess(dir, config, undefined, ['--role', role]);
    servers.push(s);
    return s;
  };
  const [apiNode, scheduler] = await Promise.all([start('api'), start('all')]);

  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(PNG)], { type: 'image/png' }), 'cat.png');
  const up = await fetch(`${apiNode.url}/api/v1/uploads`, { method: 'POST', body: form }).then(async (r) => ({ status: r.status, body: (await r.json()) as { id: string; url: string } }));
  expect(up.status).toBe(201);
  const back = await fetch(`${scheduler.url}${up.body.url}`);
  expect(back.status).toBe(200);
  expect(Buffer.from(await back.arrayBuffer()).equals(PNG)).toBe(true);

  // Submitted on the other node, which resolves the upload id; run by the scheduler.
  const r = await api<{ task_id: string }>(scheduler.url, 'POST', '/v1/video/generations', { prompt: 'shared', image: up.body.id });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  const task = await until('the generation to finish', async () => {
    const t = (await api<{ status: string; params: { image: string } }>(apiNode.url, 'GET', `/api/v1/tasks/${r.body.task_id}`)).body;
    return ['completed', 'failed', 'cancelled'].includes(t.status) ? t : null;
  }, 90_000);
  expect(task.status).toBe('completed');
  expect(task.params.image).toBe(join(shared, 'uploads', `${up.body.id}.png`));
  const received = await fetch(`${apiNode.url}/api/v1/tasks/${r.body.task_id}/artifacts/params.json`);
  expect(received.status).toBe(200);
  expect(((await received.json()) as { image_bytes: number }).image_bytes).toBe(PNG.length);
});
