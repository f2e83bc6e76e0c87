/**
 * ray-dispatch: submit → the no-op's run() entered (bench/scripts/ray/entered.py), on one real
 * Ray head of the bench's own, in one run. Both times are the wall clock of this machine:
 * Date.now() just before the HTTP submit, time.time() as run()'s first statement.
 *
 * - direct: POST /api/jobs/ through the repo's RayJobsClient, entrypoint `python -u entered.py`,
 *   working_dir = the script's folder as a package uploaded once beforehand, 1 entrypoint CPU.
 *   run() entered is read from the line the script prints (the job's log, after it ended).
 * - job: POST /api/v1/tasks to a Lakeray server (this process, HTTP on a free port) with a Ray
 *   executor in mode job on the same head, resources {cpu: 1}: one Ray job per task, with the
 *   Lakeray runtime as py_modules, the harness as entrypoint and the result reported over HTTP.
 * - actors: the same server's mode-actors executor, one warm actor (0.1 CPU), POST
 *   /api/v1/tasks → run() entered on the actor.
 *
 * Each round runs one direct and one job submission (their order alternating per round, so
 * drift and order hit both alike), then ACTORS_PER_ROUND actors submissions; tasks run one
 * after another. Unmeasured first: one job per side (the runtime env's first set-up on the
 * head) and WARMUP actors tasks (the driver's and actor's start).
 */
import { percentile, spread, summarize, formatSpread } from './lib/stats.ts';
import { closeRayBench, DirectJobs, ENTERED_SCRIPT, sleep, startBenchRayHead, startRayPlatform, taskOver } from './lib/ray.ts';
import type { BenchPlatform } from './lib/platform.ts';

const ROUNDS = Number(process.env.BENCH_RAY_ROUNDS ?? 10);
const ACTORS_PER_ROUND = Number(process.env.BENCH_RAY_ACTORS_PER_ROUND ?? 12);
const WARMUP = 10;
const TARGETS = { job_overhead_ratio: 1.05, actors_speedup: 50 };
const JOB = 'rayjob';
const ACTORS = 'rayactors';
const tag = Math.random().toString(36).slice(2, 8);

interface Sample {
  /** submit → run() entered */
  ms: number;
  /** submit → the Ray job's start_time (Ray's clock, same machine): what happens before Ray has the job */
  to_ray_ms?: number;
}

/**
 * Submissions to mode actors answered 400 RESOURCES_UNSATISFIABLE and sent again 20 ms later.
 * Seen here: the executor's capacity drops to 0 for a moment after a task ended, when the
 * driver's poll lists the task as running (the actor's call has not returned yet) but Lakeray
 * has already settled and forgotten it (its outcome came over HTTP before a poll listed it), so
 * the slot is counted nowhere (src/executors/ray/actors/ray-actors-executor.ts, `released`).
 */
let refused = 0;

async function lakerayOnce(p: BenchPlatform, direct: DirectJobs, executor: string, body: Record<string, unknown>): Promise<Sample> {
  const over = taskOver(p);
  const t0 = Date.now();
  let task: { id: string };
  for (;;) {
    try {
      task = await p.post<{ id: string }>('/api/v1/tasks', { script: ENTERED_SCRIPT, executor, ...body });
      break;
    } catch (err) {
      // Mode actors right after a task ended: see `refused` (the time stays counted from t0).
      if (!String(err).includes('RESOURCES_UNSATISFIABLE') || Date.now() - t0 > 60_000) throw err;
      refused++;
      await sleep(20);
    }
  }
  over.id(task.id);
  const t = await over.done;
  if (t.status !== 'completed') throw new Error(`${executor} task ${t.id} ${t.status}: ${JSON.stringify(t.error)}`);
  const sample: Sample = { ms: (t.result as { entered_s: number }).entered_s * 1000 - t0 };
  if (executor === JOB) {
    const job = await direct.client.get(`lr-${task.id}-1`);
    if (job?.start_time) sample.to_ray_ms = job.start_time - t0;
  }
  return sample;
}

async function directOnce(direct: DirectJobs, n: number): Promise<Sample> {
  const id = `bench-direct-${tag}-${n}`;
  const t0 = Date.now();
  await direct.submit(id, 1);
  const job = await direct.terminal(id);
  if (job.status !== 'SUCCEEDED') throw new Error(`direct job ${id} ${job.status}: ${job.message}\n${(await direct.client.logs(id)).slice(-2000)}`);
  const sample = { ms: (await direct.enteredMs(id)) - t0, to_ray_ms: job.start_time! - t0 };
  await direct.remove([id]);
  return sample;
}

/**
 * The pool has no capacity until the driver job runs and first polls (a submission meanwhile is
 * refused RESOURCES_UNSATISFIABLE): the first task that is taken waits for its actor's start.
 */
async function poolReady(actor: () => Promise<Sample>, deadlineMs = 600_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      await actor();
      return;
    } catch (err) {
      if (!String(err).includes('RESOURCES_UNSATISFIABLE') || Date.now() > until) throw err;
      await sleep(1000);
    }
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const started = Date.now();
  const head = await startBenchRayHead(2);
  console.log(`ray head ${head.url} (${head.numCpus} CPUs) up in ${(head.startMs / 1000).toFixed(1)} s`);
  const direct = new DirectJobs(head.url);
  const p = await startRayPlatform({
    [JOB]: { kind: 'ray', mode: 'job', address: head.url },
    [ACTORS]: { kind: 'ray', mode: 'actors', address: head.url, pools: [{ name: 'py', cpu: 0.1, min: 1, max: 1 }] },
  });
  try {
    await direct.prepare();
    const job = (): Promise<Sample> => lakerayOnce(p, direct, JOB, { resources: { cpu: 1 } });
    const actor = (): Promise<Sample> => lakerayOnce(p, direct, ACTORS, { pool: 'py', resources: { cpu: 0.1 } });
    let n = 0;
    await directOnce(direct, n++); // the head's first runtime env set-up, unmeasured
    await job();
    await poolReady(actor);
    for (let i = 0; i < WARMUP; i++) await actor();
    console.log(`warm-up done after ${((Date.now() - started) / 1000).toFixed(0)} s`);

    refused = 0;
    const directs: Sample[] = [];
    const jobs: Sample[] = [];
    const actorRounds: number[][] = [];
    for (let r = 0; r < ROUNDS; r++) {
      if (r % 2 === 0) {
        directs.push(await directOnce(direct, n++));
        jobs.push(await job());
      } else {
        jobs.push(await job());
        directs.push(await directOnce(direct, n++));
      }
      const a: number[] = [];
      for (let i = 0; i < ACTORS_PER_ROUND; i++) a.push((await actor()).ms);
      actorRounds.push(a);
      console.log(`round ${r + 1}/${ROUNDS}: direct ${directs.at(-1)!.ms.toFixed(0)} ms, job ${jobs.at(-1)!.ms.toFixed(0)} ms, actors p50 ${percentile(a, 50).toFixed(1)} ms`);
    }

    const d = summarize(directs.map((s) => s.ms));
    const j = summarize(jobs.map((s) => s.ms));
    const a = summarize(actorRounds.flat());
    const pairRatios = spread(jobs.map((s, i) => s.ms / directs[i]!.ms));
    const jobOverheadRatio = j.p50_ms / d.p50_ms;
    const actorsSpeedup = d.p50_ms / a.p50_ms;
    const met = { job_overhead_ratio: jobOverheadRatio <= TARGETS.job_overhead_ratio, actors_speedup: actorsSpeedup >= TARGETS.actors_speedup };
    const yes = (b: boolean) => (b ? 'met' : 'NOT met');
    const toRay = (xs: Sample[]) => summarize(xs.map((s) => s.to_ray_ms ?? Number.NaN).filter((x) => !Number.isNaN(x)));
    console.log(`direct Jobs REST (submit → run() entered): p50 ${d.p50_ms.toFixed(0)} ms (min–max ${Math.min(...directs.map((s) => s.ms)).toFixed(0)}–${Math.max(...directs.map((s) => s.ms)).toFixed(0)}, n=${d.n}); submit → Ray's start_time p50 ${toRay(directs).p50_ms.toFixed(0)} ms`);
    console.log(`lakeray mode job (POST /api/v1/tasks → run() entered): p50 ${j.p50_ms.toFixed(0)} ms (min–max ${Math.min(...jobs.map((s) => s.ms)).toFixed(0)}–${Math.max(...jobs.map((s) => s.ms)).toFixed(0)}, n=${j.n}); submit → Ray's start_time p50 ${toRay(jobs).p50_ms.toFixed(0)} ms`);
    console.log(`lakeray mode actors, warm (POST /api/v1/tasks → run() entered): p50 ${a.p50_ms.toFixed(1)} ms, p99 ${a.p99_ms.toFixed(1)} ms (n=${a.n}; round p50s ${formatSpread(spread(actorRounds.map((x) => percentile(x, 50))), 1)})`);
    console.log(`actors: ${refused} submissions answered 400 RESOURCES_UNSATISFIABLE and sent again (counted in their latency)`);
    console.log(`job/direct per round: ${formatSpread(pairRatios, 3)}`);
    console.log(`targets: job_overhead_ratio ${jobOverheadRatio.toFixed(3)} ≤ ${TARGETS.job_overhead_ratio} ${yes(met.job_overhead_ratio)}, actors_speedup ${actorsSpeedup.toFixed(0)}× ≥ ${TARGETS.actors_speedup}× ${yes(met.actors_speedup)}`);
    console.log(`took ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return {
      direct: d,
      job: j,
      actors: a,
      job_overhead_ratio: jobOverheadRatio,
      actors_speedup: actorsSpeedup,
      job_over_direct_per_round: pairRatios,
      submit_to_ray_start: { direct: toRay(directs), job: toRay(jobs) },
      direct_ms: directs.map((s) => s.ms),
      job_ms: jobs.map((s) => s.ms),
      actors_round_p50_ms: spread(actorRounds.map((x) => percentile(x, 50))),
      actors_rounds_ms: actorRounds,
      clock: 'wall clock: Date.now() before the submit, time.time() at run() entry (same machine)',
      head: { num_cpus: head.numCpus },
      rounds: ROUNDS,
      actors_per_round: ACTORS_PER_ROUND,
      actors_refused_submits: refused,
      took_s: Math.round((Date.now() - started) / 1000),
      met,
      targets: TARGETS,
    };
  } finally {
    await closeRayBench(p, direct, head);
  }
}
