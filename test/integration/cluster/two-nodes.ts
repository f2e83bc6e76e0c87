/**
 * The cluster both node-executor tests run: one API and two scheduler processes (`node-a`,
 * `node-b`) over one PostgreSQL, a node worker pool of `slots` on each node's `local`, and
 * ownership that lapses within 3 s of a node's death.
 */
import { join } from 'node:path';
import { PostgresTaskStore } from '../../../src/store/postgres/postgres-store.ts';
import { startCluster, type Cluster } from '../../helpers/cluster.ts';
import { ROOT } from '../../helpers/server-process.ts';

export function startTwoNodes(slots: number): Promise<Cluster> {
  return startCluster({
    apis: 1,
    schedulers: 2,
    config: {
      script_roots: [join(ROOT, 'test/fault/scripts')],
      executors: { local: { cpu: slots, pools: [{ name: 'js', runtime: 'node', min: 1, max: 1, concurrency: slots }], default_pools: { node: 'js' } } },
      scheduler: { ownership_ttl_ms: 3000, ownership_renew_ms: 1000 },
    },
    nodeConfig: (slot) => (slot.startsWith('sched-') ? { node: { name: `node-${slot.slice(-1)}` } } : {}),
    migrate: async (url) => (await PostgresTaskStore.open({ url, poolSize: 1 })).close(),
  });
}
