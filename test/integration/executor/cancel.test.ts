import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunOutcome } from '../../../src/executors/executor.ts';
import { exists, makeExecutor, makeTask, recorder, tempDir, waitFor } from './helpers.ts';

const childPidOf = (logs: string[]): number | undefined => {
  const line = logs.find((l) => l.startsWith('child '));
  return line === undefined ? undefined : Number(line.slice('child '.length));
};

/** Starts sleeps.py, waits until its child exists, cancels it; reports what was alive at exit. */
const cancelSleeper = async (executor: ReturnType<typeof makeExecutor>, pool: string | null, graceMs: number) => {
  const marker = path.join(tempDir(), 'finally.txt');
  let pid = 0;
  let childPid = 0;
  const aliveAtExit: { harness?: boolean; child?: boolean } = {};
  const rec = recorder(() => {
    aliveAtExit.harness = exists(pid);
    aliveAtExit.child = exists(childPid);
  });
  const task = makeTask({ script: 'sleeps.py', params: { marker }, pool });
  executor.run(task, [], rec.callbacks);
  await waitFor(() => childPidOf(rec.logs()) !== undefined, 15_000, 'the child pid');
  pid = executor.pidOf(task.id)!;
  childPid = childPidOf(rec.logs())!;
  expect(exists(childPid)).toBe(true);
  const cancelledAt = Date.now();
  executor.cancel(task.id, graceMs);
  const outcome: RunOutcome = await rec.exited;
  return { outcome, rec, pid, childPid, marker, aliveAtExit, elapsed: Date.now() - cancelledAt };
};

describe('local executor: cancellation', () => {
  const executor = makeExecutor({ pools: [{ name: 'py', runtime: 'python', preload: ['json'], min: 1, max: 2, idle_timeout_s: 60, concurrency: 1 }] });
  afterAll(() => executor.close());

  it('cold: SIGTERM runs the finally block, and the whole process group is gone before exit(cancelled)', async () => {
    const r = await cancelSleeper(executor, null, 5000);
    expect(r.outcome).toEqual({ kind: 'cancelled' });
    expect(r.rec.exits).toHaveLength(1);
    expect(r.aliveAtExit).toEqual({ harness: false, child: false });
    expect(fs.readFileSync(r.marker, 'utf8')).toBe('cancelled=True');
    expect(r.elapsed).toBeLessThan(4000); // it left on SIGTERM, well before the grace period
  });

  it('warm: the cancelled worker is discarded and replaced up to min', async () => {
    await executor.prewarm();
    const r = await cancelSleeper(executor, 'py', 5000);
    expect(r.outcome).toEqual({ kind: 'cancelled' });
    expect(r.aliveAtExit).toEqual({ harness: false, child: false });
    expect(fs.readFileSync(r.marker, 'utf8')).toBe('cancelled=True');
    await waitFor(() => executor.poolStats()[0]!.idle === 1, 10_000, 'a replacement worker');
    const stats = executor.poolStats()[0]!;
    expect(stats.started_total).toBe(2);
    expect(stats.workers).toBe(1);
  });

  it('SIGKILLs the group after the grace period when SIGTERM is not enough', async () => {
    const marker = path.join(tempDir(), 'never.txt');
    const rec = recorder();
    const task = makeTask({ script: 'sleeps.py', params: { marker, seconds: 300 } });
    executor.run(task, [], rec.callbacks);
    await waitFor(() => rec.logs().some((l) => l.startsWith('child ')), 15_000, 'the child pid');
    const pid = rec.started[0]!.pid!;
    process.kill(pid, 'SIGSTOP'); // a stopped process cannot handle SIGTERM: only SIGKILL ends it
    const at = Date.now();
    executor.cancel(task.id, 300);
    expect(await rec.exited).toEqual({ kind: 'cancelled' });
    expect(Date.now() - at).toBeGreaterThanOrEqual(250);
    expect(exists(pid)).toBe(false);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('cancelling a job still waiting for a worker cancels it without a process', async () => {
    const small = makeExecutor({ pools: [{ name: 'one', runtime: 'python', preload: [], min: 0, max: 1, idle_timeout_s: 60, concurrency: 1 }] });
    try {
      const marker = path.join(tempDir(), 'm.txt');
      const first = recorder();
      const firstTask = makeTask({ script: 'sleeps.py', params: { marker }, pool: 'one' });
      small.run(firstTask, [], first.callbacks);
      const second = recorder();
      const secondTask = makeTask({ script: 'ok.py', pool: 'one' });
      small.run(secondTask, [], second.callbacks);
      expect(small.poolStats()[0]!.queued).toBe(1);
      small.cancel(secondTask.id, 1000);
      expect(await second.exited).toEqual({ kind: 'cancelled' });
      expect(second.started).toHaveLength(0);
      small.cancel(firstTask.id, 1000);
      expect(await first.exited).toEqual({ kind: 'cancelled' });
    } finally {
      await small.close();
    }
  });

  it('close() cancels running tasks and stops every worker', async () => {
    const closing = makeExecutor({ pools: [{ name: 'p', runtime: 'python', preload: [], min: 1, max: 1, idle_timeout_s: 60, concurrency: 1 }] });
    await closing.prewarm();
    const rec = recorder();
    closing.run(makeTask({ script: 'sleeps.py', params: { marker: path.join(tempDir(), 'c.txt') } }), [], rec.callbacks);
    await waitFor(() => rec.started.length === 1, 10_000, 'start');
    await closing.close();
    expect(rec.exits).toEqual([{ kind: 'cancelled' }]);
    expect(exists(rec.started[0]!.pid!)).toBe(false);
    expect(closing.poolStats()[0]!.workers).toBe(0);
  });
});
