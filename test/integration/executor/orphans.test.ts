import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { processAlive } from '../../../src/executors/local/process-group.ts';
import { SCRIPTS, exists, makeExecutor, makeTask, recorder, startHarness, tempDir, waitFor } from './helpers.ts';

/** A cold sleeps.py run of a "previous server", once its child runs. */
const sleeperOfPreviousServer = async () => {
  const previous = makeExecutor();
  const rec = recorder();
  const task = makeTask({ script: 'sleeps.py', params: { marker: path.join(tempDir(), 'm') } });
  previous.run(task, [], rec.callbacks);
  await waitFor(() => rec.logs().some((l) => l.startsWith('child ')), 15_000, 'the child');
  return { previous, rec, task, pid: rec.started[0]!.pid! };
};

describe('harness lifetime', () => {
  it('a python harness exits on stdin EOF mid-job and takes its children with it', async () => {
    const h = startHarness('python');
    await waitFor(() => h.events.some((e) => e.type === 'ready'), 10_000, 'ready');
    const job = { task_id: 'eof', attempt: 1, script: path.join(SCRIPTS, 'sleeps.py'), input: null, output: null, params: { marker: path.join(tempDir(), 'm') }, env: {} };
    h.child.stdin!.write(`${JSON.stringify({ op: 'run', job })}\n`);
    await waitFor(() => h.events.some((e) => e.type === 'log'), 10_000, 'the child pid');
    const childPid = Number(String(h.events.find((e) => e.type === 'log')!.message).split(' ')[1]);
    h.child.stdin!.end(); // what a dying server looks like from the harness
    await h.exited;
    await waitFor(() => !exists(childPid), 2000, 'the child to be gone');
  });

  it('a node harness exits on stdin EOF', async () => {
    const h = startHarness('node');
    await waitFor(() => h.events.some((e) => e.type === 'ready'), 10_000, 'ready');
    h.child.stdin!.end();
    expect(await h.exited).toBe(1);
  });

  it('reattach kills harnesses left by a previous server, and nothing else; every task is gone', async () => {
    const { previous, rec, task, pid } = await sleeperOfPreviousServer();
    const childPid = Number(rec.logs().find((l) => l.startsWith('child '))!.split(' ')[1]);

    const bystander = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
    const next = makeExecutor();
    const left = [
      { ...task, assignment: { gpus: [], placement: { kind: 'process', pid, worker: 'cold' } } },
      makeTask({ assignment: { gpus: [], placement: { kind: 'process', pid: bystander.pid!, worker: 'cold' } } }),
      makeTask({ assignment: null }),
    ];
    const answers = await next.reattach(left);
    expect([...answers.values()].map((a) => a.state)).toEqual(['gone', 'gone', 'gone']);
    expect(await rec.exited).toMatchObject({ kind: 'failed', error: { code: 'PROCESS_EXITED' } });
    expect(exists(pid)).toBe(false);
    // Killed together with its parent, the child may linger as a zombie of a non-reaping PID 1.
    expect(processAlive(childPid)).toBe(false);
    expect(exists(bystander.pid!)).toBe(true);
    bystander.kill('SIGKILL');
    await Promise.all([previous.close(), next.close()]);
  });

  it('reads the pid of a row written before placements (assignment.pid)', async () => {
    const { previous, rec, task, pid } = await sleeperOfPreviousServer();
    const next = makeExecutor();
    await next.reattach([{ ...task, assignment: { gpus: [], pid, worker: 'cold' } }]);
    expect(await rec.exited).toMatchObject({ kind: 'failed', error: { code: 'PROCESS_EXITED' } });
    expect(exists(pid)).toBe(false);
    await Promise.all([previous.close(), next.close()]);
  });

  it('reattach finds warm workers and cold runs of a previous server by its owner marker alone', async () => {
    const owner = `test-${process.pid}-${Date.now()}`;
    const previous = makeExecutor({ pools: [{ name: 'warm', runtime: 'python', preload: [], min: 1, max: 1, idle_timeout_s: 300, concurrency: 1 }] }, { owner });
    await previous.prewarm();
    const rec = recorder();
    previous.run(makeTask({ script: 'sleeps.py', params: { marker: path.join(tempDir(), 'm') } }), [], rec.callbacks);
    await waitFor(() => rec.started.length > 0, 15_000, 'the cold run');
    const coldPid = rec.started[0]!.pid!;
    const workerPids = previous.poolStats().length ? [...(previous as unknown as { pools: Map<string, { pids(): number[] }> }).pools.values()].flatMap((p) => p.pids()) : [];
    expect(workerPids.length).toBe(1);

    const stranger = makeExecutor({ pools: [{ name: 'warm', runtime: 'python', preload: [], min: 1, max: 1, idle_timeout_s: 300, concurrency: 1 }] }, { owner: `${owner}-other` });
    await stranger.prewarm();
    const strangerPids = [...(stranger as unknown as { pools: Map<string, { pids(): number[] }> }).pools.values()].flatMap((p) => p.pids());

    // The store recorded nothing: the marker is enough.
    const next = makeExecutor({}, { owner });
    await next.reattach([]);
    await waitFor(() => !exists(coldPid) && workerPids.every((p) => !exists(p)), 5000, 'the orphans to be gone');
    expect(strangerPids.every((p) => exists(p))).toBe(true);
    await Promise.all([previous.close(), stranger.close(), next.close()]);
  });
});
