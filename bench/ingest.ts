/**
 * ingest: Fashion-MNIST's IDX files (70,000 images) → a Lance dataset, end to end: submit the
 * examples' mnist_clean task over HTTP → the script parses IDX with numpy, builds Arrow,
 * streams it to the platform → LanceDB writes it → the task succeeded. Baseline, same run:
 * the same parsing and Arrow build writing a local Arrow IPC file, no platform and no Lance
 * (the floor). Target: ≤ 5 s end to end.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { defaultPython } from '../src/main.ts';
import { FASHION, runTask, startLakePlatform } from './lib/lake.ts';
import { BENCH_SCRIPTS } from './lib/platform.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export async function run(): Promise<Record<string, unknown>> {
  const p = await startLakePlatform();
  try {
    const seconds: number[] = [];
    let bytesOnDisk = 0;
    let rows = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const name = `fashion_r${i}`;
      const r = await runTask(p, { script: 'mnist/mnist_clean.py', output: name, params: { normalize: true, flatten: true } });
      rows = r.result.total_records as number;
      seconds.push(r.ms / 1000);
      const res = await fetchJson(`${p.server.url}/api/v1/datasets/${name}`);
      bytesOnDisk = res.size_bytes as number;
      console.log(`round ${i + 1}: ${(r.ms / 1000).toFixed(2)} s for ${rows} rows`);
    }
    const base = JSON.parse(
      execFileSync(defaultPython(), [join(BENCH_SCRIPTS, 'ingest_baseline.py'), FASHION], { encoding: 'utf8' }).trim().split('\n').pop() as string,
    ) as { seconds: number; raw_bytes: number; arrow_bytes: number };
    const s = median(seconds);
    const ratio = s / base.seconds;
    console.log(`lakeray: ${s.toFixed(2)} s (median of ${ROUNDS}), ${Math.round(rows / s)} rows/s, ${(bytesOnDisk / 1e6).toFixed(1)} MB on disk`);
    console.log(`baseline (numpy + pyarrow → local IPC file, no platform): ${base.seconds.toFixed(2)} s`);
    console.log(`ratio lakeray/baseline: ${ratio.toFixed(2)}× the floor  (target: ≤ 5 s end to end)`);
    return {
      seconds: s,
      rows_per_s: rows / s,
      bytes_on_disk: bytesOnDisk,
      raw_bytes: base.raw_bytes,
      arrow_bytes: base.arrow_bytes,
      rounds: seconds,
      baseline_seconds: base.seconds,
      ratio,
      target: { seconds: 5 },
    };
  } finally {
    await p.close();
  }
}

async function fetchJson(url: string): Promise<Record<string, unknown>> {
  const { request } = await import('undici');
  const r = await request(url);
  return (await r.body.json()) as Record<string, unknown>;
}
