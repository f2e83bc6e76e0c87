/**
 * Executor ownership between engines over one store (ownership.ts, reconciler.ts): one owner
 * dispatches, a standby takes over within 10 s of the owner's death and re-attaches its tasks,
 * a deposed owner's writes are refused, and a cancel made on a process that does not run the
 * task reaches the one that does. Two real engines in this process over one SQLite file (two
 * connections, as two processes would have), real harness processes on a SurvivingExecutor
 * cluster.
 */
import { describe, expect, it } from 'vitest';
import type { Task } from '../../../src/domain/task.ts';
import type { Reattached, RunCallbacks } from '../../../src/executors/executor.ts';
import { SurvivingExecutor } from '../executor/surviving-executor.ts';
import { tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';
import { CALLER, newCluster, startServer, submit, taskUntil, type Server } from './server.ts';

const stateEvents = async (server: Server, id: string) =>
  (await server.engine.events(CALLER, id, 0, 1000)).filter((e) => e.type === 'state').map((e) => e.data.status);

const ownerOf = async (server: Server, executor = 'cluster') => (await server.store.executorOwners()).find((o) => o.executor === executor);

const SHARED = { exclusive: false } as const;

/** A cluster that takes `delayMs` to answer a re-attach (a Ray head under load). */
class SlowReattach extends SurvivingExecutor {
  delayMs = 0;
  override async reattach(tasks: readonly Task[], callbacks: (task: Task) => RunCallbacks): Promise<Map<string, Reattached>> {
    await new Promise((r) => setTimeout(r, this.delayMs));
    return super.reattach(tasks, callbacks);
  }
}

/** Two schedulers over one database and cluster; the first one started owns the executor. */
const pair = async (scheduler: { ownership_ttl_ms: number; ownership_renew_ms: number }): Promise<[Server, Server]> => {
  const dir = tempDir('lakeray-owner-');
  const cluster = newCluster();
  const first = await startServer(dir, cluster, new Map(), { ...SHARED, scheduler });
  return [first, await startServer(dir, cluster, new Map(), { ...SHARED, scheduler })];
};

describe('engine: executor ownership', () => {
  it('a standby dispatches nothing, takes over within 10 s of the owner dying (default ttl) and re-attaches its task', async () => {
    const dir = tempDir('lakeray-owner-');
    const cluster = newCluster();
    const owner = await startServer(dir, cluster, new Map(), SHARED);
    const standby = await startServer(dir, cluster, new Map(), SHARED);
    try {
      expect((await ownerOf(owner))?.owner).toBe(owner.engine.instanceId);
      // Submitted through the standby: run by the owner.
      const id = await submit(standby, { ms: 9000 });
      const placed = await taskUntil(standby, id, (t) => t.assignment?.placement !== undefined, 'its placement stored');
      expect(placed.lease_owner).toBe(owner.engine.instanceId);

      const died = Date.now();
      await owner.crash();
      await until('the standby to own the executor', async () => ((await ownerOf(standby))?.owner === standby.engine.instanceId ? true : null), 15_000, 50);
      const tookMs = Date.now() - died;
      expect(tookMs).toBeLessThanOrEqual(10_000);
      expect((await ownerOf(standby))?.epoch).toBe(2);
      const adopted = await taskUntil(standby, id, (t) => t.lease_owner === standby.engine.instanceId, 'its lease taken over');
      expect(adopted).toMatchObject({ status: 'running', attempt: 1 });

      const done = await taskUntil(standby, id, (t) => t.status === 'completed', 'success');
      expect(done).toMatchObject({ attempt: 1, result: { waited: true } });
      expect(await stateEvents(standby, id)).toEqual(['pending', 'running', 'completed']);
      // The new owner dispatches what comes next.
      const next = await submit(standby, { ms: 10 });
      expect(await taskUntil(standby, next, (t) => t.status === 'completed', 'the next task')).toMatchObject({ attempt: 1 });
    } finally {
      await standby.stop();
    }
  }, 60_000);

  it("refuses a deposed owner's writes until it learns it was deposed: nothing claimed, its late settle dropped, then recovered once", async () => {
    const dir = tempDir('lakeray-owner-');
    const cluster = newCluster();
    // Renewing rarely: the window between being deposed and noticing it stays open for seconds.
    const server = await startServer(dir, cluster, new Map(), { ...SHARED, scheduler: { ownership_ttl_ms: 60_000, ownership_renew_ms: 4000 } });
    try {
      const first = await submit(server, { ms: 600 });
      await taskUntil(server, first, (t) => t.assignment?.placement !== undefined, 'its placement stored');
      // Another process takes the executor over (a steal: the holder is deemed dead).
      const intruder = (await server.store.claimExecutor('cluster', 'intruder', Date.now(), 60_000, true))!;
      expect(intruder.epoch).toBe(2);

      const second = await submit(server, { ms: 10 });
      await until('the first task to end on the cluster', async () => cluster.tasks.get(first)?.outcome ?? null, 10_000);
      await new Promise((r) => setTimeout(r, 500));
      // Its process ended and the engine settled it, under epoch 1: refused. Nothing new started.
      expect(await server.engine.get(CALLER, first)).toMatchObject({ status: 'running', lease_owner: server.engine.instanceId });
      expect(await stateEvents(server, first)).toEqual(['pending', 'running']);
      expect(await server.engine.get(CALLER, second)).toMatchObject({ status: 'pending', attempt: 0 });

      // The intruder goes; the engine learns it was deposed, claims again (epoch 3), recovers.
      await server.store.releaseExecutor({ executor: 'cluster', epoch: intruder.epoch }, 'intruder', Date.now());
      await until('the engine to own the executor again', async () => ((await ownerOf(server))?.owner === server.engine.instanceId ? true : null), 20_000, 50);
      expect((await ownerOf(server))?.epoch).toBe(3);
      expect(await taskUntil(server, first, (t) => t.status === 'completed', 'the first task settled by recovery')).toMatchObject({ attempt: 1 });
      expect(await stateEvents(server, first)).toEqual(['pending', 'running', 'completed']);
      expect(await taskUntil(server, second, (t) => t.status === 'completed', 'the second task')).toMatchObject({ attempt: 1 });
    } finally {
      await server.stop();
    }
  }, 60_000);

  it('a cancel made on a process that does not run the task reaches its owner', async () => {
    const [owner, other] = await pair({ ownership_ttl_ms: 3000, ownership_renew_ms: 300 });
    try {
      const id = await submit(other, { ms: 20_000 });
      await taskUntil(other, id, (t) => t.assignment?.placement !== undefined, 'its placement stored');
      expect((await other.engine.cancel(CALLER, id)).status).toBe('cancelling');
      const done = await taskUntil(other, id, (t) => t.status === 'cancelled', 'cancelled by its owner');
      expect(done.finished_at! - done.started_at!).toBeLessThan(15_000);
      expect(await stateEvents(other, id)).toEqual(['pending', 'running', 'cancelling', 'cancelled']);
    } finally {
      await other.stop();
      await owner.stop();
    }
  }, 60_000);

  it('a graceful stop gives the ownership up: the standby takes over at once', async () => {
    const [owner, standby] = await pair({ ownership_ttl_ms: 60_000, ownership_renew_ms: 300 });
    try {
      await owner.stop();
      const stopped = Date.now();
      await until('the standby to own the executor', async () => ((await ownerOf(standby))?.owner === standby.engine.instanceId ? true : null), 10_000, 20);
      expect(Date.now() - stopped).toBeLessThan(5_000);
      const id = await submit(standby, { ms: 10 });
      expect(await taskUntil(standby, id, (t) => t.status === 'completed', 'run by the new owner')).toMatchObject({ lease_owner: null });
    } finally {
      await standby.stop();
    }
  }, 60_000);

  it("a re-attach slower than the ttl does not cost the owner its other executors' ownership", async () => {
    const dir = tempDir('lakeray-owner-');
    const cluster = newCluster();
    const slowCluster = newCluster();
    const scheduler = { ownership_ttl_ms: 1000, ownership_renew_ms: 200 };
    const slow = (delayMs: number) => Object.assign(new SlowReattach(slowCluster, 'slow'), { delayMs });
    const first = await startServer(dir, cluster, new Map([['slow', slow(0)]]), { ...SHARED, scheduler });
    const [r] = await first.engine.submit(CALLER, [{ script: 'waits.py', executor: 'slow', params: { ms: 8000 } }]);
    const id = r!.task.id;
    await taskUntil(first, id, (t) => t.assignment?.placement !== undefined, 'its placement stored');
    await first.crash();

    await new Promise((r) => setTimeout(r, scheduler.ownership_ttl_ms + 100)); // the dead owner's ownership lapses
    // The next owner's re-attach of `slow` takes 3 ttls; a standby, started meanwhile, polls all along.
    const starting = startServer(dir, cluster, new Map([['slow', slow(3000)]]), { ...SHARED, scheduler });
    await new Promise((r) => setTimeout(r, 300));
    const standby = await startServer(dir, cluster, new Map([['slow', slow(0)]]), { ...SHARED, scheduler });
    const owner = await starting;
    try {
      const owners = async () => Object.fromEntries((await owner.store.executorOwners()).map((o) => [o.executor, [o.owner, o.epoch]]));
      const mine = owner.engine.instanceId;
      expect(await owners()).toEqual({ cluster: [mine, 2], slow: [mine, 2] });
      expect(await taskUntil(owner, id, (t) => t.status === 'completed', 'the re-attached task')).toMatchObject({ attempt: 1, lease_owner: null });
      expect(await owners()).toEqual({ cluster: [mine, 2], slow: [mine, 2] });
    } finally {
      await standby.stop();
      await owner.stop();
    }
  }, 60_000);
});
