/**
 * sessions: 64 concurrent streaming sessions of the GRU (test/fixtures/serving/gru_rows.onnx:
 * one 28-pixel row per chunk, state h0 ← hn kept by the gateway between chunks), 28 chunks
 * each, with cross-session batching vs the same sessions without it. Target: ≥ 3× chunks/s.
 *
 * One `local` deployment (one replica: 1 CPU, 1 onnxruntime thread), state [{h0 ← hn}]. Each
 * side: the load generator (serving-load-worker.mjs, mode "sessions") creates SESSIONS sessions
 * (POST …/sessions), opens each one's WebSocket stream, and every session sends its CHUNKS binary
 * chunks (28 float32) one at a time, the next when the previous one's answer arrived, then EOF.
 * chunks/s = all chunks ÷ the time from the first send to the last answer; p99 of a chunk's
 * send → answer.
 * - batched: max_batch_size 64, batch_timeout_ms BENCH_BATCH_TIMEOUT_MS (1), close_batch_when_idle
 *   BENCH_CLOSE_WHEN_IDLE (0: the plain rule): chunks of different sessions share session.run calls.
 *   The gateway closes a wave's batch as soon as every session has sent its next chunk (its wave
 *   rule), so a longer timeout waits only for waves that come in slower than it (REPORT).
 *   The round's mean batch (chunks per session.run, from the deployment's stats) says whether
 *   waves stayed whole (64) or split.
 * - baseline: the same deployment PATCHed to enable_dynamic_batching false (one chunk per run).
 * ROUNDS rounds alternate the two; figures are medians over rounds.
 */
import { formatSpread, spread } from './lib/stats.ts';
import { describeLoad, GRU_ONNX, sessionLoad, startServingPlatform, type LoadResult } from './serving-lib.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 64);
const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 28);
const BATCH_TIMEOUT_MS = Number(process.env.BENCH_BATCH_TIMEOUT_MS ?? 1);
const CLOSE_WHEN_IDLE = (process.env.BENCH_CLOSE_WHEN_IDLE ?? '0') !== '0';
const TARGET = 3;

const MODES = {
  batched: { enable_dynamic_batching: true, max_batch_size: 64, batch_timeout_ms: BATCH_TIMEOUT_MS, close_batch_when_idle: CLOSE_WHEN_IDLE },
  baseline: { enable_dynamic_batching: false, max_batch_size: 64, batch_timeout_ms: BATCH_TIMEOUT_MS, close_batch_when_idle: false },
} as const;
type Mode = keyof typeof MODES;

/** The deployment's batches and rows so far (its stats), to tell how full a round's batches were. */
async function batchCounts(url: string): Promise<{ batches: number; rows: number }> {
  const res = await fetch(`${url}/api/v1/deployments/gru/stats`);
  const s = (await res.json()) as { batches_total: number; mean_batch_size: number };
  return { batches: s.batches_total, rows: s.batches_total * s.mean_batch_size };
}

export async function run(): Promise<Record<string, unknown>> {
  const p = await startServingPlatform({ gru: GRU_ONNX });
  try {
    await p.deploy({ name: 'gru', model: 'gru', resources: { cpu: 1 }, state: [{ input: 'h0', output: 'hn' }], ...MODES.batched });
    const results: Record<Mode, { r: LoadResult; chunksPerS: number; meanBatch: number }[]> = { batched: [], baseline: [] };
    for (let round = 1; round <= ROUNDS; round++) {
      for (const mode of Object.keys(MODES) as Mode[]) {
        await p.patch('gru', MODES[mode]);
        const before = await batchCounts(p.server.url);
        const r = await sessionLoad({ url: p.server.url, deployment: 'gru', sessions: SESSIONS, chunks: CHUNKS, chunkFloats: 28 });
        if (r.failed > 0 || r.n !== SESSIONS * CHUNKS) throw new Error(`${mode}: ${r.n} of ${SESSIONS * CHUNKS} chunks answered, ${r.failed} failed: ${r.errors.join(' | ')}`);
        const chunksPerS = r.rps; // every chunk over the time from the first send to the last answer
        const after = await batchCounts(p.server.url);
        const meanBatch = (after.rows - before.rows) / Math.max(1, after.batches - before.batches);
        results[mode].push({ r, chunksPerS, meanBatch });
        console.log(`round ${round} ${mode}: ${chunksPerS.toFixed(0)} chunks/s, mean batch ${meanBatch.toFixed(1)} chunks; ${describeLoad(r)}`);
      }
    }
    const cps = (m: Mode) => spread(results[m].map((x) => x.chunksPerS));
    const ratio = cps('batched').median / cps('baseline').median;
    const p99 = spread(results.batched.map((x) => x.r.p99_ms)).median;
    console.log(`batched ${formatSpread(cps('batched'), 0)} chunks/s, baseline ${formatSpread(cps('baseline'), 0)}: ${ratio.toFixed(2)}× (target ≥ ${TARGET}×), p99 ${p99.toFixed(1)} ms`);
    return {
      chunks_per_s: cps('batched').median,
      baseline_chunks_per_s: cps('baseline').median,
      ratio,
      p99_ms: p99,
      baseline_p99_ms: spread(results.baseline.map((x) => x.r.p99_ms)).median,
      mean_batch_chunks: spread(results.batched.map((x) => x.meanBatch)).median,
      target: TARGET,
      spread: { chunks_per_s: cps('batched'), baseline_chunks_per_s: cps('baseline') },
      settings: MODES,
      sessions: SESSIONS,
      chunks: CHUNKS,
      rounds: ROUNDS,
    };
  } finally {
    await p.close();
  }
}
