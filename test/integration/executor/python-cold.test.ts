import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SCRIPTS, makeExecutor, makeTask, runTask, succeeded, tempDir } from './helpers.ts';

describe('local executor: cold python runs', () => {
  const dataRoot = tempDir();
  const executor = makeExecutor({ max_log_bytes: 4096 }, { dataRoots: [dataRoot], maxLogLineBytes: 1024, apiUrl: 'http://127.0.0.1:9' });
  afterAll(() => executor.close());

  it('runs a script and returns its result, with params, paths, env and started info', async () => {
    fs.mkdirSync(path.join(dataRoot, 'in.d'));
    const task = makeTask({ script: 'ok.py', params: { a: 1 }, input: 'in.d', output: 'out/model', attempt: 2 });
    const rec = await runTask(executor, task);
    const result = succeeded(rec.exits[0]!);
    expect(rec.exits).toHaveLength(1);
    expect(result).toMatchObject({
      params: { a: 1 },
      input: path.join(dataRoot, 'in.d'),
      output: path.join(dataRoot, 'out/model'),
      task_id: task.id,
      attempt: 2,
      env_task_id: task.id,
      env_attempt: '2',
      api_url: 'http://127.0.0.1:9',
      cuda: '', // no GPUs given: no GPUs visible
      cwd: SCRIPTS,
    });
    expect(rec.started).toHaveLength(1);
    expect(rec.started[0]!.pid).toBe(result.pid);
    expect(rec.started[0]!.entered_at).toBeGreaterThan(Date.now() - 60_000);
    expect(rec.logs()).toContain('hello from ok.py');
  });

  it('passes a lake name (a bare identifier) through unchanged, and resolves anything else as a path', async () => {
    const rec = await runTask(executor, makeTask({ script: 'ok.py', input: 'mnist_clean', output: 'out.txt' }));
    expect(succeeded(rec.exits[0]!)).toMatchObject({ input: 'mnist_clean', output: path.join(dataRoot, 'out.txt') });
  });

  it('passes CUDA_VISIBLE_DEVICES through exactly', async () => {
    const rec = await runTask(executor, makeTask({ script: 'ok.py' }), ['3', '1']);
    expect(succeeded(rec.exits[0]!).cuda).toBe('3,1');
  });

  it('a bare input name that is no file in the data root passes through as a lake name', async () => {
    const rec = await runTask(executor, makeTask({ script: 'ok.py', input: 'mnist_clean' }));
    expect(succeeded(rec.exits[0]!).input).toBe('mnist_clean');
  });

  it('reports progress, metrics, logs and artifacts in order', async () => {
    const rec = await runTask(executor, makeTask({ script: 'progress.py', params: { steps: 4 } }));
    expect(succeeded(rec.exits[0]!)).toEqual({ steps: 4 });
    const progress = rec.events.filter((e) => e.type === 'progress').map((e) => e.data);
    expect(progress).toEqual([1, 2, 3, 4].map((i) => ({ fraction: i / 4, message: `step ${i}`, step: i, total: 4 })));
    const metrics = rec.events.filter((e) => e.type === 'metric').map((e) => e.data);
    expect(metrics[0]).toEqual({ name: 'loss', value: 1, step: 1 });
    expect(metrics.at(-1)).toEqual({ name: 'nan_loss', value: null });
    expect(rec.events.find((e) => e.type === 'log' && e.data.message === 'a warning')?.data).toEqual({ level: 'warn', message: 'a warning' });
    const artifact = rec.events.find((e) => e.type === 'artifact')?.data;
    expect(artifact).toMatchObject({ name: 'report.json', content_type: 'application/json' });
    expect(Object.keys(artifact ?? {})).not.toContain('task_id');
  });

  it('runs a three-parameter run() (ctx through lakeray.get_context())', async () => {
    const rec = await runTask(executor, makeTask({ script: 'three_args.py', params: { value: [1, 2] } }));
    expect(rec.exits[0]).toEqual({ kind: 'completed', result: [1, 2] });
    expect(rec.events.find((e) => e.type === 'progress')?.data.message).toBe('via get_context');
  });

  it('turns an exception into SCRIPT_ERROR with the traceback', async () => {
    const rec = await runTask(executor, makeTask({ script: 'raises.py' }));
    const outcome = rec.exits[0]!;
    expect(outcome.kind).toBe('failed');
    if (outcome.kind !== 'failed') return;
    expect(outcome.error).toMatchObject({ code: 'SCRIPT_ERROR', message: 'ValueError: bad input: 3 rows' });
    const traceback = (outcome.error as { traceback?: string }).traceback ?? '';
    expect(traceback).toContain('raises.py');
    expect(traceback).toContain('in load_rows');
    expect(traceback).not.toContain('lakeray/runner.py'); // the harness's own frames are noise
    expect(rec.logs().some((l) => l.includes('in load_rows'))).toBe(true);
  });

  it('reports PROCESS_EXITED with the exit code and last stderr lines when the process dies', async () => {
    const rec = await runTask(executor, makeTask({ script: 'exits.py' }));
    const outcome = rec.exits[0]!;
    expect(outcome.kind).toBe('failed');
    if (outcome.kind !== 'failed') return;
    expect(outcome.error.code).toBe('PROCESS_EXITED');
    expect(outcome.error.message).toContain('code 3');
    expect(outcome.error.message).toContain('about to die');
  });

  it('explains a missing run() and a non-JSON result', async () => {
    const noRun = (await runTask(executor, makeTask({ script: 'no_run.py' }))).exits[0]!;
    expect(noRun).toMatchObject({ kind: 'failed', error: { code: 'SCRIPT_ERROR' } });
    expect(noRun.kind === 'failed' && noRun.error.message).toMatch(/does not define a function run\(/);
    const bad = (await runTask(executor, makeTask({ script: 'bad_result.py' }))).exits[0]!;
    expect(bad.kind === 'failed' && bad.error.message).toMatch(/not JSON-serializable/);
  });

  it('turns stdout and stderr lines into log events, bounded per line and per task', async () => {
    const rec = await runTask(executor, makeTask({ script: 'prints.py', params: { lines: 2, long_bytes: 5000 } }));
    expect(rec.exits[0]).toEqual({ kind: 'completed', result: 'printed' });
    const logs = rec.events.filter((e) => e.type === 'log').map((e) => e.data);
    expect(logs).toContainEqual({ stream: 'stdout', message: 'out 0' });
    expect(logs).toContainEqual({ stream: 'stderr', message: 'err 1' });
    expect(logs).toContainEqual({ stream: 'stdout', message: 'no newline at the end' });
    const long = logs.find((l) => String(l.message).startsWith('xxx'));
    expect(long).toEqual({ stream: 'stdout', message: 'x'.repeat(1024), truncated: true });

    const flood = await runTask(executor, makeTask({ script: 'prints.py', params: { lines: 1000 } }));
    const floodLogs = flood.logs();
    expect(floodLogs.filter((l) => l.startsWith('log truncated'))).toHaveLength(1);
    expect(floodLogs.join('').length).toBeLessThan(4096 + 200);
    expect(flood.exits[0]).toEqual({ kind: 'completed', result: 'printed' });
  });

  it("runs a script whose directory holds a module named like the harness's imports", async () => {
    const rec = await runTask(executor, makeTask({ script: 'shadow/beside_signal.py' }));
    expect(rec.exits[0]).toEqual({ kind: 'completed', result: 'fine' });
  });

  it('fails with EXECUTOR_ERROR when the interpreter cannot be started', async () => {
    const broken = makeExecutor({}, { python: '/nonexistent/python3' });
    const outcome = (await runTask(broken, makeTask({ script: 'ok.py' }))).exits[0]!;
    expect(outcome).toMatchObject({ kind: 'failed', error: { code: 'EXECUTOR_ERROR' } });
    expect(outcome.kind === 'failed' && outcome.error.message).toContain('ENOENT');
    await broken.close();
  });

  it('fails with SCRIPT_NOT_FOUND for a missing script and INVALID_REQUEST for escapes', async () => {
    const missing = (await runTask(executor, makeTask({ script: 'nope.py' }))).exits[0]!;
    expect(missing).toMatchObject({ kind: 'failed', error: { code: 'SCRIPT_NOT_FOUND' } });
    const escape = (await runTask(executor, makeTask({ script: '../../../package.json' }))).exits[0]!;
    expect(escape).toMatchObject({ kind: 'failed', error: { code: 'INVALID_REQUEST' } });
    const dataEscape = (await runTask(executor, makeTask({ script: 'ok.py', output: '../elsewhere' }))).exits[0]!;
    expect(dataEscape).toMatchObject({ kind: 'failed', error: { code: 'INVALID_REQUEST' } });
  });
});
