/**
 * The whole platform in one process (real SQLite, real executor, real Python harness,
 * Fastify on a socket): what a user gets from `lakeray up`, exercised over HTTP.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { startServer, type RunningServer } from '../../../src/main.ts';
import { api, tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';

const SCRIPTS = join(import.meta.dirname, 'scripts');

let server: RunningServer;
let dir: string;

const submit = async (body: Record<string, unknown>) => {
  const r = await api(server.url, 'POST', '/api/v1/tasks', body);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body as { id: string; status: string; queue_position: number | null };
};

const get = async (id: string) => (await api(server.url, 'GET', `/api/v1/tasks/${id}`)).body;
const finished = (id: string, ms?: number) =>
  until(`task ${id} to finish`, async () => {
    const t = await get(id);
    return ['completed', 'failed', 'cancelled'].includes(t.status) ? t : null;
  }, ms);

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

beforeAll(async () => {
  dir = tempDir();
  mkdirSync(join(dir, 'data'), { recursive: true });
  const config = parseConfig(
    {
      state_dir: join(dir, 'state'),
      script_roots: [SCRIPTS],
      data_roots: [join(dir, 'data')],
      executors: {
        local: {
          cpu: 4,
          gpus: ['0', '1'],
          kill_grace_ms: 1000,
          pools: [{ name: 'py', runtime: 'python', min: 2, max: 4 }],
          default_pools: { python: 'py' },
        },
      },
    },
    dir,
    {},
  );
  server = await startServer({ config, port: 0, logLevel: 'silent' });
});

afterAll(async () => {
  await server?.close();
});

describe('platform', () => {
  it('runs a script on real files and streams its events over SSE', async () => {
    writeFileSync(join(dir, 'data', 'in.txt'), 'hello lakeray');
    const t = await submit({ script: 'writes.py', input: 'in.txt', output: 'out.txt' });
    const done = await finished(t.id);
    expect(done.status).toBe('completed');
    expect(done.result).toEqual({ chars: 13 });
    expect(readFileSync(join(dir, 'data', 'out.txt'), 'utf8')).toBe('HELLO LAKERAY');

    const sse = await request(`${server.url}/api/v1/tasks/${t.id}/events`, { headers: { accept: 'text/event-stream' } });
    const text = await sse.body.text(); // the stream ends after the terminal state
    const types = [...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    expect(types).toEqual(['state', 'state', 'progress', 'result', 'state']);
    const seqs = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(seqs).toEqual([1, 2, 3, 4, 5]);
  });

  it('gives each GPU task its own devices and never more than the inventory at once', async () => {
    const tasks = await Promise.all([0, 1, 2].map(() => submit({ script: 'gpu_env.py', resources: { gpu: 1, cpu: 0.5 }, params: { hold_s: 0.8 } })));
    const running = await until('two running', async () => {
      const list = (await api(server.url, 'GET', '/api/v1/tasks?status=running&limit=10')).body.tasks;
      return list.length >= 2 ? list : null;
    });
    expect(running.length).toBe(2);
    expect(new Set(running.flatMap((t: { gpus: string[] }) => t.gpus))).toEqual(new Set(['0', '1']));
    const third = tasks.find((t) => !running.some((r: { id: string }) => r.id === t.id));
    expect((await get(third!.id)).status).toBe('pending');
    const results = await Promise.all(tasks.map((t) => finished(t.id)));
    for (const r of results) expect(r.status).toBe('completed');
    for (const r of results) expect(['0', '1']).toContain(r.result.cuda);
    const two = await submit({ script: 'gpu_env.py', resources: { gpu: 2, cpu: 0.5 }, params: { hold_s: 0 } });
    expect((await finished(two.id)).result.cuda).toBe('0,1');
    const none = await submit({ script: 'gpu_env.py', resources: { cpu: 0.5 }, params: { hold_s: 0 } });
    expect((await finished(none.id)).result.cuda).toBe('');
    const tooMany = await api(server.url, 'POST', '/api/v1/tasks', { script: 'gpu_env.py', resources: { gpu: 3 } });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.code).toBe('RESOURCES_UNSATISFIABLE');
  });

  it('cancels a running task: cancelled only once its process is gone', async () => {
    const t = await submit({ script: 'sleepy.py', params: { steps: 1000, step_s: 0.05 } });
    const pid = await until('the pid log line', async () => {
      const logs = (await api(server.url, 'GET', `/api/v1/tasks/${t.id}/logs`)).body.lines as { message: string }[];
      const line = logs.find((l) => l.message.startsWith('pid '));
      return line ? Number(line.message.split(' ')[1]) : null;
    });
    const c = await api(server.url, 'POST', `/api/v1/tasks/${t.id}/cancel`);
    expect(c.status).toBe(200);
    expect(['cancelling', 'cancelled']).toContain(c.body.status);
    const done = await finished(t.id, 10_000);
    expect(done.status).toBe('cancelled');
    expect(alive(pid)).toBe(false);
    const again = await api(server.url, 'POST', `/api/v1/tasks/${t.id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('TASK_NOT_CANCELLABLE');
  });

  it('cancels a queued task at once and reports queue positions', async () => {
    const blockers = await Promise.all([0, 1].map(() => submit({ script: 'gpu_env.py', resources: { gpu: 1 }, params: { hold_s: 1.5 } })));
    // The second one waits (queued) for a second pool worker to start.
    await until('both blockers to run', async () => (await Promise.all(blockers.map((t) => get(t.id)))).every((t) => t.status === 'running'));
    const a = await submit({ script: 'gpu_env.py', resources: { gpu: 1 }, params: { hold_s: 0 } });
    const b = await submit({ script: 'gpu_env.py', resources: { gpu: 1 }, params: { hold_s: 0 } });
    expect(a.queue_position).toBe(0);
    expect(b.queue_position).toBe(1);
    const c = await api(server.url, 'POST', `/api/v1/tasks/${a.id}/cancel`);
    expect(c.body.status).toBe('cancelled');
    expect((await get(b.id)).queue_position).toBe(0);
    await Promise.all([...blockers, b].map((t) => finished(t.id)));
  });

  it('times out a task with TASK_TIMEOUT and retries a failing one with backoff', async () => {
    const slow = await submit({ script: 'sleepy.py', params: { steps: 1000, step_s: 0.05 }, timeout_s: 0.5 });
    const timedOut = await finished(slow.id, 10_000);
    expect(timedOut.status).toBe('failed');
    expect(timedOut.error.code).toBe('TASK_TIMEOUT');

    const flaky = await submit({ script: 'flaky.py', params: { succeed_on: 2 }, max_attempts: 3, retry: { backoff_ms: 50 } });
    const ok = await finished(flaky.id);
    expect(ok.status).toBe('completed');
    expect(ok.attempt).toBe(2);
    expect(ok.result).toEqual({ attempt: 2 });

    const never = await submit({ script: 'flaky.py', params: { succeed_on: 9 }, max_attempts: 2, retry: { backoff_ms: 10 } });
    const failed = await finished(never.id);
    expect(failed.status).toBe('failed');
    expect(failed.error.code).toBe('SCRIPT_ERROR');
    expect(failed.attempt).toBe(2);
  });

  it('refuses bad input with a 4xx and writes nothing', async () => {
    const before = (await api(server.url, 'GET', '/api/v1/tasks?limit=1000')).body.tasks.length;
    const bad = [
      { script: '../../etc/passwd.py' },
      { script: 'writes.py', input: '/etc/passwd' },
      { script: 'writes.py', output: '../escape.txt' },
      { script: 'missing.py' },
      { script: 'writes.py', pool: 'nope' },
      { script: 'writes.py', unknown: 1 },
      { script: 'writes.py', resources: { gpu: 'two' } },
    ];
    for (const body of bad) {
      const r = await api(server.url, 'POST', '/api/v1/tasks', body);
      expect(r.status, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expect(typeof r.body.error.code).toBe('string');
    }
    const batch = await api(server.url, 'POST', '/api/v1/tasks/batch', { tasks: [{ script: 'writes.py' }, { script: 'missing.py' }] });
    expect(batch.status).toBe(400);
    expect(batch.body.error.message).toMatch(/tasks\[1\]/);
    expect((await api(server.url, 'GET', '/api/v1/tasks?limit=1000')).body.tasks.length).toBe(before);
    expect((await api(server.url, 'GET', '/health')).status).toBe(200);
  });

  it('returns the same task for a replayed idempotency key and 409 for another body', async () => {
    const first = await api(server.url, 'POST', '/api/v1/tasks', { script: 'flaky.py', params: { succeed_on: 1 }, idempotency_key: 'k1' });
    const replay = await api(server.url, 'POST', '/api/v1/tasks', { script: 'flaky.py', params: { succeed_on: 1 }, idempotency_key: 'k1' });
    expect(first.status).toBe(201);
    expect(replay.status).toBe(200);
    expect(replay.body.id).toBe(first.body.id);
    const conflict = await api(server.url, 'POST', '/api/v1/tasks', { script: 'flaky.py', params: { succeed_on: 5 }, idempotency_key: 'k1' });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe('IDEMPOTENCY_CONFLICT');
  });

  it('exposes queue depth and dispatch latency in /metrics', async () => {
    const r = await request(`${server.url}/metrics`);
    const text = await r.body.text();
    expect(text).toMatch(/lakeray_queue_depth\{executor="local"\} \d+/);
    expect(text).toMatch(/lakeray_dispatch_latency_seconds_count\{executor="local"\} [1-9]/);
    expect(text).toMatch(/lakeray_task_duration_seconds_count\{executor="local",status="completed"\} [1-9]/);
  });
});
