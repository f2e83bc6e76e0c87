import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exists, makeExecutor, makeTask, recorder, runTask, succeeded, tempDir, waitFor } from './helpers.ts';

describe('local executor: warm python pools', () => {
  const executor = makeExecutor({
    pools: [
      { name: 'np', runtime: 'python', preload: ['numpy'], min: 1, max: 2, idle_timeout_s: 60, concurrency: 1 },
      { name: 'brief', runtime: 'python', preload: ['json'], min: 0, max: 2, idle_timeout_s: 0.3, concurrency: 1 },
      { name: 'gpu', runtime: 'python', preload: [], min: 0, max: 2, idle_timeout_s: 60, concurrency: 1 },
    ],
    default_pools: { python: 'np' },
  });
  afterAll(() => executor.close());
  const stats = (name: string) => executor.poolStats().find((s) => s.pool === name)!;

  it('reuses one preloaded worker for sequential jobs (same pid, preload once)', async () => {
    await executor.prewarm();
    expect(stats('np')).toMatchObject({ workers: 1, idle: 1, started_total: 1 });
    const first = succeeded((await runTask(executor, makeTask({ script: 'numpy_check.py' }))).exits[0]!);
    const second = succeeded((await runTask(executor, makeTask({ script: 'numpy_check.py' }))).exits[0]!);
    expect(first).toMatchObject({ preloaded: true, sum: 6 });
    expect(second.pid).toBe(first.pid);
    expect(stats('np')).toMatchObject({ workers: 1, started_total: 1, retired_total: 0, jobs_total: 2 });
    expect(stats('np').dispatch_ms_last).toBeGreaterThan(0);
  });

  it('isolates jobs in one worker: env, cwd and CUDA_VISIBLE_DEVICES are per job', async () => {
    const a = succeeded((await runTask(executor, makeTask({ script: 'ok.py', pool: 'np' }), ['0'])).exits[0]!);
    const b = succeeded((await runTask(executor, makeTask({ script: 'ok.py', pool: 'np' }))).exits[0]!);
    expect(a.pid).toBe(b.pid);
    expect([a.cuda, b.cuda]).toEqual(['0', '']);
    expect(b.env_task_id).not.toBe(a.env_task_id);
  });

  it('runs two jobs at once on two workers, then retires idle workers down to min (scale to zero)', async () => {
    const recs = [recorder(), recorder()];
    recs.forEach((rec) => executor.run(makeTask({ script: 'ok.py', pool: 'brief' }), [], rec.callbacks));
    const results = (await Promise.all(recs.map((r) => r.exited))).map(succeeded);
    expect(stats('brief').started_total).toBe(2);
    expect(new Set(results.map((r) => r.pid)).size).toBe(2);
    await waitFor(() => stats('brief').workers === 0, 10_000, 'idle retirement');
    expect(stats('brief')).toMatchObject({ retired_total: 2, idle: 0 });
    for (const r of results) expect(exists(r.pid as number)).toBe(false);
  });

  it('a worker that initialized CUDA only gets jobs for the same devices', async () => {
    const gpuTask = (init: boolean) => makeTask({ script: 'fake_cuda.py', pool: 'gpu', params: { init_cuda: init } });
    const a = succeeded((await runTask(executor, gpuTask(true), ['0'])).exits[0]!);
    const b = succeeded((await runTask(executor, gpuTask(false), ['1'])).exits[0]!);
    const c = succeeded((await runTask(executor, gpuTask(false), ['0'])).exits[0]!);
    expect(b.pid).not.toBe(a.pid); // the pinned worker cannot see device 1
    expect(c.pid).toBe(a.pid);
    expect([a.cuda, b.cuda, c.cuda]).toEqual(['0', '1', '0']);
  });

  it('replaces a worker that died mid-job and reports PROCESS_EXITED', async () => {
    const before = stats('np').started_total;
    const rec = await runTask(executor, makeTask({ script: 'exits.py' }));
    expect(rec.exits[0]).toMatchObject({ kind: 'failed', error: { code: 'PROCESS_EXITED' } });
    await waitFor(() => stats('np').idle === 1, 10_000, 'the replacement');
    expect(stats('np').started_total).toBe(before + 1);
    const after = succeeded((await runTask(executor, makeTask({ script: 'numpy_check.py' }))).exits[0]!);
    expect(after.preloaded).toBe(true);
  });

  it('fails a job whose pool cannot preload, with the import error', async () => {
    const broken = makeExecutor({ pools: [{ name: 'bad', runtime: 'python', preload: ['no_such_module_xyz'], min: 0, max: 1, idle_timeout_s: 60, concurrency: 1 }] });
    try {
      const rec = await runTask(broken, makeTask({ script: 'ok.py', pool: 'bad' }));
      expect(rec.exits[0]).toMatchObject({ kind: 'failed', error: { code: 'EXECUTOR_ERROR' } });
      expect(rec.exits[0]!.kind === 'failed' && rec.exits[0]!.error.message).toContain('no_such_module_xyz');
      expect(broken.poolStats()[0]!.workers).toBe(0);
    } finally {
      await broken.close();
    }
  });

  it('rejects an unknown pool and a pool of the wrong runtime', async () => {
    const unknown = (await runTask(executor, makeTask({ script: 'ok.py', pool: 'nope' }))).exits[0]!;
    expect(unknown).toMatchObject({ kind: 'failed', error: { code: 'INVALID_REQUEST' } });
    const wrong = (await runTask(executor, makeTask({ script: 'ok.ts', pool: 'np' }))).exits[0]!;
    expect(wrong).toMatchObject({ kind: 'failed', error: { code: 'INVALID_REQUEST' } });
  });

  // The node worker re-imports a script only when its file changed (size, mtime, ctime or
  // inode): here each write changes the file's mtime, so the edit is seen.
  it('picks up an edited script (and helper module) in the same warm worker', async () => {
    const root = tempDir();
    const pools = [
      { name: 'p', runtime: 'python' as const, preload: [], min: 0, max: 1, idle_timeout_s: 60, concurrency: 1 },
      { name: 'n', runtime: 'node' as const, preload: [], min: 0, max: 1, idle_timeout_s: 60, concurrency: 1 },
    ];
    const edit = makeExecutor({ pools }, { scriptRoots: [root] });
    try {
      const write = (version: number) => {
        fs.writeFileSync(path.join(root, 'helper.py'), `VERSION = ${version}\n`);
        fs.writeFileSync(path.join(root, 'v.py'), 'import os, helper\ndef run(i, o, p):\n    return [helper.VERSION, os.getpid()]\n');
        fs.writeFileSync(path.join(root, 'v.ts'), `export const run = async (): Promise<unknown> => [${version}, process.pid];\n`);
      };
      const both = async () => [
        succeeded((await runTask(edit, makeTask({ script: 'v.py', pool: 'p' }))).exits[0]!) as unknown as number[],
        succeeded((await runTask(edit, makeTask({ script: 'v.ts', pool: 'n' }))).exits[0]!) as unknown as number[],
      ];
      write(1);
      const [py1, ts1] = await both();
      write(2);
      const [py2, ts2] = await both();
      expect([py1![0], ts1![0], py2![0], ts2![0]]).toEqual([1, 1, 2, 2]);
      expect([py2![1], ts2![1]]).toEqual([py1![1], ts1![1]]); // same workers
    } finally {
      await edit.close();
    }
  });

  it('node: a warm worker keeps the module of an unchanged script and re-imports it when the file changes', async () => {
    const root = tempDir();
    const pools = [{ name: 'n', runtime: 'node' as const, preload: [], min: 0, max: 1, idle_timeout_s: 60, concurrency: 4 }];
    const edit = makeExecutor({ pools }, { scriptRoots: [root] });
    try {
      // count.mjs is ESM; count.ts (no package.json: CommonJS) requires a CommonJS helper.
      const write = (version: number) => {
        fs.writeFileSync(path.join(root, 'count.mjs'), `let n = 0;\nexport const run = async () => [${version}, ++n, process.pid];\n`);
        fs.writeFileSync(path.join(root, 'helper.cjs'), `module.exports = { version: ${version} };\n`);
        fs.writeFileSync(
          path.join(root, 'count.ts'),
          `const helper = require('./helper.cjs');\nlet n = 0;\nexport const run = async (): Promise<unknown> => [helper.version, ++n, process.pid];\n`,
        );
      };
      const job = async (script: string) => succeeded((await runTask(edit, makeTask({ script, pool: 'n' }))).exits[0]!) as unknown as number[];
      write(1);
      const esm = [await job('count.mjs'), await job('count.mjs')];
      const cjs = [await job('count.ts'), await job('count.ts')];
      // Several jobs of one script at once share the import.
      const together = await Promise.all([1, 2, 3].map(() => job('count.mjs')));
      await new Promise((resolve) => setTimeout(resolve, 20)); // a later mtime, whatever the clock's granularity
      write(2);
      const esmEdited = await job('count.mjs');
      const cjsEdited = await job('count.ts');
      expect(esm.map((r) => r.slice(0, 2))).toEqual([[1, 1], [1, 2]]);
      expect(cjs.map((r) => r.slice(0, 2))).toEqual([[1, 1], [1, 2]]);
      expect(together.map((r) => r[1]).sort()).toEqual([3, 4, 5]);
      expect(esmEdited.slice(0, 2)).toEqual([2, 1]);
      expect(cjsEdited.slice(0, 2)).toEqual([2, 1]); // the edited helper came with the edited script
      expect(new Set([...esm, ...cjs, esmEdited, cjsEdited].map((r) => r[2])).size).toBe(1); // one worker
    } finally {
      await edit.close();
    }
  });

  it('python: every job gets a fresh module namespace, compiled once while the file is unchanged', async () => {
    const root = tempDir();
    const pools = [{ name: 'p', runtime: 'python' as const, preload: [], min: 0, max: 1, idle_timeout_s: 60, concurrency: 1 }];
    const edit = makeExecutor({ pools }, { scriptRoots: [root] });
    try {
      const write = (version: number) =>
        fs.writeFileSync(
          path.join(root, 'count.py'),
          `import os\nCALLS = []\ndef run(i, o, p):\n    CALLS.append(1)\n    return [${version}, len(CALLS), os.getpid(), __name__, __file__]\n`,
        );
      const job = async () => succeeded((await runTask(edit, makeTask({ script: 'count.py', pool: 'p' }))).exits[0]!) as unknown as unknown[];
      write(1);
      const [a, b] = [await job(), await job()];
      await new Promise((resolve) => setTimeout(resolve, 20));
      write(2);
      const c = await job();
      expect([a.slice(0, 2), b.slice(0, 2), c.slice(0, 2)]).toEqual([[1, 1], [1, 1], [2, 1]]); // module state never carries over
      expect(new Set([a[2], b[2], c[2]]).size).toBe(1);
      expect(a[3]).not.toBe(b[3]); // a module of its own per job
      expect(a[4]).toBe(path.join(fs.realpathSync(root), 'count.py'));
    } finally {
      await edit.close();
    }
  });
});
