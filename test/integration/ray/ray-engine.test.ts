/**
 * `lakeray up` with a Ray executor from lakeray.yaml (`executors.ray: {kind: ray, mode: job}`)
 * against the run's real head, as a child process: a task submitted through the API with
 * `executor: ray` runs as a Ray job, reports over HTTP and succeeds; and issue 12 §7: a kill -9
 * of the server while the job runs, then a restart on the same database and port, re-attaches
 * to the job — Ray never gets a second submission, and the task finishes exactly once.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, expect, it, vi } from 'vitest';
import { RayJobsClient } from '../../../src/executors/ray/jobs-client.ts';
import { api, startServerProcess, tempDir, writeConfig, type ServerProcess } from '../../helpers/server-process.ts';
import { rayUrl, SCRIPTS } from './ray-job-fixture.ts';

vi.setConfig({ testTimeout: 300_000, hookTimeout: 300_000 });

const address = await rayUrl();
const ray = new RayJobsClient({ address });
const servers: ServerProcess[] = [];
afterAll(async () => {
  for (const s of servers) await s.kill('SIGKILL');
  await ray.close();
});

/** A server of its own (database, state dir, executor name) on the shared head. */
function configure(): { dir: string; config: string; executor: string } {
  const dir = tempDir('lakeray-ray-engine-');
  const executor = `ray-${Math.random().toString(36).slice(2, 8)}`;
  const config = writeConfig(dir, {
    script_roots: [SCRIPTS],
    data_roots: [join(dir, 'data')],
    executors: { [executor]: { kind: 'ray', mode: 'job', address, poll_ms: 200 } },
  });
  return { dir, config, executor };
}

async function start(dir: string, config: string, port?: number): Promise<ServerProcess> {
  const server = await startServerProcess(dir, config, port);
  servers.push(server);
  return server;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 240_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

const taskOf = async (url: string, id: string) => (await api(url, 'GET', `/api/v1/tasks/${id}`)).body;
const eventsOf = async (url: string, id: string) =>
  (await api<{ events: { type: string; data: Record<string, unknown> }[] }>(url, 'GET', `/api/v1/tasks/${id}/events?limit=1000`)).body.events;
const ended = (t: { status: string }) => ['completed', 'failed', 'cancelled'].includes(t.status);
const jobsOf = async (taskId: string) => (await ray.list()).filter((j) => j.metadata?.lakeray_task === taskId);

it('runs a task submitted through the API as a Ray job: its events arrive over HTTP, and it succeeds', async () => {
  const { dir, config, executor } = configure();
  const server = await start(dir, config);
  const submitted = Date.now();
  const r = await api(server.url, 'POST', '/api/v1/tasks', { script: 'echo.py', executor, params: { n: 7 }, resources: { cpu: 1 } });
  expect(r.status).toBe(201);
  const id = r.body.id as string;

  const task = await until('the task to end', async () => {
    const t = await taskOf(server.url, id);
    return ended(t) ? t : undefined;
  });
  expect(task).toMatchObject({ status: 'completed', result: { params: { n: 7 }, task_id: id, attempt: 1, env_attempt: '1' } });
  const events = await eventsOf(server.url, id);
  const types = events.map((e) => e.type);
  expect(events.filter((e) => e.type === 'progress').map((e) => e.data.fraction)).toContain(1); // progress is coalesced as it is stored
  expect(events.some((e) => e.type === 'log' && e.data.message === 'hello')).toBe(true);
  expect(types).toContain('metric');
  const entered = events.find((e) => e.type === 'state' && e.data.status === 'running');
  expect(entered).toBeDefined();
  // No line of Ray's own (runtime env set-up, "Running entrypoint …") in the task's log.
  expect(events.filter((e) => e.type === 'log' && /Running entrypoint|Runtime env/.test(String(e.data.message)))).toEqual([]);

  const jobs = await jobsOf(id);
  expect(jobs.map((j) => [j.submission_id, j.status])).toEqual([[`lr-${id}-1`, 'SUCCEEDED']]);
  const runAt = events.find((e) => e.type === 'log' && e.data.message === 'hello') as unknown as { ts: number } | undefined;
  console.info(`[measure] submit → run() reported via Ray job (through lakeray up): ${runAt ? runAt.ts - submitted : '?'} ms; Ray job start→end ${(jobs[0]!.end_time ?? 0) - (jobs[0]!.start_time ?? 0)} ms`);
  await server.kill('SIGTERM');
});

it('kill -9 of the server while its Ray job runs: the restarted server re-attaches, no second submission, the task finishes once', async () => {
  const { dir, config, executor } = configure();
  let server = await start(dir, config);
  const r = await api(server.url, 'POST', '/api/v1/tasks', { script: 'waits.py', executor, params: { ms: 12_000 }, resources: { cpu: 1 } });
  expect(r.status).toBe(201);
  const id = r.body.id as string;
  await until('the script to run', async () => ((await eventsOf(server.url, id)).some((e) => e.type === 'log' && String(e.data.message).startsWith('waiting ')) ? true : undefined));

  await server.kill('SIGKILL');
  const killedAt = Date.now();
  const port = Number(new URL(server.url).port);
  expect((await jobsOf(id)).map((j) => j.status)).toEqual(['RUNNING']); // the job outlives its server

  server = await start(dir, config, port);
  const task = await until('the task to end after the restart', async () => {
    const t = await taskOf(server.url, id);
    return ended(t) ? t : undefined;
  });
  console.info(`[measure] kill -9 → task settled after restart: ${Date.now() - killedAt} ms`);
  expect(task).toMatchObject({ status: 'completed', attempt: 1, result: { waited: true } });
  // One job on Ray, the one submitted before the crash.
  expect((await jobsOf(id)).map((j) => [j.submission_id, j.status])).toEqual([[`lr-${id}-1`, 'SUCCEEDED']]);
  await server.kill('SIGTERM');

  const db = new Database(join(dir, 'state', 'lakeray.db'), { readonly: true });
  const states = db
    .prepare(`SELECT json_extract(data, '$.status') AS status FROM events WHERE task_id = ? AND type = 'state' ORDER BY seq`)
    .all(id) as { status: string }[];
  db.close();
  const statuses = states.map((s) => s.status);
  expect(statuses.filter((s) => s === 'running')).toHaveLength(1); // never started again
  expect(statuses.filter((s) => s === 'completed')).toHaveLength(1);
});
