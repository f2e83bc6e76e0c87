/**
 * A multi-process Lakeray cluster on one machine, for the fault suite and the multi-process
 * benches: a real PostgreSQL (test/helpers/postgres-server.ts) and a real redis-server
 * (redis-server.ts), and `lakeray up --role api|scheduler` child processes sharing them, each
 * with its own directory and config. Every process gets a name, also its PostgreSQL
 * `application_name` (PGAPPNAME), so the database can tell its writers apart; a restarted
 * process gets a new name (`sched-a` → `sched-a.2`).
 */
import { join } from 'node:path';
import { startPostgresServer, type PostgresServer } from './postgres-server.ts';
import { startRedisServer, type RedisServer } from './redis-server.ts';
import { startServerProcess, tempDir, writeConfig, type ServerProcess } from './server-process.ts';

export type Role = 'api' | 'scheduler';

export interface ClusterNode {
  /** `api-a`, `sched-b.2`: the node's slot and its generation. */
  name: string;
  slot: string;
  role: Role;
  proc: ServerProcess;
  url: string;
  pid: number;
}

export interface ClusterOptions {
  /** The config every node shares (store and events are filled in). */
  config: Record<string, unknown>;
  apis: number;
  schedulers: number;
  /** Runs after the database is migrated, before any node starts (e.g. triggers). */
  beforeNodes?: (databaseUrl: string) => Promise<void>;
  /** Migrates the fresh database (the caller opens the store: this helper does not import src/). */
  migrate: (databaseUrl: string) => Promise<void>;
  poolSize?: number;
  /** More config for the node in one slot (e.g. its `node.name`). */
  nodeConfig?: (slot: string) => Record<string, unknown>;
}

export interface Cluster {
  pg: PostgresServer;
  redis: RedisServer;
  databaseUrl: string;
  nodes: Map<string, ClusterNode>;
  apis(): ClusterNode[];
  schedulers(): ClusterNode[];
  /** kill -9 the node in `slot` (the slot stays, empty until `restart`). */
  kill(slot: string): Promise<void>;
  /** Starts the slot's node again (a new generation). */
  restart(slot: string): Promise<ClusterNode>;
  /** Every node's output so far (the killed generations' too), for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

export async function startCluster(o: ClusterOptions): Promise<Cluster> {
  const [pgServer, redis] = await Promise.all([startPostgresServer(), startRedisServer()]);
  const databaseUrl = await pgServer.createDatabase();
  await o.migrate(databaseUrl);
  await o.beforeNodes?.(databaseUrl);
  const nodes = new Map<string, ClusterNode>();
  const generations = new Map<string, number>();
  const outputs: string[] = [];
  const gone: ServerProcess[] = [];

  const start = async (slot: string, role: Role): Promise<ClusterNode> => {
    const generation = (generations.get(slot) ?? 0) + 1;
    generations.set(slot, generation);
    const name = generation === 1 ? slot : `${slot}.${generation}`;
    const dir = tempDir(`lakeray-cluster-${name}-`);
    const configPath = writeConfig(dir, {
      data_roots: [join(dir, 'data')],
      ...o.config,
      ...o.nodeConfig?.(slot),
      store: { kind: 'postgres', url: databaseUrl, pool_size: o.poolSize ?? 8 },
      events: { kind: 'redis', url: redis.url },
    });
    const proc = await startServerProcess(dir, configPath, undefined, ['--role', role], { PGAPPNAME: name });
    const node: ClusterNode = { name, slot, role, proc, url: proc.url, pid: proc.child.pid ?? 0 };
    nodes.set(slot, node);
    return node;
  };

  // One after the other: four cold starts at once on a loaded 2-core machine outlast the
  // 30 s a start may take.
  const slots: [string, Role][] = [];
  for (let i = 0; i < o.apis; i++) slots.push([`api-${String.fromCharCode(97 + i)}`, 'api']);
  for (let i = 0; i < o.schedulers; i++) slots.push([`sched-${String.fromCharCode(97 + i)}`, 'scheduler']);
  try {
    for (const [slot, role] of slots) await start(slot, role);
  } catch (err) {
    await Promise.allSettled([...nodes.values()].map((n) => n.proc.kill('SIGKILL')));
    await Promise.allSettled([pgServer.stop(), redis.stop()]);
    throw err;
  }

  const byRole = (role: Role) => [...nodes.values()].filter((n) => n.role === role);
  return {
    pg: pgServer,
    redis,
    databaseUrl,
    nodes,
    apis: () => byRole('api'),
    schedulers: () => byRole('scheduler'),
    async kill(slot) {
      const node = nodes.get(slot);
      if (!node) throw new Error(`no node in slot ${slot}`);
      await node.proc.kill('SIGKILL');
      gone.push(node.proc);
      outputs.push(`--- ${node.name} (killed)\n${node.proc.output()}`);
    },
    restart(slot) {
      const node = nodes.get(slot);
      if (!node) throw new Error(`no node in slot ${slot}`);
      return start(slot, node.role);
    },
    output: () => [...outputs, ...[...nodes.values()].map((n) => `--- ${n.name}\n${n.proc.output()}`)].join('\n'),
    async stop() {
      // A clean stop first (each node ends its own scripts), SIGKILL after 30 s.
      const stopping = Promise.allSettled([...nodes.values()].map((n) => n.proc.kill('SIGTERM')));
      await Promise.race([stopping, new Promise((r) => setTimeout(r, 30_000))]);
      await Promise.allSettled([...gone, ...[...nodes.values()].map((n) => n.proc)].map((p) => p.kill('SIGKILL')));
      await Promise.allSettled([pgServer.stop(), redis.stop()]);
    },
  };
}
