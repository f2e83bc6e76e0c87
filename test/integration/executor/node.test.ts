import { afterAll, describe, expect, it } from 'vitest';
import { exists, makeExecutor, makeTask, recorder, runTask, succeeded, waitFor } from './helpers.ts';

describe('local executor: JS/TS scripts', () => {
  const executor = makeExecutor({
    pools: [{ name: 'js', runtime: 'node', preload: ['node:zlib'], min: 0, max: 1, idle_timeout_s: 60, concurrency: 3 }],
  });
  afterAll(() => executor.close());

  it('runs a TypeScript script cold, with console output as log events', async () => {
    const task = makeTask({ script: 'ok.ts', params: { n: 1 } });
    const rec = await runTask(executor, task, ['2']);
    expect(succeeded(rec.exits[0]!)).toMatchObject({ params: { n: 1 }, cuda: '2' });
    const logs = rec.events.filter((e) => e.type === 'log').map((e) => e.data);
    expect(logs).toContainEqual({ level: 'info', stream: 'stdout', message: `hello from ${task.id}` });
    expect(logs).toContainEqual({ level: 'error', stream: 'stderr', message: `warning from ${task.id}` });
    expect(rec.events.filter((e) => e.type === 'progress').map((e) => e.data.fraction)).toEqual([0.5, 1]);
    expect(rec.started[0]!.worker).toBe('cold');
  });

  it('cancels a cold node run: SIGTERM aborts ctx.signal and the process is gone before exit', async () => {
    const task = makeTask({ script: 'waits.mjs' });
    let pid = 0;
    let aliveAtExit: boolean | undefined;
    const rec = recorder(() => {
      aliveAtExit = exists(pid);
    });
    executor.run(task, [], rec.callbacks);
    await waitFor(() => rec.started.length === 1, 10_000, 'start');
    pid = rec.started[0]!.pid!;
    const at = Date.now();
    executor.cancel(task.id, 10_000);
    expect(await rec.exited).toEqual({ kind: 'cancelled' });
    expect(aliveAtExit).toBe(false);
    expect(Date.now() - at).toBeLessThan(5000); // it left on SIGTERM, not at the grace period's SIGKILL
  });

  it('turns a thrown error into SCRIPT_ERROR with the stack', async () => {
    const rec = await runTask(executor, makeTask({ script: 'raises.mjs' }));
    const outcome = rec.exits[0]!;
    expect(outcome).toMatchObject({ kind: 'failed', error: { code: 'SCRIPT_ERROR', message: 'RangeError: bad input: 3 rows' } });
    expect((outcome as { error: { traceback?: string } }).error.traceback).toContain('loadRows');
  });

  it('runs jobs concurrently in one worker and attributes console output to each job', async () => {
    const tasks = [0, 1, 2].map(() => makeTask({ script: 'ok.ts', pool: 'js', params: { ms: 200 } }));
    const recs = tasks.map(() => recorder());
    tasks.forEach((t, i) => executor.run(t, [], recs[i]!.callbacks));
    const results = (await Promise.all(recs.map((r) => r.exited))).map(succeeded);
    expect(new Set(results.map((r) => r.pid)).size).toBe(1);
    tasks.forEach((t, i) => {
      const mine = recs[i]!.logs();
      expect(mine).toContain(`hello from ${t.id}`);
      expect(mine.filter((l) => l.startsWith('hello from'))).toHaveLength(1);
    });
    const stats = executor.poolStats()[0]!;
    expect(stats).toMatchObject({ workers: 1, started_total: 1 });
  });

  it('cancels one of several jobs through its AbortSignal; the worker lives on', async () => {
    const slow = makeTask({ script: 'waits.mjs', pool: 'js' });
    const other = makeTask({ script: 'waits.mjs', pool: 'js', params: { ms: 300 } });
    const [a, b] = [recorder(), recorder()];
    executor.run(slow, [], a.callbacks);
    executor.run(other, [], b.callbacks);
    await waitFor(() => a.started.length === 1 && b.started.length === 1, 10_000, 'both started');
    const worker = executor.pidOf(slow.id)!;
    expect(a.started[0]!.placement).toBeUndefined(); // a warm worker is found by its owner marker, never recorded
    executor.cancel(slow.id, 5000);
    expect(await a.exited).toEqual({ kind: 'cancelled' });
    expect(succeeded(await b.exited).task).toBe(other.id);
    expect(exists(worker)).toBe(true);
    expect(executor.poolStats()[0]!.started_total).toBe(1);
  });

  it('kills the worker when a job ignores its signal past the grace period', async () => {
    const stubborn = makeTask({ script: 'waits.mjs', pool: 'js', params: { stubborn: true } });
    const rec = recorder();
    executor.run(stubborn, [], rec.callbacks);
    await waitFor(() => rec.started.length === 1, 10_000, 'start');
    const pid = executor.pidOf(stubborn.id)!;
    executor.cancel(stubborn.id, 200);
    expect(await rec.exited).toEqual({ kind: 'cancelled' });
    expect(exists(pid)).toBe(false);
    // The next job gets a fresh worker.
    const next = succeeded((await runTask(executor, makeTask({ script: 'ok.ts', pool: 'js' }))).exits[0]!);
    expect(next.pid).not.toBe(pid);
  });

  it('a job that ignores its signal past the grace period never takes the jobs beside it along', async () => {
    const stubborn = makeTask({ script: 'waits.mjs', pool: 'js', params: { stubborn: true } });
    const sibling = makeTask({ script: 'waits.mjs', pool: 'js', params: { ms: 1500 } });
    const [a, b] = [recorder(), recorder()];
    let siblingDone = false;
    let siblingDoneAtExit: boolean | undefined;
    const c = recorder(() => (siblingDoneAtExit = siblingDone));
    executor.run(stubborn, [], c.callbacks);
    executor.run(sibling, [], b.callbacks);
    await waitFor(() => c.started.length === 1 && b.started.length === 1, 10_000, 'both started');
    const pid = executor.pidOf(stubborn.id)!;
    expect(executor.pidOf(sibling.id)).toBe(pid);
    executor.cancel(stubborn.id, 200);
    // Past the grace period the worker takes no new job: this one gets a worker of its own.
    await new Promise((r) => setTimeout(r, 400));
    executor.run(makeTask({ script: 'ok.ts', pool: 'js' }), [], a.callbacks);
    const siblingOutcome = await b.exited;
    siblingDone = true;
    expect(succeeded(siblingOutcome).task).toBe(sibling.id);
    // The stubborn job ends `cancelled` once its worker is gone, after its sibling finished.
    expect(await c.exited).toEqual({ kind: 'cancelled' });
    expect(siblingDoneAtExit).toBe(true);
    expect(exists(pid)).toBe(false);
    expect(succeeded(await a.exited).pid).not.toBe(pid);
  });

  it('a cancel that arrives before the script reads ctx.signal gives it an aborted signal', async () => {
    const task = makeTask({ script: 'late_signal.mjs', pool: 'js', params: { ms: 300 } });
    const rec = recorder();
    executor.run(task, [], rec.callbacks);
    await waitFor(() => rec.started.length === 1, 10_000, 'start');
    executor.cancel(task.id, 5000);
    expect(await rec.exited).toEqual({ kind: 'cancelled' });
    expect(rec.logs()).toContain('aborted=true cancelled=true reason=the task was cancelled');
  });

  it('runs hundreds of jobs at once through two workers: every line arrives whole and on its task', async () => {
    const busy = makeExecutor({ pools: [{ name: 'many', runtime: 'node', preload: [], min: 2, max: 2, idle_timeout_s: 60, concurrency: 50 }] });
    try {
      await busy.prewarm();
      const tasks = Array.from({ length: 400 }, (_, i) => makeTask({ script: 'ok.ts', pool: 'many', params: { i } }));
      const recs = tasks.map(() => recorder());
      tasks.forEach((t, i) => busy.run(t, [], recs[i]!.callbacks));
      const results = (await Promise.all(recs.map((r) => r.exited))).map(succeeded);
      expect(results.map((r) => (r.params as { i: number }).i)).toEqual(tasks.map((_, i) => i));
      expect(new Set(results.map((r) => r.pid)).size).toBe(2);
      tasks.forEach((t, i) => {
        const rec = recs[i]!;
        expect(rec.started).toHaveLength(1);
        expect(rec.logs()).toEqual([`hello from ${t.id}`, `warning from ${t.id}`]);
        expect(rec.events.filter((e) => e.type === 'progress').map((e) => e.data.fraction)).toEqual([0.5, 1]);
      });
      expect(busy.poolStats()[0]).toMatchObject({ started_total: 2, jobs_total: 400, busy: 0 });
    } finally {
      await busy.close();
    }
  });
});
