/**
 * The engine re-attaches after a restart (reconciler.ts): a server instance "crashes" (its
 * executor instance stops hearing about its tasks, its store connection closes) and a second
 * engine starts on the same database, with a new instance of the executor over the same
 * cluster (SurvivingExecutor, which passes the Executor conformance suite). Real engine, real
 * SQLite file, real harness processes.
 */
import { describe, expect, it } from 'vitest';
import type { Task } from '../../../src/domain/task.ts';
import { tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';
import { makeExecutor } from '../executor/helpers.ts';
import { CALLER, LEASE_MS, newCluster, SCRIPTS, startServer, submit, taskUntil, type Server } from './server.ts';

const stateEvents = async (server: Server, id: string) =>
  (await server.engine.events(CALLER, id, 0, 1000)).filter((e) => e.type === 'state').map((e) => e.data.status);

describe('engine: re-attach after a restart', () => {
  it('a task still running is followed by the next instance: its lease, its events, one success, no second attempt', async () => {
    const dir = tempDir('lakeray-reattach-');
    const cluster = newCluster();
    const first = await startServer(dir, cluster);
    const id = await submit(first, { ms: 2500 });
    const placed = await taskUntil(first, id, (t) => t.assignment?.placement !== undefined, 'its placement stored');
    expect(placed.assignment?.placement).toMatchObject({ kind: 'cluster-task', task_id: id });
    await first.crash();

    const second = await startServer(dir, cluster);
    try {
      const running = await second.engine.get(CALLER, id);
      expect(running).toMatchObject({ status: 'running', lease_owner: second.engine.instanceId, attempt: 1 });
      const done = await taskUntil(second, id, (t) => t.status === 'completed', 'success');
      expect(done.result).toMatchObject({ waited: true });
      expect(done.attempt).toBe(1);
      expect(await stateEvents(second, id)).toEqual(['pending', 'running', 'completed']);
      // Its log was written by the first instance; the run went on under the second.
      const logs = (await second.engine.events(CALLER, id, 0, 1000)).filter((e) => e.type === 'log').map((e) => String(e.data.message));
      expect(logs.some((m) => m.startsWith('waiting '))).toBe(true);
      expect((await second.engine.stats()).executors.find((e) => e.name === 'cluster')?.used).toMatchObject({ cpu: 0 });
    } finally {
      await second.stop();
    }
  });

  it('a task that ended while no server listened is settled once with its outcome', async () => {
    const dir = tempDir('lakeray-reattach-');
    const cluster = newCluster();
    const first = await startServer(dir, cluster);
    const id = await submit(first, { ms: 300 });
    await taskUntil(first, id, (t) => t.assignment?.placement !== undefined, 'its placement stored');
    await first.crash();
    await until('the task to end on the cluster', async () => cluster.tasks.get(id)?.outcome ?? null);

    const second = await startServer(dir, cluster);
    try {
      const done = await taskUntil(second, id, (t) => t.status === 'completed', 'success');
      expect(done).toMatchObject({ attempt: 1, result: { waited: true }, lease_owner: null });
      expect(await stateEvents(second, id)).toEqual(['pending', 'running', 'completed']);
    } finally {
      await second.stop();
    }
  });

  it('a task that was cancelling is cancelled right after it is re-attached; one the cluster does not know is retried', async () => {
    const dir = tempDir('lakeray-reattach-');
    const cluster = newCluster();
    const first = await startServer(dir, cluster);
    const cancelling = await submit(first, { ms: 60_000 });
    const lost = await submit(first, { ms: 60_000 }, { max_attempts: 2 });
    await taskUntil(first, cancelling, (t) => t.assignment?.placement !== undefined, 'its placement stored');
    await taskUntil(first, lost, (t) => t.assignment?.placement !== undefined, 'its placement stored');
    // The crash came right after a cancel's compare-and-set, before the executor heard of it.
    await first.store.transition([{ id: cancelling, from: ['running'], to: 'cancelling', patch: { cancel_reason: 'user' }, event: { reason: 'user' }, now: Date.now() }]);
    await first.crash();
    cluster.local.cancel(lost, 100); // the cluster lost it meanwhile
    await until('the lost one to end', async () => cluster.tasks.get(lost)?.outcome ?? null);
    cluster.tasks.delete(lost);

    const second = await startServer(dir, cluster);
    try {
      expect(await taskUntil(second, cancelling, (t) => t.status === 'cancelled', 'cancelled')).toMatchObject({ attempt: 1 });
      expect(cluster.tasks.get(cancelling)?.outcome).toEqual({ kind: 'cancelled' }); // its run ended, not just its row
      const retried = await taskUntil(second, lost, (t) => t.attempt === 2 && t.status === 'running', 'the retry');
      expect(retried.lease_owner).toBe(second.engine.instanceId);
      const history = (await second.engine.events(CALLER, lost, 0, 1000)).filter((e) => e.type === 'state');
      expect(history.find((e) => e.data.status === 'pending' && e.data.reason === 'lease_lost')).toBeDefined();
      await second.engine.cancel(CALLER, lost);
    } finally {
      await second.stop();
    }
  });

  it('an unreachable executor: its tasks are not settled and its queue waits; once it answers, they are followed', async () => {
    const dir = tempDir('lakeray-reattach-');
    const cluster = newCluster(1);
    const first = await startServer(dir, cluster);
    const id = await submit(first, { ms: 1500 });
    const waiting = await submit(first, { ms: 10 });
    await taskUntil(first, id, (t) => t.assignment?.placement !== undefined, 'its placement stored');
    await first.crash();
    cluster.reachable = false;

    const local = makeExecutor({ cpu: 1 }, { scriptRoots: [SCRIPTS] });
    const second = await startServer(dir, cluster, new Map([['local', local]]));
    try {
      // Local work runs meanwhile.
      const [r] = await second.engine.submit(CALLER, [{ script: 'echo.py', executor: 'local' }]);
      await taskUntil(second, (r as { task: Task }).task.id, (t) => t.status === 'completed', 'the local task');
      await new Promise((res) => setTimeout(res, 2 * LEASE_MS)); // past its old lease: the sweeps ask again, in vain
      expect((await second.engine.get(CALLER, id)).status).toBe('running');
      expect((await second.engine.get(CALLER, waiting)).status).toBe('pending');
      expect(second.engine.unreachableExecutors()).toEqual([{ name: 'cluster', message: `cluster ${cluster.owner} is unreachable` }]);

      cluster.reachable = true;
      const done = await taskUntil(second, id, (t) => t.status === 'completed', 'success after the cluster answered');
      expect(done.attempt).toBe(1);
      expect(await stateEvents(second, id)).toEqual(['pending', 'running', 'completed']);
      await taskUntil(second, waiting, (t) => t.status === 'completed', 'the queued task');
      expect(second.engine.unreachableExecutors()).toEqual([]);
    } finally {
      await second.stop();
      await local.close();
    }
  });
});
