/**
 * ray-burst: N short tasks (the no-op bench/scripts/ray/entered.py, 1 CPU each) submitted at
 * once, on one real Ray head of the bench's own (2 CPUs), first straight to the Jobs API, then
 * through Lakeray (a server in this process, HTTP API, a Ray executor in mode job with
 * `max_pending` at its default).
 *
 * - direct: N concurrent POST /api/jobs/ (RayJobsClient), working_dir uploaded once beforehand,
 *   entrypoint_num_cpus 1. Ray queues what does not fit as PENDING jobs; their JobSupervisor
 *   actors wait for the CPU, so memory stays bounded by the head's CPUs (the bench records the
 *   machine's lowest free memory per side).
 * - lakeray: N concurrent POST /api/v1/tasks (resources {cpu: 1}); the queue stays in Lakeray.
 *
 * Per side: failed (submit refused, or the job/task not succeeded), lost (never over within
 * DEADLINE), the peak of our jobs PENDING on Ray (the Jobs API list, sampled every SAMPLE_MS),
 * makespan = first submit → the last job/task seen over by its submitter (the direct side lists
 * every SAMPLE_MS; Lakeray's engine settles when its executor's poll sees the job over), and
 * the same ending at Ray's own end_time of the last job. Between the sides the direct jobs are
 * deleted; one unmeasured job per side first pays for the head's first runtime env set-up.
 */
import { freemem } from 'node:os';
import type { RayJobDetails } from '../src/executors/ray/jobs-client.ts';
import { waitForTerminal, type BenchPlatform } from './lib/platform.ts';
import { closeRayBench, DirectJobs, ENTERED_SCRIPT, sleep, startBenchRayHead, startRayPlatform, taskOver } from './lib/ray.ts';

const argN = process.argv.indexOf('--n');
const N = Number(argN > 0 ? process.argv[argN + 1] : (process.env.BENCH_RAY_BURST_N ?? 100));
const SAMPLE_MS = 500;
const DEADLINE_MS = Number(process.env.BENCH_RAY_BURST_DEADLINE_S ?? 2400) * 1000;
const TARGETS = { lakeray_failed: 0, makespan_ratio: 1.0 };
const EXECUTOR = 'rayjob';
const tag = Math.random().toString(36).slice(2, 8);

interface Side {
  submitted: number;
  failed: number;
  lost: number;
  peak_pending: number;
  makespan_ms: number;
  /** first submit → Ray's end_time of the last job */
  makespan_ray_end_ms: number;
  min_free_mem_mb: number;
  statuses: Record<string, number>;
}

/** Samples our jobs on Ray every SAMPLE_MS until stop(): the peak PENDING and the lowest free memory. */
function sampler(direct: DirectJobs, ours: (j: RayJobDetails) => boolean) {
  let peak = 0;
  let minFree = freemem();
  let last: RayJobDetails[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const jobs = (await direct.client.list().catch(() => undefined))?.filter(ours);
      if (jobs) {
        last = jobs;
        peak = Math.max(peak, jobs.filter((j) => j.status === 'PENDING').length);
      }
      minFree = Math.min(minFree, freemem());
      await sleep(SAMPLE_MS);
    }
  })();
  return {
    jobs: () => last,
    async stop() {
      running = false;
      await loop;
      return { peak, minFreeMb: Math.round(minFree / 2 ** 20) };
    },
  };
}

const count = (xs: string[]) => xs.reduce<Record<string, number>>((o, x) => ({ ...o, [x]: (o[x] ?? 0) + 1 }), {});
const lastEnd = (jobs: RayJobDetails[]) => Math.max(...jobs.map((j) => j.end_time ?? Number.NaN));

async function directSide(direct: DirectJobs): Promise<Side> {
  const prefix = `bench-burst-${tag}-`;
  const s = sampler(direct, (j) => j.submission_id?.startsWith(prefix) === true);
  const t0 = Date.now();
  const submits = await Promise.allSettled(Array.from({ length: N }, (_, i) => direct.submit(`${prefix}${i}`, 1)));
  const refused = submits.filter((r) => r.status === 'rejected').length;
  for (const r of submits) if (r.status === 'rejected') console.log(`direct submit refused: ${String(r.reason)}`);
  let end: number;
  for (;;) {
    const jobs = (await direct.client.list()).filter((j) => j.submission_id?.startsWith(prefix));
    end = Date.now();
    if (jobs.length >= N - refused && jobs.every((j) => ['SUCCEEDED', 'FAILED', 'STOPPED'].includes(j.status))) break;
    if (end - t0 > DEADLINE_MS) break;
    await sleep(SAMPLE_MS);
  }
  const { peak, minFreeMb } = await s.stop();
  const jobs = (await direct.client.list()).filter((j) => j.submission_id?.startsWith(prefix));
  for (const j of jobs.filter((x) => x.status === 'FAILED').slice(0, 3)) console.log(`direct job ${j.submission_id} FAILED: ${j.message}`);
  const over = jobs.filter((j) => ['SUCCEEDED', 'FAILED', 'STOPPED'].includes(j.status));
  const side: Side = {
    submitted: N,
    failed: refused + over.filter((j) => j.status !== 'SUCCEEDED').length,
    lost: N - refused - over.length,
    peak_pending: peak,
    makespan_ms: end - t0,
    makespan_ray_end_ms: lastEnd(jobs) - t0,
    min_free_mem_mb: minFreeMb,
    statuses: count(jobs.map((j) => j.status)),
  };
  await direct.remove(jobs.map((j) => j.submission_id!));
  return side;
}

async function lakeraySide(p: BenchPlatform, direct: DirectJobs): Promise<Side> {
  const s = sampler(direct, (j) => j.metadata?.lakeray_executor === EXECUTOR);
  const before = new Set((await direct.client.list()).map((j) => j.submission_id));
  const all = waitForTerminal(p.server, N);
  const t0 = Date.now();
  const posts = await Promise.allSettled(Array.from({ length: N }, () => p.post<{ id: string }>('/api/v1/tasks', { script: ENTERED_SCRIPT, executor: EXECUTOR, resources: { cpu: 1 } })));
  const refused = posts.filter((r) => r.status === 'rejected').length;
  for (const r of posts) if (r.status === 'rejected') console.log(`lakeray submit refused: ${String(r.reason)}`);
  const ids = new Set(posts.flatMap((r) => (r.status === 'fulfilled' ? [r.value.id] : [])));
  let timer: NodeJS.Timeout | undefined;
  const finished = await Promise.race([
    all.done,
    new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), DEADLINE_MS))),
  ]);
  clearTimeout(timer);
  all.stop();
  const end = Date.now();
  const { peak, minFreeMb } = await s.stop();
  const tasks = await Promise.all([...ids].map((id) => p.server.engine.get({ tenant: 'default' }, id)));
  for (const t of tasks.filter((x) => x.status === 'failed').slice(0, 3)) console.log(`lakeray task ${t.id} failed: ${JSON.stringify(t.error)}`);
  const jobs = (await direct.client.list()).filter((j) => j.metadata?.lakeray_executor === EXECUTOR && !before.has(j.submission_id));
  const over = tasks.filter((t) => ['completed', 'failed', 'cancelled'].includes(t.status));
  return {
    submitted: N,
    failed: refused + over.filter((t) => t.status !== 'completed').length,
    lost: ids.size - over.length,
    peak_pending: peak,
    makespan_ms: (finished ? end : Date.now()) - t0,
    makespan_ray_end_ms: lastEnd(jobs) - t0,
    min_free_mem_mb: minFreeMb,
    statuses: count(tasks.map((t) => t.status)),
  };
}

export async function run(): Promise<Record<string, unknown>> {
  const started = Date.now();
  const head = await startBenchRayHead(2);
  console.log(`ray head ${head.url} (${head.numCpus} CPUs) up in ${(head.startMs / 1000).toFixed(1)} s; N=${N}`);
  const direct = new DirectJobs(head.url);
  const p = await startRayPlatform({ [EXECUTOR]: { kind: 'ray', mode: 'job', address: head.url } });
  try {
    await direct.prepare();
    // Unmeasured: the head's first runtime env set-up, once per side.
    await direct.submit(`bench-burstwarm-${tag}`, 1);
    await direct.terminal(`bench-burstwarm-${tag}`);
    await direct.remove([`bench-burstwarm-${tag}`]);
    const warm = taskOver(p);
    warm.id((await p.post<{ id: string }>('/api/v1/tasks', { script: ENTERED_SCRIPT, executor: EXECUTOR, resources: { cpu: 1 } })).id);
    if ((await warm.done).status !== 'completed') throw new Error('the warm-up task through Lakeray did not succeed');

    const d = await directSide(direct);
    console.log(`direct: ${JSON.stringify(d)}`);
    const l = await lakeraySide(p, direct);
    console.log(`lakeray: ${JSON.stringify(l)}`);
    const ratio = l.makespan_ms / d.makespan_ms;
    const met = { lakeray_failed: l.failed + l.lost === TARGETS.lakeray_failed, makespan_ratio: ratio <= TARGETS.makespan_ratio };
    const yes = (b: boolean) => (b ? 'met' : 'NOT met');
    console.log(`makespan: lakeray ${(l.makespan_ms / 1000).toFixed(1)} s, direct ${(d.makespan_ms / 1000).toFixed(1)} s (by Ray's end_time: ${(l.makespan_ray_end_ms / 1000).toFixed(1)} s vs ${(d.makespan_ray_end_ms / 1000).toFixed(1)} s)`);
    console.log(`targets: lakeray failed+lost ${l.failed + l.lost} = 0 ${yes(met.lakeray_failed)}, makespan_ratio ${ratio.toFixed(3)} ≤ ${TARGETS.makespan_ratio} ${yes(met.makespan_ratio)}; direct failed ${d.failed}, lost ${d.lost}; peak pending on Ray: lakeray ${l.peak_pending}, direct ${d.peak_pending}`);
    console.log(`took ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return {
      n: N,
      lakeray: l,
      direct: d,
      makespan_ratio: ratio,
      makespan_ratio_ray_end: l.makespan_ray_end_ms / d.makespan_ray_end_ms,
      head: { num_cpus: head.numCpus },
      task: { script: ENTERED_SCRIPT, cpu: 1 },
      order: 'direct, then lakeray, one head',
      took_s: Math.round((Date.now() - started) / 1000),
      met,
      targets: TARGETS,
    };
  } finally {
    await closeRayBench(p, direct, head);
  }
}
