/**
 * arrow-read: a Python task reads the whole train split of Fashion-MNIST (60,000 × 784
 * float32 + labels, ~190 MB) through the harness, ctx.read_dataset, against pyarrow reading
 * the same table from a local Arrow IPC file in the same process (the limit). Target ratio
 * ≥ 0.5.
 *
 * On the server's machine a read is served as a local Arrow snapshot of the version, memory-
 * mapped (src/lake/snapshot-cache.ts): the first read of a version exports it (cold), later
 * reads map the file (warm). `value` is the median over the rounds, cold read included. The
 * baseline is pyarrow's plain read of a local IPC file, `pa.ipc.open_file(path).read_all()`
 * (into memory). Also reported: the first (cold) read alone, pyarrow memory-mapping the file
 * (no copy at all), and the HTTP stream that tasks on other machines use.
 */
import { runTask, startLakePlatform } from './lib/lake.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export async function run(): Promise<Record<string, unknown>> {
  const p = await startLakePlatform();
  try {
    await runTask(p, { script: 'mnist/mnist_clean.py', output: 'fashion', params: { normalize: true, flatten: true } });
    const r = await runTask(p, { script: 'arrow_read.py', input: 'fashion', params: { rounds: ROUNDS } });
    const res = r.result as { bytes: number; rows: number; seconds: number[]; stream_seconds: number[]; baseline_copy_seconds: number[]; baseline_mmap_seconds: number[] };
    const mb = res.bytes / 1e6;
    const rate = (s: number) => mb / s;
    const value = rate(median(res.seconds));
    const cold = rate(res.seconds[0] as number);
    const stream = rate(median(res.stream_seconds));
    const copy = rate(median(res.baseline_copy_seconds));
    const mmap = rate(median(res.baseline_mmap_seconds));
    const baseline = copy;
    const ratio = value / baseline;
    const ms = (s: number) => `${(s * 1000).toFixed(0)} ms`;
    console.log(`train split: ${res.rows} rows, ${mb.toFixed(1)} MB`);
    console.log(`through the harness (local snapshot): median ${ms(median(res.seconds))} → ${value.toFixed(0)} MB/s  (first read, exporting the snapshot: ${ms(res.seconds[0] as number)} → ${cold.toFixed(0)} MB/s)`);
    console.log(`through the harness (HTTP Arrow stream, as remote tasks read): median ${ms(median(res.stream_seconds))} → ${stream.toFixed(0)} MB/s`);
    console.log(`baseline, pa.ipc.open_file(path).read_all(): ${copy.toFixed(0)} MB/s   (memory-mapped instead: ${mmap.toFixed(0)} MB/s)`);
    console.log(`ratio: ${ratio.toFixed(2)}  (target ≥ 0.5)   vs memory-mapped ${(value / mmap).toFixed(2)}   cold ${(cold / baseline).toFixed(3)}   stream ${(stream / baseline).toFixed(3)}`);
    return {
      value,
      baseline,
      ratio,
      unit: 'MB/s',
      cold_value: cold,
      stream_value: stream,
      baseline_mmap: mmap,
      ratio_vs_mmap: value / mmap,
      cold_ratio: cold / baseline,
      stream_ratio: stream / baseline,
      bytes: res.bytes,
      rows: res.rows,
      seconds: res.seconds,
      stream_seconds: res.stream_seconds,
      target: { ratio: 0.5 },
    };
  } finally {
    await p.close();
  }
}
