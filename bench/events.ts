/**
 * events: 200 running tasks each emitting 20 progress events/s; 500 WebSocket subscribers
 * each watching one task (spread evenly) plus one watching all. Measures emit (in the script)
 * → received (in a separate client process). Target: p99 ≤ 20 ms.
 * Baseline, same run: the round trip of an application ping over one of the same sockets to
 * the same server under the same load — what the WebSocket transport alone costs here
 * (a full round trip, so it is an upper bound of one-way transport latency).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startPlatform } from './lib/platform.ts';

const TASKS = Number(process.env.BENCH_EVENT_TASKS ?? 200);
const CLIENTS = Number(process.env.BENCH_EVENT_CLIENTS ?? 500);
const RATE = 20;
const SECONDS = Number(process.env.BENCH_EVENT_SECONDS ?? 10);

export async function run(): Promise<Record<string, unknown>> {
  const p = await startPlatform({ executors: { local: { cpu: 2 } } });
  try {
    const startAt = Date.now() + 20_000; // time for 200 cold starts and 501 subscriptions
    const body = {
      tasks: Array.from({ length: TASKS }, () => ({
        script: 'ticker.py',
        params: { rate: RATE, seconds: SECONDS, start_at_ms: startAt },
        resources: { cpu: 2 / TASKS },
      })),
    };
    const { tasks } = await p.post<{ tasks: { id: string }[] }>('/api/v1/tasks/batch', body);
    const ids = tasks.map((t) => t.id);
    const until = startAt + SECONDS * 1000 + 3000;
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'lib/ws-clients.ts'), p.server.url, ids.join(','), String(CLIENTS), String(until)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout });
    let report: (Record<string, number> & { ping: Record<string, number> }) | null = null;
    for await (const line of lines) {
      const msg = JSON.parse(line);
      if (msg.ready) {
        const late = Date.now() > startAt;
        console.log(`${CLIENTS + 1} subscribers ready${late ? ' (after the tickers started!)' : ''}`);
      } else report = msg;
    }
    if (!report) throw new Error('client process gave no report');
    const running = (await p.server.engine.list({ tenant: 'default' }, { status: ['succeeded'], limit: 1000 })).tasks.length;
    const perTask = RATE * SECONDS;
    const expected = perTask * CLIENTS + perTask * TASKS;
    const ratio = (report.p99_ms as number) / (report.ping.p99_ms as number);
    console.log(`baseline (ws ping round trip under the same load): p50 ${report.ping.p50_ms?.toFixed(2)} ms  p99 ${report.ping.p99_ms?.toFixed(2)} ms`);
    console.log(
      `emit → received: p50 ${report.p50_ms?.toFixed(2)} ms  p99 ${report.p99_ms?.toFixed(2)} ms  (target p99 ≤ 20 ms); ` +
        `delivered ${report.delivered} of ${expected} emitted×subscribers; ${running}/${TASKS} tasks succeeded`,
    );
    return {
      p50_ms: report.p50_ms,
      p95_ms: report.p95_ms,
      p99_ms: report.p99_ms,
      baseline_ping_p99_ms: report.ping.p99_ms,
      baseline_ping_p50_ms: report.ping.p50_ms,
      ratio,
      delivered: report.delivered,
      expected,
      tasks: TASKS,
      subscribers: CLIENTS + 1,
      rate_per_task: RATE,
      seconds: SECONDS,
      succeeded: running,
    };
  } finally {
    await p.close();
  }
}
