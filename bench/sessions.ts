/**
 * sessions: 64 concurrent streaming sessions of the GRU (test/fixtures/serving/gru_rows.onnx:
 * one 28-pixel row per chunk, state h0 ← hn kept by the gateway between chunks), 28 chunks
 * each, with cross-session batching vs the same sessions without it. Target: ≥ 3× chunks/s.
 *
 * One `local` deployment (one replica: 1 CPU, 1 onnxruntime thread), state [{h0 ← hn}]. Each
 * side: the load generator (serving-load-worker.mjs, mode "sessions") creates SESSIONS sessions
 * (POST …/sessions), opens each one's WebSocket stream, and every session sends its CHUNKS binary
 * chunks (28 float32), then EOF once every answer is in. chunks/s = all chunks ÷ the time from
 * the first send to the last answer; p99 of a chunk's send → answer. Two readings, same run:
 * - streaming (the top-level keys): a session sends its chunks as a stream, without waiting for
 *   answers (seed 003's client: `ws.send(audio)`, answers arrive on `onmessage`); up to
 *   BENCH_WINDOW (default CHUNKS: the whole input) in flight per session. The gateway still
 *   runs one chunk per session at a time, in order, its state carried.
 * - lockstep (`lockstep` in the JSON): each chunk is sent when the previous one's answer
 *   arrived (1 in flight per session), so a batch holds only the chunks that arrive within its
 *   timeout: the stricter reading, kept beside it.
 * Modes, on the same deployment:
 * - batched: max_batch_size 64, batch_timeout_ms BENCH_BATCH_TIMEOUT_MS (1), close_batch_when_idle
 *   BENCH_CLOSE_WHEN_IDLE (0: the issue's plain rule): chunks of different sessions share session.run calls.
 *   The round's mean batch (chunks per session.run, from the deployment's stats) says how full
 *   the batches were.
 * - baseline: the same deployment PATCHed to enable_dynamic_batching false (one chunk per run).
 * ROUNDS rounds (a round is ~0.1–0.5 s a side, so 15 by default) alternate readings and modes;
 * figures are medians over rounds, with their spread.
 */
import { formatSpread, spread } from './lib/stats.ts';
import { describeLoad, GRU_ONNX, sessionLoad, startServingPlatform, type LoadResult } from './serving-lib.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 64);
const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 28);
const WINDOW = Number(process.env.BENCH_WINDOW ?? CHUNKS);
const BATCH_TIMEOUT_MS = Number(process.env.BENCH_BATCH_TIMEOUT_MS ?? 1);
const CLOSE_WHEN_IDLE = (process.env.BENCH_CLOSE_WHEN_IDLE ?? '0') !== '0';
const TARGET = 3;

const MODES = {
  batched: { enable_dynamic_batching: true, max_batch_size: 64, batch_timeout_ms: BATCH_TIMEOUT_MS, close_batch_when_idle: CLOSE_WHEN_IDLE },
  baseline: { enable_dynamic_batching: false, max_batch_size: 64, batch_timeout_ms: BATCH_TIMEOUT_MS, close_batch_when_idle: false },
} as const;
type Mode = keyof typeof MODES;
const READINGS = { streaming: WINDOW, lockstep: 1 } as const;
type Reading = keyof typeof READINGS;
type Round = { r: LoadResult; chunksPerS: number; meanBatch: number };

/** The deployment's batches and rows so far (its stats), to tell how full a round's batches were. */
async function batchCounts(url: string): Promise<{ batches: number; rows: number }> {
  const res = await fetch(`${url}/api/v1/deployments/gru/stats`);
  const s = (await res.json()) as { batches_total: number; mean_batch_size: number };
  return { batches: s.batches_total, rows: s.batches_total * s.mean_batch_size };
}

/** One reading's figures: medians over rounds, the ratio of the medians, the spreads. */
function summarize(results: Record<Mode, Round[]>, window: number) {
  const cps = (m: Mode) => spread(results[m].map((x) => x.chunksPerS));
  const p99 = (m: Mode) => spread(results[m].map((x) => x.r.p99_ms)).median;
  return {
    chunks_per_s: cps('batched').median,
    baseline_chunks_per_s: cps('baseline').median,
    ratio: cps('batched').median / cps('baseline').median,
    p99_ms: p99('batched'),
    baseline_p99_ms: p99('baseline'),
    mean_batch_chunks: spread(results.batched.map((x) => x.meanBatch)).median,
    window,
    spread: { chunks_per_s: cps('batched'), baseline_chunks_per_s: cps('baseline') },
  };
}

export async function run(): Promise<Record<string, unknown>> {
  const p = await startServingPlatform({ gru: GRU_ONNX });
  try {
    await p.deploy({ name: 'gru', model: 'gru', resources: { cpu: 1 }, state: [{ input: 'h0', output: 'hn' }], ...MODES.batched });
    const results = {
      streaming: { batched: [], baseline: [] },
      lockstep: { batched: [], baseline: [] },
    } as Record<Reading, Record<Mode, Round[]>>;
    for (let round = 1; round <= ROUNDS; round++) {
      for (const reading of Object.keys(READINGS) as Reading[]) {
        for (const mode of Object.keys(MODES) as Mode[]) {
          await p.patch('gru', MODES[mode]);
          const before = await batchCounts(p.server.url);
          const r = await sessionLoad({ url: p.server.url, deployment: 'gru', sessions: SESSIONS, chunks: CHUNKS, chunkFloats: 28, window: READINGS[reading] });
          if (r.failed > 0 || r.n !== SESSIONS * CHUNKS) throw new Error(`${reading} ${mode}: ${r.n} of ${SESSIONS * CHUNKS} chunks answered, ${r.failed} failed: ${r.errors.join(' | ')}`);
          const after = await batchCounts(p.server.url);
          const meanBatch = (after.rows - before.rows) / Math.max(1, after.batches - before.batches);
          results[reading][mode].push({ r, chunksPerS: r.rps, meanBatch }); // rps: every chunk over first send → last answer
          console.log(`round ${round} ${reading} ${mode}: ${r.rps.toFixed(0)} chunks/s, mean batch ${meanBatch.toFixed(1)} chunks; ${describeLoad(r)}`);
        }
      }
    }
    const streaming = summarize(results.streaming, WINDOW);
    const lockstep = summarize(results.lockstep, 1);
    for (const [name, s] of [['streaming', streaming], ['lockstep', lockstep]] as const) {
      console.log(`${name}: batched ${formatSpread(s.spread.chunks_per_s, 0)} chunks/s, baseline ${formatSpread(s.spread.baseline_chunks_per_s, 0)}: ${s.ratio.toFixed(2)}× (target ≥ ${TARGET}×), p99 ${s.p99_ms.toFixed(1)} ms, mean batch ${s.mean_batch_chunks.toFixed(1)}`);
    }
    return { ...streaming, lockstep, target: TARGET, settings: MODES, sessions: SESSIONS, chunks: CHUNKS, rounds: ROUNDS };
  } finally {
    await p.close();
  }
}
