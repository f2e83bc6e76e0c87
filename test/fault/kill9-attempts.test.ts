/**
 * What a kill -9 of the server costs the tasks it had, with a warm pool of one worker busy:
 * - tasks waiting for a worker never started their script: they must not use up an attempt
 *   (with the default of one attempt they would fail TASK_LOST), and they are `pending`, not
 *   `running`, while they wait;
 * - the task whose script ran is re-queued (attempts left) and its script learns that this is
 *   its second attempt (ctx.attempt, LAKERAY_ATTEMPT);
 * - the TASK_LOST of its first attempt stays in its event history, not on the task that then
 *   succeeded.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { api, ROOT, startServerProcess, tempDir, writeConfig, type ServerProcess } from '../helpers/server-process.ts';
import { until } from '../helpers/until.ts';

let server: ServerProcess | null = null;
afterAll(async () => {
  await server?.kill('SIGKILL');
});

const task = async (id: string) => (await api(server!.url, 'GET', `/api/v1/tasks/${id}`)).body;

it('a kill -9 costs an attempt only to tasks whose script had started', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const marker = join(dir, 'held.txt');
  const config = writeConfig(dir, {
    script_roots: [join(ROOT, 'test/fault/scripts')],
    data_roots: [join(dir, 'data')],
    executors: {
      local: { cpu: 4, pools: [{ name: 'py', runtime: 'python', min: 1, max: 1 }], default_pools: { python: 'py' } },
    },
  });
  server = await startServerProcess(dir, config);
  const submit = async (body: Record<string, unknown>) => {
    const r = await api(server!.url, 'POST', '/api/v1/tasks', { script: 'attempt.py', resources: { cpu: 1 }, ...body });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.id as string;
  };
  const held = await submit({ params: { hold: true, marker }, max_attempts: 2 });
  await until('the held task to start its script', async () => existsSync(marker), 30_000);
  // Three more fit the executor's cpus, but the pool's only worker is busy.
  const waiting = [await submit({}), await submit({}), await submit({})];
  await new Promise((r) => setTimeout(r, 1500)); // time enough to be claimed, had they been
  for (const id of waiting) expect((await task(id)).status).toBe('pending');
  expect((await task(held)).status).toBe('running');

  await server.kill('SIGKILL');
  server = await startServerProcess(dir, config, Number(new URL(server.url).port));
  const finished = async (id: string) =>
    until(`task ${id} to finish`, async () => {
      const t = await task(id);
      return ['completed', 'failed', 'cancelled'].includes(t.status) ? t : null;
    }, 60_000);

  for (const id of waiting) {
    const t = await finished(id);
    expect(t, JSON.stringify(t)).toMatchObject({ status: 'completed', attempt: 1, error: null, result: { attempt: 1, env_attempt: '1' } });
  }
  const again = await finished(held);
  expect(again).toMatchObject({ status: 'completed', attempt: 2, error: null, result: { attempt: 2, env_attempt: '2' } });
  const states = (await api(server.url, 'GET', `/api/v1/tasks/${held}/events?types=state`)).body;
  const requeued = (states.events as { data: Record<string, unknown> }[]).map((e) => e.data).find((d) => d.reason === 'lease_lost');
  expect(requeued).toMatchObject({ status: 'pending', error: { code: 'TASK_LOST' } });
  await server.kill('SIGTERM');
  server = null;
});
