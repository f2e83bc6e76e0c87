/**
 * The Python harness reporting over HTTP (runtimes/python/lakeray/http_channel.py): a real
 * `python -m lakeray --job -` reports a task to a real Lakeray front, whose hub channel the
 * test opens as the task's executor would. The front restarts in the middle of the task.
 */
import { spawn } from 'node:child_process';
import { request } from 'undici';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '../../../src/domain/task.ts';
import type { HarnessMessage } from '../../../src/runtime/protocol.ts';
import { until } from '../../helpers/until.ts';
import { platform, ROOT, type Platform } from './front.ts';
import { SCRIPTS } from './server.ts';

let p: Platform;
beforeAll(async () => {
  p = await platform();
});
afterAll(async () => p?.close());

/** A task that runs (waits.py) in the local executor: the id the remote harness reports for. */
async function runningTask(): Promise<Task> {
  const [r] = await p.engine.submit({ tenant: 'default' }, [{ script: 'waits.py' }]);
  const id = (r as { task: Task }).task.id;
  return until('task running', async () => ((t) => (t.status === 'running' ? t : null))(await p.engine.get({ tenant: 'default' }, id)));
}

/** `python -m lakeray --job -` for the task, reporting to the front; resolves with its exit code and stderr. */
function remoteHarness(task: Task, script: string, params: Record<string, unknown>) {
  const child = spawn('python3', ['-u', '-m', 'lakeray', '--job', '-'], {
    env: {
      ...process.env,
      PYTHONPATH: join(ROOT, 'runtimes', 'python'),
      LAKERAY_REPORT_URL: p.url,
      LAKERAY_TASK_TOKEN: p.tokens.mint(task.id, task.attempt),
      LAKERAY_REPORT_RETRY_S: '60',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.resume();
  child.stdin.end(JSON.stringify({ task_id: task.id, attempt: task.attempt, script: join(SCRIPTS, script), input: null, output: null, params }));
  return new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
}

const kinds = (msgs: HarnessMessage[]) =>
  msgs.map((m) => (m.type === 'progress' ? `progress ${m.message}` : m.type === 'result' ? `result ${JSON.stringify(m.value)}` : m.type));

describe('HttpChannel', () => {
  it('delivers every event exactly once across a server restart, and exits once the result is acked', async () => {
    const task = await runningTask();
    const before: HarnessMessage[] = [];
    const after: HarnessMessage[] = [];
    p.reports.open(task.id, task.attempt, (m) => void before.push(m));
    const exit = remoteHarness(task, 'counts.py', { steps: 60, every_s: 0.05 });

    await until('the first events', async () => before.length >= 10);
    await p.stopFront(); // the harness now meets refused connections…
    await new Promise((r) => setTimeout(r, 800));
    await p.startFront(); // …then 503: nobody has re-opened the task's channel yet
    await new Promise((r) => setTimeout(r, 500));
    expect(after).toHaveLength(0);
    p.reports.open(task.id, task.attempt, (m) => void after.push(m)); // the executor re-attached

    const { code, stderr } = await exit;
    expect(code, stderr).toBe(0);
    expect(after.length).toBeGreaterThan(0); // events after the restart arrived
    const expected = ['ready', 'started', ...Array.from({ length: 60 }, (_, i) => `progress step ${i + 1}`), 'result {"steps":60}', 'done'];
    expect(kinds([...before, ...after])).toEqual(expected); // in order, none lost, none twice
    expect([...before, ...after].every((m) => !('task_id' in m) || m.task_id === task.id)).toBe(true);
  });

  it('stops at once when the attempt is over (409), exiting 1 with the reason', async () => {
    const task = await runningTask();
    p.reports.open(task.id, task.attempt, () => {});
    await p.engine.cancel({ tenant: 'default' }, task.id);
    await until('cancelled', async () => (await p.engine.get({ tenant: 'default' }, task.id)).status === 'cancelled');
    const started = Date.now();
    const { code, stderr } = await remoteHarness(task, 'counts.py', { steps: 3, every_s: 0 });
    expect(code).toBe(1);
    expect(stderr).toContain('STALE_ATTEMPT');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('uploads ctx.artifact files to the artifact store over HTTP, with the task token', async () => {
    const task = await runningTask();
    const got: HarnessMessage[] = [];
    p.reports.open(task.id, task.attempt, (m) => void got.push(m));
    const text = 'made on another machine '.repeat(1000);
    const { code, stderr } = await remoteHarness(task, 'makes_artifact.py', { text, name: '../odd name?.txt' });
    expect(code, stderr).toBe(0);
    const reported = got.find((m) => m.type === 'artifact') as Record<string, unknown>;
    expect(reported).toMatchObject({ type: 'artifact', name: 'odd name_.txt', uploaded: true, size: text.length, task_id: task.id });
    expect(reported.path).toBeUndefined();
    const r = await request(`${p.url}/api/v1/tasks/${task.id}/artifacts/${encodeURIComponent('odd name_.txt')}`);
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toContain('text/plain');
    expect(await r.body.text()).toBe(text);

    const put = (token: string | undefined, name = 'x.txt') =>
      request(`${p.url}/api/v1/tasks/${task.id}/artifacts/${encodeURIComponent(name)}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: 'nope',
      }).then(async (res) => ({ status: res.statusCode, body: (await res.body.json()) as any }));
    expect(await put(undefined)).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
    expect(await put(p.tokens.mint('t_other', 1))).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
    expect(await put(p.tokens.mint(task.id, task.attempt), '.hidden')).toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST' } } });
    await p.engine.cancel({ tenant: 'default' }, task.id);
    await until('cancelled', async () => (await p.engine.get({ tenant: 'default' }, task.id)).status === 'cancelled');
    expect(await put(p.tokens.mint(task.id, task.attempt))).toMatchObject({ status: 409, body: { error: { code: 'STALE_ATTEMPT' } } });
  });
});
