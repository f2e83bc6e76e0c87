/**
 * arrow-read: a Python task reads the train split of Fashion-MNIST (60,000 × 784 float32 +
 * labels, ~190 MB) through the harness (ctx.read_dataset), each way of reading against a
 * baseline that does the same kind of work. Target: ratio ≥ 0.5 (throughput through the
 * harness ≥ half of the like-for-like baseline's), marked per comparison.
 *
 * - map (warm, the server's machine): the harness asks the server (one HTTP round trip) for the
 *   version's local Arrow snapshot, already exported, and memory-maps it; against pyarrow
 *   memory-mapping a local Arrow IPC file of the same table. Neither copies a byte: both
 *   figures are the time to a usable table, and MB/s is the table's size over that time.
 * - copy: the harness's HTTP Arrow stream (what tasks on other machines read: the server scans
 *   Lance, encodes Arrow IPC, the harness decodes into its own memory); against pyarrow reading
 *   the local IPC file into memory (`pa.ipc.open_file(path).read_all()`).
 * - cold: the first read of a version (the server scans Lance and writes the snapshot, then the
 *   harness maps it), one per round, each with a scan no read asked for before; against the
 *   same Lance scan into memory with LanceDB in this process (the decode a first read cannot
 *   avoid).
 * Map and copy rounds run in one task, the two sides of a pair in turn (order alternating);
 * cold rounds alternate a task with the Lance scan. Medians over ROUNDS rounds and the spread.
 */
import { LanceLake } from '../src/lake/lance/lance-lake.ts';
import { runTask, startLakePlatform } from './lib/lake.ts';
import type { BenchPlatform } from './lib/platform.ts';
import { formatSpread, spread, type Spread } from './lib/stats.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const TARGET_RATIO = 0.5;
const TRAIN = "split = 'train'";
// A scan nobody asked for before (its own snapshot key), selecting the same rows as TRAIN.
const freshFilter = (round: number) => `${TRAIN} AND label <> ${-(round + 1)}`;

interface Pair {
  harness_s: Spread;
  baseline_s: Spread;
  harness_mb_s: number;
  baseline_mb_s: number;
  ratio: number;
  harness_rounds_s: number[];
  baseline_rounds_s: number[];
}

const pair = (mb: number, ours: number[], theirs: number[]): Pair => {
  const harness_s = spread(ours);
  const baseline_s = spread(theirs);
  return {
    harness_s,
    baseline_s,
    harness_mb_s: mb / harness_s.median,
    baseline_mb_s: mb / baseline_s.median,
    ratio: baseline_s.median / harness_s.median,
    harness_rounds_s: ours,
    baseline_rounds_s: theirs,
  };
};

/** What arrow_read.py's warm mode returns: seconds per round of each side. */
interface WarmReads {
  bytes: number;
  rows: number;
  map: number[];
  map_baseline: number[];
  copy: number[];
  copy_baseline: number[];
}

/** Seconds to scan the split into memory with LanceDB, no platform in between. */
async function lanceScan(lake: LanceLake, filter: string): Promise<number> {
  const t0 = performance.now();
  const scan = await lake.scan('datasets', 'fashion', { filter });
  let rows = 0;
  for await (const batch of scan.batches) rows += batch.numRows;
  if (rows !== 60_000) throw new Error(`the Lance scan read ${rows} rows`);
  return (performance.now() - t0) / 1000;
}

export async function run(): Promise<Record<string, unknown>> {
  const p: BenchPlatform = await startLakePlatform();
  const lake = await LanceLake.open(p.config.lake.root, { dataStorageVersion: p.config.lake.data_storage_version });
  try {
    await runTask(p, { script: 'mnist/mnist_clean.py', output: 'fashion', params: { normalize: true, flatten: true } });
    const cold: number[] = [];
    const scans: number[] = [];
    let bytes = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const coldRead = async () => {
        const r = await runTask(p, { script: 'arrow_read.py', input: 'fashion', params: { mode: 'cold', filter: freshFilter(i) } });
        cold.push(r.result.seconds as number);
        bytes = r.result.bytes as number;
      };
      if (i % 2 === 0) {
        await coldRead();
        scans.push(await lanceScan(lake, freshFilter(i)));
      } else {
        scans.push(await lanceScan(lake, freshFilter(i)));
        await coldRead();
      }
    }
    const warm = (await runTask(p, { script: 'arrow_read.py', input: 'fashion', params: { mode: 'warm', rounds: ROUNDS, filter: TRAIN } })).result as WarmReads;
    const mb = warm.bytes / 1e6;
    const map = pair(mb, warm.map, warm.map_baseline);
    const copy = pair(mb, warm.copy, warm.copy_baseline);
    const first = pair(bytes / 1e6, cold, scans);
    const verdict = (r: number) => `${r.toFixed(2)} (target ≥ ${TARGET_RATIO}: ${r >= TARGET_RATIO ? 'met' : 'NOT met'})`;
    const ms = (s: Spread) => `${formatSpread({ ...s, median: s.median * 1000, min: s.min * 1000, max: s.max * 1000 }, 1)} ms`;
    console.log(`train split: ${warm.rows} rows, ${mb.toFixed(1)} MB; ${ROUNDS} rounds per comparison (median (min–max))`);
    console.log(`map  (warm, server's machine): harness ${ms(map.harness_s)} vs pyarrow memory-map ${ms(map.baseline_s)} → ratio ${verdict(map.ratio)}`);
    console.log(`copy (HTTP stream, into memory): harness ${ms(copy.harness_s)} = ${copy.harness_mb_s.toFixed(0)} MB/s vs pyarrow read_all ${ms(copy.baseline_s)} = ${copy.baseline_mb_s.toFixed(0)} MB/s → ratio ${verdict(copy.ratio)}`);
    console.log(`cold (first read of a version): harness ${ms(first.harness_s)} = ${first.harness_mb_s.toFixed(0)} MB/s vs LanceDB scan in process ${ms(first.baseline_s)} = ${first.baseline_mb_s.toFixed(0)} MB/s → ratio ${first.ratio.toFixed(2)}`);
    return {
      value: map.harness_mb_s,
      baseline: map.baseline_mb_s,
      ratio: map.ratio,
      unit: 'MB/s',
      met: { map: map.ratio >= TARGET_RATIO, copy: copy.ratio >= TARGET_RATIO },
      map,
      copy,
      cold: first,
      bytes: warm.bytes,
      rows: warm.rows,
      rounds: ROUNDS,
      target: { ratio: TARGET_RATIO },
    };
  } finally {
    await p.close();
  }
}
