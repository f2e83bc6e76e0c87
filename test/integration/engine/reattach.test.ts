/**
 * The engine re-attaches after a restart (reconciler.ts): a server instance "crashes" (its
 * executor instance stops hearing about its tasks, its store connection closes) and a second
 * engine starts on the same database, with a new instance of the executor over the same
 * cluster (SurvivingExecutor, which passes the Executor conformance suite). Real engine, real
 * SQLite file, real harness processes.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import type { Task } from '../../../src/domain/task.ts';
import { Engine } from '../../../src/engine/engine.ts';
import { MemoryEventBus } from '../../../src/events/memory.ts';
import type { Executor } from '../../../src/executors/executor.ts';
import { SqliteTaskStore } from '../../../src/store/sqlite/sqlite-store.ts';
import { tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';
import { makeExecutor } from '../executor/helpers.ts';
import { Cluster, SurvivingExecutor } from '../executor/surviving-executor.ts';

const SCRIPTS = join(import.meta.dirname, '../executor/scripts');
const CALLER = { tenant: 'default' };
const LEASE_MS = 900;

export interface Server {
  engine: Engine;
  store: SqliteTaskStore;
  executor: SurvivingExecutor;
  /** The server dies: its executor instance hears nothing more, its store connection closes. */
  crash(): Promise<void>;
  stop(): Promise<void>;
}

const clusters: Cluster[] = [];
afterAll(async () => {
  for (const c of clusters) await c.local.close();
});

export function newCluster(cpu = 4): Cluster {
  const cluster = new Cluster(`reattach-${process.pid}-${clusters.length}`, makeExecutor({ cpu, kill_grace_ms: 2000 }, { scriptRoots: [SCRIPTS] }));
  clusters.push(cluster);
  return cluster;
}

/** A server over the database in `dir`, with the cluster as executor "cluster" (and local beside it). */
export async function startServer(dir: string, cluster: Cluster, extra: Map<string, Executor> = new Map()): Promise<Server> {
  const config = parseConfig({ state_dir: join(dir, 'state'), script_roots: [SCRIPTS], data_roots: [dir], tasks: { lease_ms: LEASE_MS } }, dir, {});
  const store = SqliteTaskStore.open(join(dir, 'tasks.db'));
  const executor = new SurvivingExecutor(cluster);
  const engine = new Engine({ config, store, bus: new MemoryEventBus(), executors: new Map<string, Executor>([[executor.name, executor], ...extra]), onError: () => {} });
  await engine.start();
  return {
    engine,
    store,
    executor,
    crash: async () => {
      executor.crash();
      await store.close(); // what the dead engine still tries (lease renewals) fails
    },
    stop: async () => {
      await engine.stop();
      await store.close();
    },
  };
}

export const submit = async (server: Server, params: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<string> => {
  const [r] = await server.engine.submit(CALLER, [{ script: 'waits.py', executor: 'cluster', params, ...extra }]);
  return (r as { task: Task }).task.id;
};

export const taskUntil = (server: Server, id: string, pred: (t: Task) => boolean, what: string): Promise<Task> =>
  until(`${what} (${id})`, async () => ((t) => (pred(t) ? t : null))(await server.engine.get(CALLER, id)), 30_000, 20);

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
      const done = await taskUntil(second, id, (t) => t.status === 'succeeded', 'success');
      expect(done.result).toMatchObject({ waited: true });
      expect(done.attempt).toBe(1);
      expect(await stateEvents(second, id)).toEqual(['queued', 'running', 'succeeded']);
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
      const done = await taskUntil(second, id, (t) => t.status === 'succeeded', 'success');
      expect(done).toMatchObject({ attempt: 1, result: { waited: true }, lease_owner: null });
      expect(await stateEvents(second, id)).toEqual(['queued', 'running', 'succeeded']);
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
      expect(cluster.tasks.has(cancelling)).toBe(false); // its run ended, not just its row
      const retried = await taskUntil(second, lost, (t) => t.attempt === 2 && t.status === 'running', 'the retry');
      expect(retried.lease_owner).toBe(second.engine.instanceId);
      const history = (await second.engine.events(CALLER, lost, 0, 1000)).filter((e) => e.type === 'state');
      expect(history.find((e) => e.data.status === 'queued' && e.data.reason === 'lease_lost')).toBeDefined();
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
      await taskUntil(second, (r as { task: Task }).task.id, (t) => t.status === 'succeeded', 'the local task');
      await new Promise((res) => setTimeout(res, 2 * LEASE_MS)); // past its old lease: the sweeps ask again, in vain
      expect((await second.engine.get(CALLER, id)).status).toBe('running');
      expect((await second.engine.get(CALLER, waiting)).status).toBe('queued');
      expect(second.engine.unreachableExecutors()).toEqual([{ name: 'cluster', message: `cluster ${cluster.owner} is unreachable` }]);

      cluster.reachable = true;
      const done = await taskUntil(second, id, (t) => t.status === 'succeeded', 'success after the cluster answered');
      expect(done.attempt).toBe(1);
      expect(await stateEvents(second, id)).toEqual(['queued', 'running', 'succeeded']);
      await taskUntil(second, waiting, (t) => t.status === 'succeeded', 'the queued task');
      expect(second.engine.unreachableExecutors()).toEqual([]);
    } finally {
      await second.stop();
      await local.close();
    }
  });
});
