/**
 * Admission into warm pools (Executor.reserve): a task is claimed only once a ready worker has
 * a free slot for it, so it never waits for a worker while `running`. A refused reservation
 * makes the pool start a worker and call the room listener once it is ready; a pool that cannot
 * start workers lets tasks through, to fail at once.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeExecutor, makeTask, recorder, succeeded, tempDir, waitFor } from './helpers.ts';

const pool = (name: string, over: Record<string, unknown> = {}) => ({ name, runtime: 'python' as const, preload: [], min: 0, max: 1, idle_timeout_s: 60, concurrency: 1, ...over });

describe('local executor: admission into warm pools', () => {
  const executor = makeExecutor({ pools: [pool('one'), pool('two', { runtime: 'node', max: 1, concurrency: 2 })] });
  let rooms = 0;
  executor.onRoom(() => (rooms += 1));
  afterAll(() => executor.close());
  const stats = (name: string) => executor.poolStats().find((s) => s.pool === name)!;

  it('refuses a task while no worker is ready, starts one, and calls the room listener once it is', async () => {
    const task = makeTask({ script: 'ok.py', pool: 'one' });
    expect(executor.reserve(task, [])).toBe(false);
    expect(stats('one')).toMatchObject({ workers: 1, starting: 1 });
    // Asking again while it starts does not start another.
    expect(executor.reserve(task, [])).toBe(false);
    expect(stats('one').started_total).toBe(1);
    const before = rooms;
    await waitFor(() => rooms > before, 15_000, 'the room listener');
    expect(executor.reserve(task, [])).toBe(true);
    const rec = recorder();
    executor.run(task, [], rec.callbacks);
    expect(succeeded(await rec.exited).attempt).toBe(1);
    expect(stats('one')).toMatchObject({ started_total: 1, queued: 0 });
  });

  it('holds a reserved slot until run() or unreserve(): nobody else gets it', async () => {
    const a = makeTask({ script: 'ok.py', pool: 'one' });
    const b = makeTask({ script: 'ok.py', pool: 'one' });
    expect(executor.reserve(a, [])).toBe(true);
    expect(executor.reserve(b, [])).toBe(false); // max 1: no second worker, no room
    expect(stats('one').started_total).toBe(1);
    executor.unreserve(a.id);
    expect(executor.reserve(b, [])).toBe(true);
    const rec = recorder();
    executor.run(b, [], rec.callbacks);
    await rec.exited;
  });

  it('a node worker with concurrency 2 holds two slots', async () => {
    const tasks = [0, 1, 2].map(() => makeTask({ script: 'waits.mjs', pool: 'two', params: { ms: 100 } }));
    expect(executor.reserve(tasks[0]!, [])).toBe(false);
    await waitFor(() => stats('two').idle === 1, 15_000, 'the node worker');
    expect(tasks.map((t) => executor.reserve(t, []))).toEqual([true, true, false]);
    const recs = tasks.slice(0, 2).map(() => recorder());
    tasks.slice(0, 2).forEach((t, i) => executor.run(t, [], recs[i]!.callbacks));
    await Promise.all(recs.map((r) => r.exited));
    expect(executor.reserve(tasks[2]!, [])).toBe(true);
    executor.unreserve(tasks[2]!.id);
  });

  it('cold tasks, service tasks and tasks run() will refuse always have room', () => {
    expect(executor.reserve(makeTask({ script: 'ok.py' }), [])).toBe(true);
    expect(executor.reserve(makeTask({ script: 'ok.py', pool: 'nope' }), [])).toBe(true);
    expect(executor.reserve(makeTask({ script: 'ok.ts', pool: 'one' }), [])).toBe(true);
  });

  it('a pool whose workers cannot start lets tasks through, and they fail at once with the start error', async () => {
    const broken = makeExecutor({ pools: [pool('bad', { preload: ['no_such_module_xyz'] })] });
    let room = 0;
    broken.onRoom(() => (room += 1));
    try {
      const task = makeTask({ script: 'ok.py', pool: 'bad' });
      expect(broken.reserve(task, [])).toBe(false);
      await waitFor(() => room > 0, 15_000, 'the failed start to be reported');
      expect(broken.reserve(task, [])).toBe(true);
      const rec = recorder();
      broken.run(task, [], rec.callbacks);
      const outcome = await rec.exited;
      expect(outcome).toMatchObject({ kind: 'failed', error: { code: 'EXECUTOR_ERROR' } });
      expect(outcome.kind === 'failed' && outcome.error.message).toContain('no_such_module_xyz');
    } finally {
      await broken.close();
    }
  });

  it('gives a slot back when run() fails the task before the pool takes it', async () => {
    const t = makeTask({ script: 'ok.py', pool: 'one' });
    expect(executor.reserve(t, [])).toBe(true);
    const rec = recorder();
    executor.run({ ...t, output: '../escape' }, [], rec.callbacks); // refused: outside the data roots
    expect(await rec.exited).toMatchObject({ kind: 'failed', error: { code: 'INVALID_REQUEST' } });
    const next = makeTask({ script: 'ok.py', pool: 'one', params: { marker: path.join(tempDir(), 'x') } });
    expect(executor.reserve(next, [])).toBe(true);
    executor.unreserve(next.id);
  });
});
