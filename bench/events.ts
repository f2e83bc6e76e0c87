/**
 * events: 200 running tasks each emitting 20 progress events/s; 500 WebSocket subscribers
 * each watching one task (spread evenly) plus one watching all. Measures emit (in the script)
 * → received (in a separate client process). Target: p99 ≤ 20 ms.
 * Baseline, same run: the round trip of an application ping over one of the same sockets to
 * the same server under the same load — what the WebSocket transport alone costs here
 * (a full round trip, so it is an upper bound of one-way transport latency).
 */
import { spawn } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startPlatform } from './lib/platform.ts';

const TASKS = Number(process.env.BENCH_EVENT_TASKS ?? 200);
const CLIENTS = Number(process.env.BENCH_EVENT_CLIENTS ?? 500);
const RATE = 20;
const SECONDS = Number(process.env.BENCH_EVENT_SECONDS ?? 10);

export interface Report {
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  delivered: number;
  /** Deliveries after `until` (ws-clients.ts waits for them when told how many to expect). */
  late?: number;
  errors: number;
  ping: { p50_ms: number; p99_ms: number };
  /** Events emitted after the first and before the last second: no task starting or ending. */
  steady: { p50_ms: number; p99_ms: number; n: number };
}

/**
 * One round. `aligned`: every task ticks at the same instants (a burst of 200 events every
 * 50 ms, the worst case); otherwise each task has its own phase in the period, as
 * independent tasks do.
 */
export async function measure(aligned: boolean): Promise<Report & { expected: number; succeeded: number; loop_p99_ms: number; loop_max_ms: number }> {
  // A warm pool as large as the run: tasks end without 200 processes exiting at once (libuv
  // reaps children by polling every one of them on each SIGCHLD), as a long-lived fleet does.
  const p = await startPlatform({
    executors: { local: { cpu: 2, pools: [{ name: 'tickers', runtime: 'python', min: 0, max: TASKS, idle_timeout_s: 600 }], default_pools: { python: 'tickers' } } },
  });
  try {
    const startAt = Date.now() + 20_000; // time for 200 cold starts and 501 subscriptions
    const period = 1000 / RATE;
    const body = {
      tasks: Array.from({ length: TASKS }, (_, i) => ({
        script: 'ticker.py',
        params: { rate: RATE, seconds: SECONDS, start_at_ms: startAt, phase_ms: aligned ? 0 : (i * period) / TASKS },
        resources: { cpu: 2 / TASKS },
      })),
    };
    const { tasks } = await p.post<{ tasks: { id: string }[] }>('/api/v1/tasks/batch', body);
    // Where the tail comes from: how long the server's event loop was held up meanwhile.
    const loop = monitorEventLoopDelay({ resolution: 5 });
    const ids = tasks.map((t) => t.id);
    const until = startAt + SECONDS * 1000 + 3000;
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'lib/ws-clients.ts'), p.server.url, ids.join(','), String(CLIENTS), String(until), String(startAt + 1000), String(startAt + (SECONDS - 1) * 1000)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let report: Report | null = null;
    for await (const line of createInterface({ input: child.stdout })) {
      const msg = JSON.parse(line);
      if (msg.ready) {
        setTimeout(() => loop.enable(), Math.max(0, startAt - Date.now()));
        if (Date.now() > startAt) console.log('warning: subscribers were ready only after the tickers started');
      } else report = msg;
    }
    if (!report) throw new Error('client process gave no report');
    loop.disable();
    const succeeded = (await p.server.engine.list({ tenant: 'default' }, { status: ['completed'], limit: 1000 })).tasks.length;
    const perTask = RATE * SECONDS;
    return { ...report, expected: perTask * CLIENTS + perTask * TASKS, succeeded, loop_p99_ms: loop.percentile(99) / 1e6, loop_max_ms: loop.max / 1e6 };
  } finally {
    await p.close();
  }
}

const ROUNDS = Number(process.env.BENCH_EVENT_ROUNDS ?? 3);

export async function run(): Promise<Record<string, unknown>> {
  // The tail moves a lot from run to run on a 2-core machine running 200 interpreters:
  // several rounds, and the round with the median p99 is reported (all p99s are kept).
  const rounds: Awaited<ReturnType<typeof measure>>[] = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push(await measure(false));
  rounds.sort((a, b) => a.p99_ms - b.p99_ms);
  const spread = rounds[Math.floor((rounds.length - 1) / 2)] as (typeof rounds)[number];
  console.log(`p99 of each round: ${rounds.map((r) => r.p99_ms.toFixed(2)).join(', ')} ms; reporting the median round`);
  const f = (x: number) => x.toFixed(2);
  console.log(`baseline (ws ping round trip under the same load): p50 ${f(spread.ping.p50_ms)} ms  p99 ${f(spread.ping.p99_ms)} ms`);
  console.log(`server event loop delay: p99 ${f(spread.loop_p99_ms)} ms, max ${f(spread.loop_max_ms)} ms`);
  console.log(
    `independent tasks: emit → received p50 ${f(spread.p50_ms)} ms  p99 ${f(spread.p99_ms)} ms (target p99 ≤ 20 ms); ` +
      `delivered ${spread.delivered} of ${spread.expected}; ${spread.succeeded}/${TASKS} tasks succeeded`,
  );
  const aligned = await measure(true);
  console.log(`  steady state (from 1 s after the start to 1 s before the end): p50 ${f(spread.steady.p50_ms)} ms  p99 ${f(spread.steady.p99_ms)} ms`);
  console.log(`all tasks in step (bursts of ${TASKS} events): p50 ${f(aligned.p50_ms)} ms  p99 ${f(aligned.p99_ms)} ms; delivered ${aligned.delivered}`);
  return {
    p50_ms: spread.p50_ms,
    p95_ms: spread.p95_ms,
    p99_ms: spread.p99_ms,
    delivered: spread.delivered,
    expected: spread.expected,
    baseline_ping_p50_ms: spread.ping.p50_ms,
    baseline_ping_p99_ms: spread.ping.p99_ms,
    ratio: spread.p99_ms / spread.ping.p99_ms,
    server_loop_delay_p99_ms: spread.loop_p99_ms,
    server_loop_delay_max_ms: spread.loop_max_ms,
    p99_ms_rounds: rounds.map((r) => r.p99_ms),
    steady_p99_ms_rounds: rounds.map((r) => r.steady.p99_ms),
    steady_p50_ms: spread.steady.p50_ms,
    steady_p99_ms: spread.steady.p99_ms,
    aligned_p50_ms: aligned.p50_ms,
    aligned_p99_ms: aligned.p99_ms,
    aligned_delivered: aligned.delivered,
    tasks: TASKS,
    subscribers: CLIENTS + 1,
    rate_per_task: RATE,
    seconds: SECONDS,
    succeeded: spread.succeeded,
    target_p99_ms: 20,
  };
}
