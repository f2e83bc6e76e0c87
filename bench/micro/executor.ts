/**
 * Micro benchmark of the local executor alone (no engine, store or API): what one task costs
 * in the executor and the harnesses.
 *
 *   npx tsx bench/micro/executor.ts [node|python|all]
 *
 * node:   MICRO_TASKS (20,000) no-op JS tasks through a warm `node` pool of 2 workers ×
 *         concurrency 50, 100 in flight (a new task is run as soon as one exits, as the engine
 *         does when a slot frees). Reports exit callbacks per second and the server process's
 *         CPU time per task (the engine and the API share that process in the real benchmark)
 *         and the workers' (from /proc).
 * python: MICRO_PY_RUNS (500) sequential no-op Python tasks through a warm pool with torch
 *         preloaded (as bench/dispatch.ts): run() → script entered (harness clock), run() →
 *         `started` received, run() → exit callback; p50/p99.
 *
 * The last output line is one JSON object with every number.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { localExecutorSchema } from '../../src/config/schema.ts';
import type { Task } from '../../src/domain/task.ts';
import type { RunCallbacks, RunOutcome } from '../../src/executors/executor.ts';
import { LocalExecutor } from '../../src/executors/local/local-executor.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, '../..');
const SCRIPTS = path.join(ROOT, 'bench/scripts');
const TASKS = Number(process.env.MICRO_TASKS ?? 20_000);
const PY_RUNS = Number(process.env.MICRO_PY_RUNS ?? 500);
const PY_WARMUP = 30;
const now = (): number => performance.timeOrigin + performance.now();

let seq = 0;
const task = (script: string, pool: string): Task => {
  seq += 1;
  const t = Date.now();
  return {
    id: `m-${seq}`, name: 'micro', script, input: null, output: null, params: {}, executor: 'local', pool,
    resources: { cpu: 0, memory_mb: 0, gpu: 0, custom: {} }, priority: 0, timeout_s: null,
    retry: { max_attempts: 1, backoff_ms: 0, backoff_factor: 2, max_backoff_ms: 0 }, webhook: null, webhook_options: null, tenant: 'default',
    labels: {}, service: null, status: 'running', attempt: 1, created_at: t, updated_at: t, started_at: t, finished_at: null,
    not_before: null, progress: null, result: null, error: null, lease_owner: null, lease_expires_at: null,
    assignment: null, idempotency_key: null, last_seq: 0, cancel_reason: null,
  };
};

const executorWith = (pools: unknown[]): LocalExecutor =>
  new LocalExecutor({
    config: localExecutorSchema.parse({ cpu: 2, pools }),
    pythonInterpreter: path.join(ROOT, '.venv/bin/python'),
    scriptRoots: [SCRIPTS],
    dataRoots: [path.join(ROOT, 'bench')],
    runtimesDir: path.join(ROOT, 'runtimes'),
  });

/** CPU time (user + system) of a process so far, in µs, from /proc (10 ms resolution). */
const procCpuUs = (pid: number): number => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return 0;
  }
};

/** Resident memory of a process in MB, from /proc. */
const procRssMb = (pid: number): number => {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? 0 : Math.round(Number(kb) / 1024);
  } catch {
    return 0;
  }
};

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};
const summary = (xs: number[]): { p50_ms: number; p99_ms: number; mean_ms: number } => ({
  p50_ms: Number(pct(xs, 50).toFixed(3)),
  p99_ms: Number(pct(xs, 99).toFixed(3)),
  mean_ms: Number((xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(3)),
});

async function nodeThroughput(): Promise<Record<string, unknown>> {
  // MICRO_NODE_INTERPRETER: e.g. a wrapper that adds --cpu-prof, to profile the workers.
  const interpreter = process.env.MICRO_NODE_INTERPRETER;
  const executor = executorWith([{ name: 'js', runtime: 'node', min: 2, max: 2, concurrency: 50, ...(interpreter ? { interpreter } : {}) }]);
  await executor.prewarm();
  const workers = new Set<number>();
  const workerCpu = (): number => [...workers].reduce((sum, pid) => sum + procCpuUs(pid), 0);
  const runBatch = (n: number): Promise<{ seconds: number; failed: number; cpuUs: number; workerCpuUs: number }> =>
    new Promise((resolve) => {
      let submitted = 0;
      let exited = 0;
      let failed = 0;
      const cpu0 = process.cpuUsage();
      const workers0 = workerCpu();
      const t0 = performance.now();
      const callbacks: RunCallbacks = {
        started: () => {},
        event: () => {},
        exit: (outcome: RunOutcome) => {
          exited += 1;
          if (outcome.kind !== 'completed') failed += 1;
          if (submitted < n) submit();
          if (exited === n) {
            const cpu = process.cpuUsage(cpu0);
            const seconds = (performance.now() - t0) / 1000;
            resolve({ seconds, failed, cpuUs: cpu.user + cpu.system, workerCpuUs: workerCpu() - workers0 });
          }
        },
      };
      const submit = (): void => {
        submitted += 1;
        const t = task('noop.js', 'js');
        executor.run(t, [], callbacks);
        const pid = executor.pidOf(t.id);
        if (pid !== undefined) workers.add(pid);
      };
      for (let i = 0; i < 100 && submitted < n; i += 1) submit();
    });
  try {
    await runBatch(2000); // JIT warm-up on both sides
    const rssBefore = [...workers].map(procRssMb);
    const r = await runBatch(TASKS);
    const rssAfter = [...workers].map(procRssMb);
    const out = {
      tasks: TASKS,
      seconds: Number(r.seconds.toFixed(3)),
      tasks_per_s: Math.round(TASKS / r.seconds),
      failed: r.failed,
      server_cpu_us_per_task: Number((r.cpuUs / TASKS).toFixed(1)),
      worker_cpu_us_per_task: Number((r.workerCpuUs / TASKS).toFixed(1)),
      worker_rss_mb_before: rssBefore,
      worker_rss_mb_after: rssAfter,
    };
    console.log(
      `node: ${TASKS} no-op tasks in ${out.seconds} s = ${out.tasks_per_s} tasks/s; CPU per task: ` +
        `server ${out.server_cpu_us_per_task} µs, workers ${out.worker_cpu_us_per_task} µs; ` +
        `worker RSS ${rssBefore.join('+')} → ${rssAfter.join('+')} MB; ${r.failed} failed`,
    );
    return out;
  } finally {
    await executor.close();
  }
}

async function pythonLatency(): Promise<Record<string, unknown>> {
  const executor = executorWith([{ name: 'torch', runtime: 'python', preload: ['torch'], min: 1, max: 1 }]);
  await executor.prewarm();
  const one = (): Promise<{ entered: number; started: number; exit: number }> =>
    new Promise((resolve, reject) => {
      let started = 0;
      const t0 = now();
      const t0n = process.hrtime.bigint(); // CLOCK_MONOTONIC, as the script's time.monotonic_ns()
      executor.run(task('noop_torch.py', 'torch'), [], {
        started: () => {
          started = now() - t0;
        },
        event: () => {},
        exit: (outcome) => {
          if (outcome.kind !== 'completed') return reject(new Error(JSON.stringify(outcome)));
          const entered = Number(BigInt((outcome.result as { entered_ns: number | string }).entered_ns) - t0n) / 1e6;
          resolve({ entered, started, exit: now() - t0 });
        },
      });
    });
  try {
    for (let i = 0; i < PY_WARMUP; i += 1) await one();
    const runs: Array<{ entered: number; started: number; exit: number }> = [];
    for (let i = 0; i < PY_RUNS; i += 1) runs.push(await one());
    const out = {
      runs: PY_RUNS,
      entered: summary(runs.map((r) => r.entered)),
      started: summary(runs.map((r) => r.started)),
      exit: summary(runs.map((r) => r.exit)),
    };
    const f = (s: { p50_ms: number; p99_ms: number }): string => `p50 ${s.p50_ms.toFixed(2)} ms p99 ${s.p99_ms.toFixed(2)} ms`;
    console.log(`python (torch preloaded), ${PY_RUNS} sequential jobs:`);
    console.log(`  run() → script entered   ${f(out.entered)}`);
    console.log(`  run() → started received ${f(out.started)}`);
    console.log(`  run() → exit callback    ${f(out.exit)}`);
    return out;
  } finally {
    await executor.close();
  }
}

const which = process.argv[2] ?? 'all';
const result: Record<string, unknown> = { bench: 'micro/executor', at: new Date().toISOString() };
if (which === 'node' || which === 'all') result.node = await nodeThroughput();
if (which === 'python' || which === 'all') result.python = await pythonLatency();
console.log(JSON.stringify(result));
process.exit(0);
