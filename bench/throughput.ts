/**
 * throughput: TASKS no-op tasks submitted in batches of BATCH and run to completion, against
 * BullMQ and Celery doing the same, all measured in this run on this machine.
 * Targets: ≥ 1.0× BullMQ, ≥ 10× Celery.
 *
 * Every side gets the same work and its fair best configuration:
 * - Lakeray: public batch endpoint (`POST /api/v1/tasks/batch`, `Prefer: return=minimal`),
 *   one warm node worker process running up to CONCURRENCY no-op JS tasks at once; done when
 *   every task's `completed` event arrived (in-process subscription).
 * - BullMQ: `addBulk` of BATCH jobs at a time, one `Worker` with concurrency CONCURRENCY in this
 *   process (BullMQ's own benchmark shape), `removeOnComplete: {count: 1000}`; done when the
 *   worker reported every job completed. Twice per round: on Redis without persistence
 *   (`baseline`, the target's ratio) and on Redis with AOF, fsync every second
 *   (`baseline_durable`, BullMQ's production advice, nearer to Lakeray's durability).
 * - Celery (Redis broker and result backend, hiredis): one worker process with a thread pool of
 *   CONCURRENCY (one process running up to CONCURRENCY tasks, as Lakeray's worker), prefetch
 *   multiplier 1 (CONCURRENCY messages reserved); the client publishes a `group` of BATCH tasks
 *   at a time without per-task result subscriptions, then collects every result with MGET
 *   polls. No per-task round trip. Override with BENCH_CELERY_POOL, _CONCURRENCY, _PREFETCH,
 *   _MODE (group, mget, loop).
 *
 * Rounds are interleaved (one round of each side in turn: this machine's speed drifts over
 * minutes); medians over ROUNDS rounds are compared. BENCH_ONLY_LAKERAY=1 skips the baselines,
 * BENCH_CELERY=0 skips Celery (its rounds are the slowest), for iterating.
 */
import { bullmqThroughput } from './baselines/bullmq.ts';
import { celeryThroughput, type CeleryOpts } from './baselines/celery.ts';
import { startPlatform, waitForTerminal } from './lib/platform.ts';
import { startRedis } from './lib/redis-server.ts';
import { formatSpread, spread } from './lib/stats.ts';

const TASKS = Number(process.env.BENCH_TASKS ?? 20_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 5_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const TARGETS = { bullmq: 1.0, celery: 10 };
const CELERY: Omit<CeleryOpts, 'tasks' | 'redisUrl'> = {
  pool: process.env.BENCH_CELERY_POOL ?? 'threads',
  concurrency: Number(process.env.BENCH_CELERY_CONCURRENCY ?? CONCURRENCY),
  prefetch: Number(process.env.BENCH_CELERY_PREFETCH ?? 1),
  batch: BATCH,
  mode: (process.env.BENCH_CELERY_MODE ?? 'mget') as CeleryOpts['mode'],
};

export async function lakeray(): Promise<{ seconds: number; tasks_per_s: number; failed: number }> {
  const p = await startPlatform({
    executors: {
      local: {
        cpu: 2,
        // One node worker running up to 100 async tasks at once, as BullMQ's one Worker with
        // concurrency 100. (Two workers of 50 measured 4–15% slower in A/B runs: one more
        // process on the two cores, and a pipe write per worker per batch.)
        pools: [{ name: 'js', runtime: 'node', min: 1, max: 1, concurrency: CONCURRENCY }],
        default_pools: { node: 'js' },
      },
    },
  });
  try {
    const task = { script: 'noop.js', resources: { cpu: 2 / CONCURRENCY } };
    const waiter = waitForTerminal(p.server, TASKS);
    const t0 = performance.now();
    // Ids are all a bulk producer needs back (BullMQ's addBulk builds its Job objects locally).
    const minimal = { prefer: 'return=minimal' };
    for (let i = 0; i < TASKS; i += BATCH) await p.post('/api/v1/tasks/batch', { tasks: Array.from({ length: Math.min(BATCH, TASKS - i) }, () => task) }, minimal);
    const finished = await waiter.done;
    const seconds = (performance.now() - t0) / 1000;
    const failed = [...finished.values()].filter((s) => s !== 'completed').length;
    return { seconds, tasks_per_s: TASKS / seconds, failed };
  } finally {
    await p.close();
  }
}

const line = (name: string, rounds: number[], unit: string) => {
  const s = spread(rounds);
  console.log(`${name}: median ${formatSpread(s, 0)} ${unit}   rounds: ${rounds.map((x) => x.toFixed(0)).join(', ')}`);
  return s;
};

export async function run(): Promise<Record<string, unknown>> {
  const only = process.env.BENCH_ONLY_LAKERAY === '1';
  const withCelery = !only && process.env.BENCH_CELERY !== '0';
  const redis = only ? null : await startRedis();
  const durableRedis = only ? null : await startRedis({ durable: true });
  try {
    const ours: number[] = [];
    const bull: number[] = [];
    const durable: number[] = [];
    const celery: number[] = [];
    let failed = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const r = await lakeray();
      ours.push(r.tasks_per_s);
      failed += r.failed;
      if (redis === null || durableRedis === null) continue;
      const bullmq = { jobs: TASKS, concurrency: CONCURRENCY, batch: BATCH };
      bull.push((await bullmqThroughput({ ...bullmq, redisUrl: redis.url })).jobs_per_s);
      durable.push((await bullmqThroughput({ ...bullmq, redisUrl: durableRedis.url })).jobs_per_s);
      // Its own database: Celery's result keys never meet BullMQ's queues.
      if (withCelery) celery.push((await celeryThroughput({ ...CELERY, tasks: TASKS, redisUrl: `${redis.url}/1` })).tasks_per_s);
      const last = (xs: number[]) => (xs.length > i ? xs[i]!.toFixed(0) : '–');
      console.log(`round ${i + 1}: lakeray ${last(ours)}, bullmq ${last(bull)}, bullmq durable ${last(durable)}, celery ${last(celery)} per s`);
    }
    console.log(`${TASKS} no-op tasks per round, batches of ${BATCH}, ${CONCURRENCY} in flight, ${ROUNDS} interleaved rounds`);
    const oursS = line('lakeray', ours, 'tasks/s');
    const setup = { tasks: TASKS, batch: BATCH, concurrency: CONCURRENCY, rounds: ROUNDS, failed, value_rounds: ours, value_spread: oursS };
    if (redis === null) return { value: oursS.median, ...setup };
    const bullS = line('bullmq (Redis, no persistence)', bull, 'jobs/s');
    const durableS = line('bullmq (Redis AOF, fsync every second)', durable, 'jobs/s');
    const ratio = oursS.median / bullS.median;
    const ratioDurable = oursS.median / durableS.median;
    const out: Record<string, unknown> = {
      value: oursS.median,
      baseline: bullS.median,
      ratio,
      met: ratio >= TARGETS.bullmq,
      baseline_durable: durableS.median,
      ratio_durable: ratioDurable,
      ...setup,
      baseline_rounds: bull,
      baseline_spread: bullS,
      baseline_durable_rounds: durable,
      baseline_durable_spread: durableS,
      targets: TARGETS,
    };
    console.log(`ratio vs BullMQ ${ratio.toFixed(2)}× (target ≥ ${TARGETS.bullmq}: ${ratio >= TARGETS.bullmq ? 'met' : 'NOT met'}); vs BullMQ on durable Redis ${ratioDurable.toFixed(2)}×`);
    if (withCelery) {
      const celeryS = line(`celery (${CELERY.pool} pool × ${CELERY.concurrency}, prefetch ${CELERY.prefetch}, ${CELERY.mode})`, celery, 'tasks/s');
      const celeryRatio = oursS.median / celeryS.median;
      console.log(`ratio vs Celery ${celeryRatio.toFixed(1)}× (target ≥ ${TARGETS.celery}: ${celeryRatio >= TARGETS.celery ? 'met' : 'NOT met'})`);
      Object.assign(out, { celery: celeryS.median, celery_ratio: celeryRatio, celery_met: celeryRatio >= TARGETS.celery, celery_rounds: celery, celery_spread: celeryS, celery_config: CELERY });
    }
    return out;
  } finally {
    await redis?.stop();
    await durableRedis?.stop();
  }
}
