/**
 * failover: kill -9 of the owning scheduler → the first task the new owner dispatches, over
 * KILLS kills. A cluster (test/helpers/cluster.ts) of one `--role api` and two
 * `--role scheduler` processes on a real PostgreSQL and Redis, with the default ownership
 * timing (ttl 6 s, renewal every 2 s); no-op tasks are submitted all along (20 every 100 ms),
 * so a dispatch happens as soon as an owner can. After each kill the killed scheduler is
 * started again as a standby. The dispatch time is when PostgreSQL stored the new owner's first
 * `running` state event (the write audit of test/fault/write-audit.ts records each writer).
 * Target: p50 ≤ 10 s. Keys: p50_s, max_s.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { request } from 'undici';
import { PostgresTaskStore } from '../src/store/postgres/postgres-store.ts';
import { startCluster } from '../test/helpers/cluster.ts';
import { installWriteAudit, ownerApp } from '../test/fault/write-audit.ts';
import { BENCH_SCRIPTS } from './lib/platform.ts';
import { spread } from './lib/stats.ts';

const KILLS = Number(process.env.BENCH_FAILOVER_KILLS ?? 5);
// Both schedulers run on this machine under its default node name: one node, owner and standby of its `local@<node>`.
const EXECUTOR = `local@${hostname()}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function poll<T>(what: string, f: () => Promise<T | null>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => null);
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const cluster = await startCluster({
    apis: 1,
    schedulers: 2,
    config: {
      script_roots: [BENCH_SCRIPTS],
      executors: { local: { cpu: 8, pools: [{ name: 'js', runtime: 'node', min: 1, max: 1, concurrency: 8 }], default_pools: { node: 'js' } } },
    },
    migrate: async (url) => (await PostgresTaskStore.open({ url, poolSize: 1 })).close(),
    beforeNodes: installWriteAudit,
  });
  const db = new pg.Client({ connectionString: cluster.databaseUrl });
  await db.connect();
  let submitting = true;
  const submitter = (async () => {
    while (submitting) {
      const body = JSON.stringify({ tasks: Array.from({ length: 20 }, () => ({ script: 'noop.js', resources: { cpu: 0.1 } })) });
      await request(`${cluster.apis()[0]!.url}/api/v1/tasks/batch`, { method: 'POST', headers: { 'content-type': 'application/json', prefer: 'return=minimal' }, body })
        .then((r) => r.body.dump())
        .catch(() => {});
      await sleep(100);
    }
  })();
  const seconds: number[] = [];
  try {
    for (let k = 0; k < KILLS; k++) {
      const owner = await poll('an owner', () => ownerApp(db, EXECUTOR), 60_000);
      await sleep(3_000); // a steady owner, renewing, with tasks flowing
      const slot = cluster.schedulers().find((n) => n.name === owner.app)!.slot;
      const killedAt = Date.now();
      await cluster.kill(slot);
      await cluster.restart(slot);
      const next = await poll('a new owner', async () => {
        const o = await ownerApp(db, EXECUTOR);
        return o && o.epoch > owner.epoch ? o : null;
      }, 60_000);
      const s = await poll('the new owner to dispatch', async () => {
        const { rows } = await db.query<{ ms: string | null }>(
          `SELECT extract(epoch FROM min(at)) * 1000 AS ms FROM fault_event_writes
           WHERE app = $1 AND type = 'state' AND data::json->>'status' = 'running' AND at >= to_timestamp($2 / 1000.0)`,
          [next.app, killedAt],
        );
        return rows[0]?.ms == null ? null : (Number(rows[0].ms) - killedAt) / 1000;
      }, 60_000);
      seconds.push(s);
      console.log(`kill ${k + 1}: ${owner.app} (epoch ${owner.epoch}) → ${next.app} (epoch ${next.epoch}) dispatched after ${s.toFixed(2)} s`);
    }
  } finally {
    submitting = false;
    await submitter;
    await db.end();
    await cluster.stop();
  }
  const s = spread(seconds);
  const p50 = s.median;
  const max = Math.max(...seconds);
  console.log(`failover: p50 ${p50.toFixed(2)} s, max ${max.toFixed(2)} s over ${KILLS} kills (target p50 ≤ 10 s: ${p50 <= 10 ? 'met' : 'NOT met'})`);
  return { p50_s: p50, max_s: max, kills: KILLS, seconds, ownership_ttl_ms: 6000, ownership_renew_ms: 2000, target_p50_s: 10, met: p50 <= 10, scripts: join('bench', 'scripts', 'noop.js') };
}
