/**
 * `GET /api/v1/executors` (docs/api.md "Executors"): the configured executors with their live
 * health and capacity, for the UI's executor column and its "executor down" banner. What an
 * executor is (kind, mode, dashboard) comes from the config; whether it is up and what it can
 * place now come from the engine (the same health `/ready` reports).
 *
 * With a shared store (`nodes`), `local` is node-scoped (engine/node-queues.ts): `local` is then
 * the shared queue, up while some node takes from it, followed by each node's `local@<node>`
 * from the store's owners rows (any API or scheduler process sees all of them): its owner,
 * lease and load. A released row (a node stopped, or another node's recovery done) is not
 * listed; a lapsed one is, as down, until another node has recovered it.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { sharedQueueOf } from '../../engine/node-queues.ts';
import type { EngineStats, TaskService } from '../../engine/task-service.ts';
import { executorList, type ExecutorJson, withoutCredentials } from '../executor-view.ts';
import type { ExecutorDescriptions } from '../serialize.ts';

/** One executor's ownership, as the store keeps it (TaskStore.executorOwners). */
interface Ownership {
  executor: string;
  owner: string | null;
  epoch: number;
  expires_at: number;
}

/** What the listing reads of a shared store for node-scoped executors (the TaskStore itself). */
export interface NodeExecutorsSource {
  executorOwners(): Promise<Ownership[]>;
  counts(): Promise<{ executor: string; status: string; count: number }[]>;
}

export interface ExecutorRoutesOptions {
  tasks: TaskService;
  executors: ExecutorDescriptions;
  nodes?: NodeExecutorsSource;
  now?: () => number;
}

type Stat = EngineStats['executors'][number];

export const executorRoutes: FastifyPluginAsyncZod<ExecutorRoutesOptions> = async (app, { tasks, executors, nodes, now = Date.now }) => {
  const describe = (s: Stat, name = s.name, base = name): ExecutorJson => {
    // Without a description (an app built without the config, e.g. in tests): what the engine knows.
    const d = executors.get(base);
    const message = tasks.unreachableExecutors().find((u) => u.name === s.name)?.message;
    return {
      name,
      kind: d?.kind ?? (base === 'local' ? 'local' : 'unknown'),
      mode: d?.mode ?? null,
      health: { ok: message === undefined, message: message === undefined ? null : withoutCredentials(message) },
      capacity: s.capacity,
      used: s.used,
      dashboard_url: d?.dashboard_url ?? null,
    };
  };

  app.get(
    '/api/v1/executors',
    { schema: { tags: ['ops'], summary: 'The executors, their health and capacity', response: { 200: executorList } } },
    async () => {
      const stats = await tasks.stats();
      if (nodes === undefined) return { executors: stats.executors.map((s) => describe(s)) };
      const [owners, counts] = await Promise.all([nodes.executorOwners(), nodes.counts()]);
      return { executors: withNodes(stats.executors, owners, counts, now(), describe) };
    },
  );
};

/**
 * The listing with node-scoped executors: each shared queue (from this process's own
 * `local@<node>` on a scheduler, or `local` on an API process) where this process's entry
 * was, followed by its nodes' executors; every other executor as it is.
 */
function withNodes(
  stats: readonly Stat[],
  owners: readonly Ownership[],
  counts: readonly { executor: string; status: string; count: number }[],
  now: number,
  describe: (s: Stat, name?: string, base?: string) => ExecutorJson,
): ExecutorJson[] {
  const count = (executor: string, ...statuses: string[]) => counts.filter((c) => c.executor === executor && statuses.includes(c.status)).reduce((n, c) => n + c.count, 0);
  const listed: ExecutorJson[] = [];
  const seen = new Set<string>();
  for (const s of stats) {
    const base = sharedQueueOf(s.name) ?? s.name;
    const rows = owners.filter((o) => o.owner !== null && sharedQueueOf(o.executor) === base);
    if (seen.has(base)) continue;
    seen.add(base);
    if (base === s.name && rows.length === 0 && s.name !== 'local') {
      listed.push(describe(s));
      continue;
    }
    // Every node runs the same config: this process's capacity stands for any node's.
    const live = rows.filter((o) => o.expires_at > now);
    const queue = describe({ ...s, used: {} }, base, base);
    listed.push({
      ...queue,
      health: live.length > 0 ? queue.health : { ok: false, message: 'no scheduler node takes tasks from this queue: they wait until one runs' },
      load: { queued: count(base, 'pending'), running: 0 },
    });
    for (const o of rows) {
      const held = o.expires_at > now;
      const own = stats.find((x) => x.name === o.executor);
      listed.push({
        ...describe(own ?? { ...s, used: {} }, o.executor, base),
        ...(held ? {} : { health: { ok: false, message: `node ${o.executor.slice(base.length + 1)} stopped renewing its ownership: another node recovers its tasks` } }),
        node: { owner: o.owner!, epoch: o.epoch, lease: held ? 'held' : 'lapsed', expires_at: o.expires_at },
        load: { queued: count(o.executor, 'pending'), running: count(o.executor, 'running', 'cancelling') },
      });
    }
  }
  return listed;
}
