/**
 * throughput-pg: TASKS no-op tasks through the API on PostgreSQL vs graphile-worker on the same
 * PostgreSQL server, same no-op, same concurrency, same run. Target ≥ 1.0×.
 *
 * - Lakeray: a cluster (test/helpers/cluster.ts) of one `--role api` and one `--role scheduler`
 *   process on a real PostgreSQL (and the Redis event bus, as a multi-process deployment
 *   runs); batches of BATCH through `POST /api/v1/tasks/batch` (`Prefer: return=minimal`); one
 *   warm node worker running up to CONCURRENCY no-op JS tasks; done when the store holds TASKS
 *   succeeded tasks (polled every 50 ms).
 * - graphile-worker (its own database on the same server): `addJobs` of BATCH jobs at a time,
 *   one `run()` in this process with `concurrency` CONCURRENCY and a pool of CONCURRENCY + 2
 *   (its documented sizing), `localQueue` of CONCURRENCY + 1 (its batching mode, the same
 *   locking guarantees); done when its jobs table is empty (polled every 50 ms).
 *   `baseline`: each completion committed on its own (`completeJobBatchDelay: -1`, its
 *   default, as durable as Lakeray's settle); `baseline_batched`: completions batched
 *   (`completeJobBatchDelay: 0`; a crash may then run a completed job again).
 * Rounds interleave (ROUNDS, default 3); medians compared. Keys: value, baseline, ratio.
 */
import { makeWorkerUtils, run as runWorker } from 'graphile-worker';
import pg from 'pg';
import { request } from 'undici';
import { PostgresTaskStore } from '../src/store/postgres/postgres-store.ts';
import { startCluster, type Cluster } from '../test/helpers/cluster.ts';
import { BENCH_SCRIPTS } from './lib/platform.ts';
import { formatSpread, spread } from './lib/stats.ts';

const TASKS = Number(process.env.BENCH_TASKS ?? 20_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 5_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function pollCount(client: pg.Client, sql: string, done: (n: number) => boolean): Promise<void> {
  for (;;) {
    const { rows } = await client.query<{ n: string }>(sql);
    if (done(Number(rows[0]!.n))) return;
    await sleep(50);
  }
}

async function lakeray(cluster: Cluster, db: pg.Client): Promise<number> {
  const base = Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM tasks WHERE status = 'completed'`)).rows[0]!.n);
  const task = { script: 'noop.js', resources: { cpu: 2 / CONCURRENCY } };
  const url = cluster.apis()[0]!.url;
  const t0 = performance.now();
  for (let i = 0; i < TASKS; i += BATCH) {
    const body = JSON.stringify({ tasks: Array.from({ length: Math.min(BATCH, TASKS - i) }, () => task) });
    const r = await request(`${url}/api/v1/tasks/batch`, { method: 'POST', headers: { 'content-type': 'application/json', prefer: 'return=minimal' }, body });
    const text = await r.body.text();
    if (r.statusCode !== 201) throw new Error(`batch → ${r.statusCode}: ${text}`);
  }
  await pollCount(db, `SELECT count(*) AS n FROM tasks WHERE status = 'completed'`, (n) => n >= base + TASKS);
  return TASKS / ((performance.now() - t0) / 1000);
}

async function graphile(url: string, db: pg.Client, completeJobBatchDelay: number): Promise<number> {
  const utils = await makeWorkerUtils({ connectionString: url });
  await utils.migrate();
  const runner = await runWorker({
    connectionString: url,
    concurrency: CONCURRENCY,
    maxPoolSize: CONCURRENCY + 2,
    noHandleSignals: true,
    pollInterval: 1000,
    logger: undefined,
    taskList: { noop: async () => {} },
    preset: { worker: { localQueue: { size: CONCURRENCY + 1 }, completeJobBatchDelay } },
  });
  try {
    const t0 = performance.now();
    for (let i = 0; i < TASKS; i += BATCH) {
      await utils.addJobs(Array.from({ length: Math.min(BATCH, TASKS - i) }, () => ({ identifier: 'noop', payload: {} })));
    }
    await pollCount(db, `SELECT count(*) AS n FROM graphile_worker.jobs`, (n) => n === 0);
    return TASKS / ((performance.now() - t0) / 1000);
  } finally {
    await runner.stop();
    await utils.release();
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const cluster = await startCluster({
    apis: 1,
    schedulers: 1,
    config: {
      script_roots: [BENCH_SCRIPTS],
      executors: { local: { cpu: 2, pools: [{ name: 'js', runtime: 'node', min: 1, max: 1, concurrency: CONCURRENCY }], default_pools: { node: 'js' } } },
    },
    migrate: async (url) => (await PostgresTaskStore.open({ url, poolSize: 1 })).close(),
  });
  const graphileUrl = await cluster.pg.createDatabase();
  const db = new pg.Client({ connectionString: cluster.databaseUrl });
  const gdb = new pg.Client({ connectionString: graphileUrl });
  await Promise.all([db.connect(), gdb.connect()]);
  const ours: number[] = [];
  const theirs: number[] = [];
  const batched: number[] = [];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      ours.push(await lakeray(cluster, db));
      theirs.push(await graphile(graphileUrl, gdb, -1));
      batched.push(await graphile(graphileUrl, gdb, 0));
      console.log(`round ${i + 1}: lakeray ${ours[i]!.toFixed(0)}, graphile-worker ${theirs[i]!.toFixed(0)}, graphile-worker batched ${batched[i]!.toFixed(0)} per s`);
    }
  } finally {
    await Promise.allSettled([db.end(), gdb.end()]);
    await cluster.stop();
  }
  const o = spread(ours);
  const t = spread(theirs);
  const b = spread(batched);
  console.log(`${TASKS} no-op tasks per round, batches of ${BATCH}, ${CONCURRENCY} in flight, ${ROUNDS} interleaved rounds`);
  console.log(`lakeray on PostgreSQL: median ${formatSpread(o, 0)} tasks/s`);
  console.log(`graphile-worker: median ${formatSpread(t, 0)} jobs/s; completions batched: ${formatSpread(b, 0)} jobs/s`);
  const ratio = o.median / t.median;
  console.log(`ratio ${ratio.toFixed(2)}× (target ≥ 1.0: ${ratio >= 1 ? 'met' : 'NOT met'}); vs batched completions ${(o.median / b.median).toFixed(2)}×`);
  return {
    value: o.median,
    baseline: t.median,
    ratio,
    met: ratio >= 1,
    baseline_batched: b.median,
    ratio_batched: o.median / b.median,
    tasks: TASKS,
    batch: BATCH,
    concurrency: CONCURRENCY,
    rounds: ROUNDS,
    value_rounds: ours,
    baseline_rounds: theirs,
    baseline_batched_rounds: batched,
    target_ratio: 1.0,
  };
}
