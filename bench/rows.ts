/**
 * rows: preview latency through the HTTP API on the 70,000-row Fashion-MNIST dataset
 * (784-float vectors): a 100-row page at random offsets, and a 1-row lookup by offset.
 * Baseline, same run: GET /health on the same server and connection (the HTTP floor).
 * Target: page p99 ≤ 30 ms.
 */
import { Pool } from 'undici';
import { runTask, startLakePlatform } from './lib/lake.ts';
import { summarize } from './lib/stats.ts';

const N = Number(process.env.BENCH_ROWS_RUNS ?? 500);
const ROWS = 70_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

async function timeGets(pool: Pool, paths: string[]): Promise<number[]> {
  const out: number[] = [];
  for (const path of paths) {
    const t0 = performance.now();
    const r = await pool.request({ path, method: 'GET' });
    const text = await r.body.text();
    const ms = performance.now() - t0;
    if (r.statusCode !== 200) throw new Error(`${path} → ${r.statusCode}: ${text}`);
    out.push(ms);
  }
  return out;
}

export async function run(): Promise<Record<string, unknown>> {
  const p = await startLakePlatform();
  const pool = new Pool(p.server.url, { connections: 1 });
  try {
    await runTask(p, { script: 'mnist/mnist_clean.py', output: 'fashion', params: { normalize: true, flatten: true } });
    // A fixed pseudo-random sequence of offsets, so runs compare.
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const pages = Array.from({ length: N }, () => `/api/v1/datasets/fashion/rows?offset=${Math.floor(rand() * (ROWS - 100))}&limit=100`);
    const lookups = Array.from({ length: N }, () => `/api/v1/datasets/fashion/rows?offset=${Math.floor(rand() * ROWS)}&limit=1`);
    const health = Array.from({ length: N }, () => '/health');
    await timeGets(pool, pages.slice(0, 50)); // warm up caches and the JIT
    // Three rounds; the round with the median page p99 is reported (the tail varies with GC).
    const rounds = [];
    for (let i = 0; i < ROUNDS; i++) {
      rounds.push({ page: summarize(await timeGets(pool, pages)), lookup: summarize(await timeGets(pool, lookups)), floor: summarize(await timeGets(pool, health)) });
      console.log(`round ${i + 1}: page p50 ${rounds[i]!.page.p50_ms.toFixed(2)} ms  p99 ${rounds[i]!.page.p99_ms.toFixed(2)} ms`);
    }
    const { page, lookup, floor } = [...rounds].sort((a, b) => a.page.p99_ms - b.page.p99_ms)[Math.floor(rounds.length / 2)]!;
    console.log(`100-row page: p50 ${page.p50_ms.toFixed(2)} ms  p99 ${page.p99_ms.toFixed(2)} ms  (n=${page.n})`);
    console.log(`1-row lookup: p50 ${lookup.p50_ms.toFixed(2)} ms  p99 ${lookup.p99_ms.toFixed(2)} ms`);
    console.log(`baseline GET /health: p50 ${floor.p50_ms.toFixed(2)} ms  p99 ${floor.p99_ms.toFixed(2)} ms`);
    console.log(`ratio page p50 / health p50: ${(page.p50_ms / floor.p50_ms).toFixed(1)}×  (target: page p99 ≤ 30 ms)`);
    return {
      p50_ms: page.p50_ms,
      p99_ms: page.p99_ms,
      lookup_p50_ms: lookup.p50_ms,
      lookup_p99_ms: lookup.p99_ms,
      page,
      lookup,
      baseline: floor,
      ratio: page.p50_ms / floor.p50_ms,
      rounds_p99_ms: rounds.map((r) => r.page.p99_ms),
      target: { p99_ms: 30 },
    };
  } finally {
    await pool.close();
    await p.close();
  }
}
