import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeApi, makeTask } from './fake-api.ts';
import { runCli } from './harness.ts';

let api: FakeApi;
beforeEach(async () => {
  api = await new FakeApi().start();
});
afterEach(() => api.stop());

describe('lakeray submit', () => {
  it('builds the body from flags and prints only the id', async () => {
    const r = await runCli([
      '--url', api.url, 'submit', 'mnist/train.py', '--name', 'mnist_v1', '--input', 'mnist_clean', '--output', 'mnist_v1',
      '-p', 'epochs=2', '-p', 'optim.lr=0.01', '-p', 'tags=["a","b"]', '-p', 'mode=fast', '--params-json', '{"optim":{"momentum":0.9},"seed":1}',
      '--gpu', '1', '--cpu', '2.5', '--memory-mb', '4096', '--priority', '-5', '--timeout', '10m', '--max-attempts', '3',
      '--pool', 'torch', '--executor', 'local', '--label', 'team=ml',
    ]);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toBe('tsk_1\n');
    const req = api.requests.find((q) => q.method === 'POST')!;
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.body).toEqual({
      script: 'mnist/train.py', name: 'mnist_v1', input: 'mnist_clean', output: 'mnist_v1',
      params: { epochs: 2, optim: { lr: 0.01, momentum: 0.9 }, tags: ['a', 'b'], mode: 'fast', seed: 1 },
      executor: 'local', pool: 'torch', resources: { cpu: 2.5, memory_mb: 4096, gpu: 1 },
      priority: -5, timeout_s: 600, max_attempts: 3, labels: { team: 'ml' },
    });
  });

  it('prints the task JSON with --json', async () => {
    const r = await runCli(['--url', api.url, 'submit', 'x.py', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ id: 'tsk_1', script: 'x.py', status: 'pending' });
  });

  it('prints API errors as `error CODE: message`, or as JSON with --json', async () => {
    const human = await runCli(['--url', api.url, 'submit', 'bad.py']);
    expect(human).toEqual({ code: 1, out: '', err: 'error INVALID_REQUEST: script: not allowed\n' });
    const json = await runCli(['--url', api.url, '--json', 'submit', 'bad.py']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.err)).toEqual({ error: { code: 'INVALID_REQUEST', message: 'script: not allowed' } });
  });

  it('rejects bad flags as usage errors (exit 2) without calling the API', async () => {
    for (const args of [['--gpu', 'two'], ['--gpu', '1.5'], ['-p', 'novalue'], ['-p', 'a..b=1'], ['--params-json', '[1]'], ['--timeout', '5x'], ['--bogus']]) {
      const r = await runCli(['--url', api.url, 'submit', 'x.py', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).not.toBe('');
    }
    expect(api.requests).toHaveLength(0);
    expect((await runCli([])).code).toBe(2);
    expect((await runCli(['frobnicate'])).code).toBe(2);
    expect((await runCli(['--help'])).code).toBe(0);
  });
});

describe('server reachability', () => {
  it('explains a refused connection and how to start the server', async () => {
    const url = api.url;
    await api.stop();
    const r = await runCli(['--url', url, 'tasks']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('error CONNECTION_REFUSED');
    expect(r.err).toContain('is the server running? start it with `lakeray up`');
    api = await new FakeApi().start(); // for afterEach
  });

  it('takes the URL from LAKERAY_URL', async () => {
    const r = await runCli(['tasks'], { env: { LAKERAY_URL: api.url } });
    expect(r.code).toBe(0);
    expect(api.requests).toHaveLength(1);
  });
});

describe('lakeray tasks', () => {
  beforeEach(() => {
    const now = Date.now();
    api.add({ task: makeTask({ id: 'tsk_a', name: 'queued-one', status: 'pending', queue_position: 2, created_at: new Date(now - 90_000).toISOString() }), events: [] });
    api.add({
      task: makeTask({
        id: 'tsk_b', name: 'runner', status: 'running', queue_position: null, progress: { fraction: 0.42, message: 'x' },
        created_at: new Date(now - 7200_000).toISOString(), started_at: new Date(now - 65_000).toISOString(),
      }),
      events: [],
    });
    api.add({
      task: makeTask({
        id: 'tsk_c', name: 'done', status: 'completed', queue_position: null,
        started_at: new Date(now - 20_000).toISOString(), finished_at: new Date(now - 17_500).toISOString(),
      }),
      events: [],
    });
  });

  it('prints an aligned table', async () => {
    const r = await runCli(['--url', api.url, 'tasks']);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+STATUS\s+PROGRESS\s+QUEUE\s+AGE\s+DURATION$/);
    expect(lines[1]).toMatch(/^tsk_a\s+queued-one\s+pending\s+-\s+2 ahead\s+1m\s+-$/);
    expect(lines[2]).toMatch(/^tsk_b\s+runner\s+running\s+42%\s+-\s+2h\s+1m0[45]s$/);
    expect(lines[3]).toMatch(/^tsk_c\s+done\s+completed\s+100%\s+-\s+5s\s+2\.5s$/);
    // Aligned: every row starts its STATUS column at the same offset.
    const col = lines[0]!.indexOf('STATUS');
    for (const l of lines.slice(1)) expect(l.slice(col)).toMatch(/^(pending|running|completed)/);
  });

  it('passes filters and follows cursors with --all', async () => {
    const r = await runCli(['--url', api.url, '--json', 'tasks', '--status', 'pending,running,completed', '--limit', '1', '--all']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc.tasks.map((t: { id: string }) => t.id)).toEqual(['tsk_a', 'tsk_b', 'tsk_c']);
    expect(doc.next_cursor).toBeNull();
    expect(api.requests.map((q) => q.url)).toEqual([
      '/api/v1/tasks?status=pending%2Crunning%2Ccompleted&limit=1',
      '/api/v1/tasks?status=pending%2Crunning%2Ccompleted&cursor=1&limit=1',
      '/api/v1/tasks?status=pending%2Crunning%2Ccompleted&cursor=2&limit=1',
    ]);
  });

  it('without --all shows one page and how to get the next', async () => {
    const r = await runCli(['--url', api.url, 'tasks', '--limit', '2']);
    expect(r.out.trim().split('\n')).toHaveLength(4);
    expect(r.out).toContain('more: lakeray tasks --cursor 2');
  });
});

describe('lakeray cancel / rm', () => {
  it('cancels, then refuses to delete an active task, then deletes a finished one', async () => {
    api.add({ task: makeTask({ id: 'tsk_r', status: 'running' }), events: [] });
    api.add({ task: makeTask({ id: 'tsk_f', status: 'failed' }), events: [] });
    expect(await runCli(['--url', api.url, 'cancel', 'tsk_r'])).toMatchObject({ code: 0, out: 'tsk_r cancelling (stopping the process)\n' });
    const active = await runCli(['--url', api.url, 'rm', 'tsk_r']);
    expect(active).toMatchObject({ code: 1, err: 'error TASK_ACTIVE: Task is still queued or running; cancel it first\n' });
    expect(await runCli(['--url', api.url, 'rm', 'tsk_f'])).toMatchObject({ code: 0, out: 'deleted tsk_f\n' });
    const json = await runCli(['--url', api.url, '--json', 'rm', 'nope']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.err).error.code).toBe('TASK_NOT_FOUND');
  });
});
