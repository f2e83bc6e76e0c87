/**
 * dispatch: how long from submitting a task to its script's run() being entered, for a Python
 * no-op that imports torch (bench/scripts/noop_torch.py). Three measurements, one clock
 * (CLOCK_MONOTONIC: process.hrtime.bigint() here, time.monotonic_ns() in the script; checked
 * at the start, bench/lib/shared-clock.ts):
 *
 * - Lakeray warm: HTTP POST /api/v1/tasks → run() entered in a warm pool worker (torch
 *   preloaded, one worker). Targets: p50 ≤ 5 ms, p99 ≤ 25 ms.
 * - plain warm pool (like for like, what the platform costs): multiprocessing.Pool, one worker
 *   with torch preloaded, apply_async → run() entered (bench/baselines/pool_dispatch.py). No
 *   target; the ratio and the difference say what Lakeray adds per task.
 * - Lakeray cold: the same task with no pool, a new interpreter per task (interpreter start +
 *   import torch). Cold/warm says what a warm pool saves over a new process per task, which is
 *   mostly `import torch`; target ≥ 50×.
 *
 * Tasks run one after another. The warm sides run in ROUNDS interleaved blocks of RUNS each
 * (after 20 unmeasured warm-up tasks each): the machine's speed drifts, and interleaving puts
 * both sides under the same drift. Reported: p50/p99 over all runs, and each round's p50.
 */
import { join } from 'node:path';
import { defaultPython } from '../src/main.ts';
import { startLineChild, type LineChild } from './lib/line-child.ts';
import { BENCH_SCRIPTS, startPlatform, type BenchPlatform } from './lib/platform.ts';
import { checkSharedClock, monotonicNs } from './lib/shared-clock.ts';
import { formatSpread, spread, summarize } from './lib/stats.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const RUNS = Number(process.env.BENCH_WARM_RUNS ?? 100);
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 10);
const WARMUP = 20;
const TARGETS = { warm_p50_ms: 5, warm_p99_ms: 25, cold_over_warm: 50 };

async function lakerayRuns(p: BenchPlatform, runs: number, pool: string | null): Promise<number[]> {
  const out: number[] = [];
  const caller = { tenant: 'default' };
  for (let i = 0; i < runs; i++) {
    const done = new Promise<string>((resolve) => {
      const off = p.server.engine.subscribe(caller, {}, (events) => {
        for (const e of events)
          if (e.type === 'state' && ['completed', 'failed', 'cancelled'].includes(e.data.status as string)) {
            off();
            resolve(e.task_id);
          }
      });
    });
    const t0 = monotonicNs();
    const task = await p.post('/api/v1/tasks', { script: 'noop_torch.py', pool, resources: { cpu: 1 } });
    const id = await done;
    const t = await p.server.engine.get(caller, id);
    if (t.status !== 'completed' || id !== task.id) throw new Error(`task ${id} ${t.status}: ${JSON.stringify(t.error)}`);
    // A JSON number: exact below 2^53 ns (104 days of uptime), a few ns off beyond.
    out.push(Number(BigInt((t.result as { entered_ns: number }).entered_ns) - t0) / 1e6);
  }
  return out;
}

const poolRuns = async (pool: LineChild, runs: number): Promise<number[]> => (await pool.ask<{ ms: number[] }>({ op: 'dispatch', runs })).ms;

export async function run(): Promise<Record<string, unknown>> {
  const p = await startPlatform({
    executors: { local: { cpu: 2, pools: [{ name: 'torch', runtime: 'python', preload: ['torch'], min: 1, max: 1 }] } },
  });
  const pool = await startLineChild(defaultPython(), [join(import.meta.dirname, 'baselines', 'pool_dispatch.py'), BENCH_SCRIPTS]);
  try {
    const clock = await checkSharedClock(async () => BigInt((await pool.ask<{ ns: string }>({ op: 'clock' })).ns));
    console.log(`clock: CLOCK_MONOTONIC shared with Python (${clock.samples} readings inside brackets of ${clock.min_bracket_ms.toFixed(3)}–${clock.max_bracket_ms.toFixed(3)} ms)`);
    await lakerayRuns(p, WARMUP, 'torch'); // first jobs pay for page faults and JIT
    await poolRuns(pool, WARMUP);
    const ours: number[][] = [];
    const theirs: number[][] = [];
    for (let r = 0; r < ROUNDS; r++) {
      ours.push(await lakerayRuns(p, RUNS, 'torch'));
      theirs.push(await poolRuns(pool, RUNS));
    }
    const cold = summarize(await lakerayRuns(p, COLD_RUNS, null));
    const warm = summarize(ours.flat());
    const plain = summarize(theirs.flat());
    const warmRounds = spread(ours.map((xs) => summarize(xs).p50_ms));
    const plainRounds = spread(theirs.map((xs) => summarize(xs).p50_ms));
    const platformRatio = warm.p50_ms / plain.p50_ms;
    const coldRatio = cold.p50_ms / warm.p50_ms;
    const met = { warm_p50: warm.p50_ms <= TARGETS.warm_p50_ms, warm_p99: warm.p99_ms <= TARGETS.warm_p99_ms, cold_over_warm: coldRatio >= TARGETS.cold_over_warm };
    const yes = (b: boolean) => (b ? 'met' : 'NOT met');
    console.log(`lakeray warm (HTTP submit → run() entered, torch preloaded): p50 ${warm.p50_ms.toFixed(2)} ms  p99 ${warm.p99_ms.toFixed(2)} ms  (n=${warm.n}; round p50s ${formatSpread(warmRounds, 2)})`);
    console.log(`plain multiprocessing.Pool warm (apply_async → run() entered):  p50 ${plain.p50_ms.toFixed(2)} ms  p99 ${plain.p99_ms.toFixed(2)} ms  (n=${plain.n}; round p50s ${formatSpread(plainRounds, 2)})`);
    console.log(`  → Lakeray adds ${(warm.p50_ms - plain.p50_ms).toFixed(2)} ms at p50 over a plain warm pool (${platformRatio.toFixed(1)}×; no target)`);
    console.log(`lakeray cold (new interpreter + import torch per task): p50 ${cold.p50_ms.toFixed(0)} ms (n=${cold.n})`);
    console.log(
      `targets: warm p50 ≤ ${TARGETS.warm_p50_ms} ms ${yes(met.warm_p50)}, warm p99 ≤ ${TARGETS.warm_p99_ms} ms ${yes(met.warm_p99)}, cold/warm ${coldRatio.toFixed(0)}× ≥ ${TARGETS.cold_over_warm}× ${yes(met.cold_over_warm)} (what a warm pool saves, mostly import torch)`,
    );
    return {
      warm,
      warm_round_p50_ms: warmRounds,
      warm_rounds_ms: ours,
      plain_pool: plain,
      plain_pool_round_p50_ms: plainRounds,
      plain_pool_rounds_ms: theirs,
      platform_over_plain_pool: platformRatio,
      platform_added_p50_ms: warm.p50_ms - plain.p50_ms,
      cold,
      cold_over_warm: coldRatio,
      clock: { name: 'CLOCK_MONOTONIC', ...clock },
      rounds: ROUNDS,
      runs_per_round: RUNS,
      met,
      targets: TARGETS,
    };
  } finally {
    await pool.close();
    await p.close();
  }
}
