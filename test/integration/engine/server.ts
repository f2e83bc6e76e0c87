/**
 * A server for the engine tests: the real Engine over a SQLite file, with a SurvivingExecutor
 * (test/integration/executor/surviving-executor.ts, which passes the Executor conformance
 * suite) as executor "cluster". `crash()` is a server dying: its executor instance hears
 * nothing more, its store connection closes; a second server on the same directory and
 * cluster is the restart.
 */
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import type { Task } from '../../../src/domain/task.ts';
import { Engine } from '../../../src/engine/engine.ts';
import { MemoryEventBus } from '../../../src/events/memory.ts';
import type { Executor } from '../../../src/executors/executor.ts';
import { SqliteTaskStore } from '../../../src/store/sqlite/sqlite-store.ts';
import { until } from '../../helpers/until.ts';
import { makeExecutor } from '../executor/helpers.ts';
import { Cluster, SurvivingExecutor } from '../executor/surviving-executor.ts';

export const SCRIPTS = join(import.meta.dirname, '../executor/scripts');
export const CALLER = { tenant: 'default' };
export const LEASE_MS = 900;

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
export interface ServerOptions {
  /** false: one of several schedulers on the database (a standby waits for the ownership). */
  exclusive?: boolean;
  scheduler?: { ownership_ttl_ms?: number; ownership_renew_ms?: number };
}

export async function startServer(dir: string, cluster: Cluster, extra: Map<string, Executor> = new Map(), opts: ServerOptions = {}): Promise<Server> {
  const config = parseConfig(
    { state_dir: join(dir, 'state'), script_roots: [SCRIPTS], data_roots: [dir], tasks: { lease_ms: LEASE_MS }, scheduler: opts.scheduler ?? {} },
    dir,
    {},
  );
  const store = SqliteTaskStore.open(join(dir, 'tasks.db'));
  const executor = new SurvivingExecutor(cluster);
  const executors = new Map<string, Executor>([[executor.name, executor], ...extra]);
  const engine = new Engine({ config, store, bus: new MemoryEventBus(), executors, exclusiveStore: opts.exclusive ?? true, onError: () => {} });
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

