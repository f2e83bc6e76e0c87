/**
 * dispatch: submit → the script's run() entered, for a Python no-op that imports torch.
 * Warm: a pool with torch preloaded (the platform's warm start). Baseline, same run: a cold
 * process per task (interpreter start + import torch), as a plain job runner does it.
 * Target: warm p50 ≤ 5 ms, p99 ≤ 25 ms; cold/warm p50 ≥ 50×.
 */
import { summarize } from './lib/stats.ts';
import { startPlatform, type BenchPlatform } from './lib/platform.ts';

const WARM_RUNS = Number(process.env.BENCH_WARM_RUNS ?? 500);
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 10);
const now = () => performance.timeOrigin + performance.now();

async function measure(p: BenchPlatform, runs: number, pool: string | null): Promise<number[]> {
  const out: number[] = [];
  const caller = { tenant: 'default' };
  for (let i = 0; i < runs; i++) {
    const done = new Promise<string>((resolve) => {
      const off = p.server.engine.subscribe(caller, {}, (events) => {
        for (const e of events)
          if (e.type === 'state' && ['succeeded', 'failed', 'cancelled'].includes(e.data.status as string)) {
            off();
            resolve(e.task_id);
          }
      });
    });
    const t0 = now();
    const task = await p.post('/api/v1/tasks', { script: 'noop_torch.py', pool, resources: { cpu: 1 } });
    const id = await done;
    const t = await p.server.engine.get(caller, id);
    if (t.status !== 'succeeded' || id !== task.id) throw new Error(`task ${id} ${t.status}: ${JSON.stringify(t.error)}`);
    out.push((t.result as { entered_at_ms: number }).entered_at_ms - t0);
  }
  return out;
}

export async function run(): Promise<Record<string, unknown>> {
  const p = await startPlatform({
    executors: { local: { cpu: 2, pools: [{ name: 'torch', runtime: 'python', preload: ['torch'], min: 1, max: 1 }] } },
  });
  try {
    await measure(p, 20, 'torch'); // first jobs pay for page faults and JIT
    const warm = summarize(await measure(p, WARM_RUNS, 'torch'));
    const cold = summarize(await measure(p, COLD_RUNS, null));
    const ratio = cold.p50_ms / warm.p50_ms;
    console.log(`warm (torch preloaded): p50 ${warm.p50_ms.toFixed(2)} ms  p99 ${warm.p99_ms.toFixed(2)} ms  (n=${warm.n})`);
    console.log(`cold (new process):     p50 ${cold.p50_ms.toFixed(0)} ms  (n=${cold.n})`);
    console.log(`ratio cold/warm p50: ${ratio.toFixed(0)}×  (targets: warm p50 ≤ 5 ms, p99 ≤ 25 ms, ratio ≥ 50×)`);
    return { warm, cold, ratio, targets: { warm_p50_ms: 5, warm_p99_ms: 25, ratio: 50 } };
  } finally {
    await p.close();
  }
}
