/**
 * arrow-read: a Python task reads the whole train split of Fashion-MNIST (60,000 × 784
 * float32 + labels, ~190 MB) through the harness — ctx.read_dataset, i.e. the platform's
 * Arrow IPC stream out of Lance over HTTP — against pyarrow reading the same table from a
 * local Arrow IPC file in the same process (the limit). Target ratio ≥ 0.5.
 */
import { runTask, startLakePlatform } from './lib/lake.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export async function run(): Promise<Record<string, unknown>> {
  const p = await startLakePlatform();
  try {
    await runTask(p, { script: 'mnist/mnist_clean.py', output: 'fashion', params: { normalize: true, flatten: true } });
    const r = await runTask(p, { script: 'arrow_read.py', input: 'fashion', params: { rounds: ROUNDS, baseline: true } });
    const { bytes, rows, seconds, baseline_seconds } = r.result as { bytes: number; rows: number; seconds: number[]; baseline_seconds: number[] };
    const mb = bytes / 1e6;
    const value = mb / median(seconds);
    const baseline = mb / median(baseline_seconds);
    const ratio = value / baseline;
    console.log(`read through the harness: ${rows} rows, ${mb.toFixed(1)} MB, median ${(median(seconds) * 1000).toFixed(0)} ms → ${value.toFixed(0)} MB/s`);
    console.log(`baseline (local IPC file, pyarrow): median ${(median(baseline_seconds) * 1000).toFixed(0)} ms → ${baseline.toFixed(0)} MB/s`);
    console.log(`ratio: ${ratio.toFixed(2)}  (target ≥ 0.5)`);
    return { value, baseline, ratio, unit: 'MB/s', bytes, rows, seconds, baseline_seconds, target: { ratio: 0.5 } };
  } finally {
    await p.close();
  }
}
