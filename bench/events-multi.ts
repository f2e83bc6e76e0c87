/**
 * events-multi: the events benchmark (events.ts: TASKS running tasks each emitting 20 progress
 * events/s, CLIENTS WebSocket subscribers each watching one task plus one watching all; emit in
 * the script → received in a separate client process) on a multi-process cluster
 * (test/helpers/cluster.ts): two `--role api` nodes and one `--role scheduler` on a real
 * PostgreSQL and the Redis Streams bus. The tasks run on the scheduler; every event reaches the
 * subscribers through Redis, and each task's subscribers alternate between the two API nodes.
 * Target: p99 ≤ 30 ms, all delivered. Keys: p99_ms, delivered, expected.
 * Then the floor, in the same run (`floor`, `ratio_to_floor`): the same tickers and subscribers
 * through the same hops with nothing of Lakeray in them (bench/lib/events-floor.ts), what this
 * machine gives any design of that shape.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { request } from 'undici';
import { PostgresTaskStore } from '../src/store/postgres/postgres-store.ts';
import { startCluster } from '../test/helpers/cluster.ts';
import type { Report } from './events.ts';
import type { Summary } from './lib/stats.ts';
import { runFloor } from './lib/events-floor.ts';
import { BENCH_SCRIPTS } from './lib/platform.ts';

const TASKS = Number(process.env.BENCH_EVENT_TASKS ?? 200);
const CLIENTS = Number(process.env.BENCH_EVENT_CLIENTS ?? 500);
const RATE = 20;
const SECONDS = Number(process.env.BENCH_EVENT_SECONDS ?? 10);
/** The tasks' CPU priority (`executors.local.nice`; the default config: 0). The 200 tickers share the 2 cores with every Lakeray process, PostgreSQL and Redis; 10 did not lower the p99 in the one idle A/B (REPORT). */
const NICE = Number(process.env.BENCH_TASK_NICE ?? 0);

/** The floor (bench/lib/events-floor.ts) after Lakeray's run, same load; BENCH_FLOOR=0 skips it, BENCH_FLOOR=redis leaves out its PostgreSQL INSERT, BENCH_FLOOR=only (only-redis) runs the floor alone. */
const FLOOR = process.env.BENCH_FLOOR ?? 'store';

export async function run(): Promise<Record<string, unknown>> {
  const lakeray = FLOOR === 'only' || FLOOR === 'only-redis' ? { p99_ms: NaN } : await runLakeray();
  if (FLOOR === '0') return lakeray;
  const store = FLOOR !== 'redis' && FLOOR !== 'only-redis';
  console.log(`the floor: the same ${TASKS} tickers and ${CLIENTS + 1} subscribers through the same hops (${store ? 'one PostgreSQL INSERT and one XADD per batch' : 'one XADD per batch, no store'}) with nothing of Lakeray in them`);
  const { report, relay, expected } = await runFloor({ tasks: TASKS, clients: CLIENTS, rate: RATE, seconds: SECONDS, store });
  const f = (x: number | null) => (x === null ? 'n/a' : x.toFixed(2));
  console.log(`floor: emit → received p50 ${f(report.p50_ms)} ms  p99 ${f(report.p99_ms)} ms, delivered ${report.delivered} of ${expected}; ping p99 ${f(report.ping.p99_ms)} ms; relay flushes ${relay.flushes} (p50 ${f(relay.flush_p50_ms ?? null)} ms, p99 ${f(relay.flush_p99_ms ?? null)} ms)`);
  const ratio = (lakeray.p99_ms as number) / report.p99_ms;
  console.log(`Lakeray's p99 ÷ the floor's: ${ratio.toFixed(2)}`);
  return {
    ...lakeray,
    floor: {
      store,
      p50_ms: report.p50_ms,
      p99_ms: report.p99_ms,
      steady_p99_ms: report.steady.p99_ms,
      delivered: report.delivered,
      expected,
      ping_p99_ms: report.ping.p99_ms,
      to_relay_p99_ms: report.to_scheduler.p99_ms,
      from_relay_p99_ms: report.from_scheduler.p99_ms,
      client_loop_delay_p99_ms: report.client_loop.p99_ms,
      relay,
    },
    ratio_to_floor: ratio,
  };
}

async function runLakeray(): Promise<Record<string, unknown>> {
  console.log(`task processes at nice ${NICE} (BENCH_TASK_NICE)`);
  const cluster = await startCluster({
    apis: 2,
    schedulers: 1,
    config: {
      script_roots: [BENCH_SCRIPTS],
      executors: { local: { cpu: 2, nice: NICE, pools: [{ name: 'tickers', runtime: 'python', min: 0, max: TASKS, idle_timeout_s: 600 }], default_pools: { python: 'tickers' } } },
    },
    migrate: async (url) => (await PostgresTaskStore.open({ url, poolSize: 1 })).close(),
  });
  try {
    const [a, b] = cluster.apis();
    if (!a || !b) throw new Error('two API nodes expected');
    const startAt = Date.now() + 25_000; // time for the cold starts and the subscriptions
    const body = {
      tasks: Array.from({ length: TASKS }, (_, i) => ({
        script: 'ticker.py',
        params: { rate: RATE, seconds: SECONDS, start_at_ms: startAt, phase_ms: (i * (1000 / RATE)) / TASKS },
        resources: { cpu: 2 / TASKS },
      })),
    };
    const r = await request(`${a.url}/api/v1/tasks/batch`, { method: 'POST', headers: { 'content-type': 'application/json', prefer: 'return=minimal' }, body: JSON.stringify(body) });
    const ids = ((await r.body.json()) as { tasks: { id: string }[] }).tasks.map((t) => t.id);
    const until = startAt + SECONDS * 1000 + 3000;
    const perTask = RATE * SECONDS;
    // Each task's events reach its CLIENTS / TASKS subscribers and the one watching everything.
    const expected = perTask * CLIENTS + perTask * TASKS;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'lib/ws-clients.ts'), `${a.url},${b.url}`, ids.join(','), String(CLIENTS), String(until), String(startAt + 1000), String(startAt + (SECONDS - 1) * 1000), String(expected)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let report: (Report & { to_scheduler: Summary; from_scheduler: Summary; client_loop: { p50_ms: number; p99_ms: number; max_ms: number } }) | null = null;
    for await (const line of createInterface({ input: child.stdout })) {
      const msg = JSON.parse(line);
      if (msg.ready) {
        if (Date.now() > startAt) console.log('warning: subscribers were ready only after the tickers started');
      } else report = msg;
    }
    if (!report) throw new Error('client process gave no report');
    const db = new pg.Client({ connectionString: cluster.databaseUrl });
    await db.connect();
    const succeeded = Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM tasks WHERE status = 'completed'`)).rows[0]!.n);
    await db.end();
    // null: nothing delivered (JSON has no NaN)
    const f = (x: number | null) => (x === null ? 'n/a' : x.toFixed(2));
    console.log(`baseline (ws ping round trip to api-a under the same load): p50 ${f(report.ping.p50_ms)} ms  p99 ${f(report.ping.p99_ms)} ms`);
    console.log(
      `2 API nodes on the Redis bus: emit → received p50 ${f(report.p50_ms)} ms  p99 ${f(report.p99_ms)} ms (target p99 ≤ 30 ms); ` +
        `delivered ${report.delivered} of ${expected} (${report.late ?? 0} of them later than 3 s after the last emit); ${succeeded}/${TASKS} tasks succeeded`,
    );
    const split = (s: Summary) => `p50 ${f(s.p50_ms)} ms  p99 ${f(s.p99_ms)} ms`;
    console.log(`  of which script → scheduler ${split(report.to_scheduler)}; scheduler → client ${split(report.from_scheduler)}`);
    // The client process's own queueing counts in every latency above (and in the ping's).
    console.log(`client process (${CLIENTS + 1} sockets) event loop delay: p50 ${f(report.client_loop.p50_ms)} ms  p99 ${f(report.client_loop.p99_ms)} ms  max ${f(report.client_loop.max_ms)} ms`);
    return {
      p50_ms: report.p50_ms,
      p95_ms: report.p95_ms,
      p99_ms: report.p99_ms,
      task_nice: NICE,
      delivered: report.delivered,
      expected,
      late: report.late ?? 0,
      met: report.p99_ms <= 30 && report.delivered === expected,
      steady_p50_ms: report.steady.p50_ms,
      steady_p99_ms: report.steady.p99_ms,
      baseline_ping_p50_ms: report.ping.p50_ms,
      baseline_ping_p99_ms: report.ping.p99_ms,
      // The event's ts is the scheduler's clock on receipt: the latency's two halves.
      to_scheduler_p50_ms: report.to_scheduler.p50_ms,
      to_scheduler_p99_ms: report.to_scheduler.p99_ms,
      from_scheduler_p50_ms: report.from_scheduler.p50_ms,
      from_scheduler_p99_ms: report.from_scheduler.p99_ms,
      client_loop_delay_p99_ms: report.client_loop.p99_ms,
      client_loop_delay_max_ms: report.client_loop.max_ms,
      errors: report.errors,
      tasks: TASKS,
      subscribers: CLIENTS + 1,
      api_nodes: 2,
      rate_per_task: RATE,
      seconds: SECONDS,
      succeeded,
      target_p99_ms: 30,
    };
  } catch (err) {
    // The nodes' own words on what went wrong (errors are logged at warn and above).
    console.error(cluster.output().slice(-6000));
    throw err;
  } finally {
    await cluster.stop();
  }
}
