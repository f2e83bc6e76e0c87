/**
 * overhead: one client, one image at a time. The gateway's p50 (seed 004's JSON request →
 * HTTP → gateway → the replica's frame channel → onnxruntime-node in the replica process →
 * back) minus the p50 of session.run on the same image in this process. Target: ≤ 1 ms.
 *
 * - Lakeray: the MNIST CNN from the lake, one local replica (1 CPU, 1 onnxruntime thread),
 *   batching off (max_batch_size 1, batch_timeout_ms 0); the load generator (a worker thread,
 *   serving-load-worker.mjs) posts `{"image": [784]}` with one client. Also measured: the same
 *   image as raw float32 (application/octet-stream, X-Lakeray-Shape), the cheapest format.
 * - In-process: onnxruntime-node in this process (1 intra-op thread), session.run on a
 *   [1, 1, 28, 28] tensor, one after another, timed around the call.
 * Rounds interleave both sides; the figure is the median over rounds of (gateway p50 − session.run p50).
 */
import { readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';
import { formatSpread, median, spread } from './lib/stats.ts';
import { CNN_ONNX, describeLoad, httpLoad, IMAGE, IMAGE_BODY, JSON_HEADERS, RAW_HEADERS, RAW_IMAGE_BODY, SESSION_OPTIONS, startServingPlatform } from './serving-lib.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const TARGET_MS = 1;

async function inProcessP50(session: ort.InferenceSession, ms: number): Promise<number> {
  const data = Float32Array.from(IMAGE);
  const times: number[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const t0 = performance.now();
    await session.run({ input: new ort.Tensor('float32', data, [1, 1, 28, 28]) });
    times.push(performance.now() - t0);
  }
  return median(times);
}

export async function run(): Promise<Record<string, unknown>> {
  const p = await startServingPlatform({ mnist: CNN_ONNX });
  const session = await ort.InferenceSession.create(readFileSync(CNN_ONNX), SESSION_OPTIONS);
  try {
    await p.deploy({ name: 'mnist', model: 'mnist', max_batch_size: 1, batch_timeout_ms: 0, resources: { cpu: 1 } });
    const load = { url: p.server.url, path: p.predictPath('mnist'), concurrency: 1, warmupMs: 1000, durationMs: SECONDS * 1000 };
    const json: number[] = [], raw: number[] = [], local: number[] = [], jsonOver: number[] = [], rawOver: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const l = await inProcessP50(session, SECONDS * 1000);
      const j = await httpLoad({ ...load, headers: JSON_HEADERS, body: IMAGE_BODY });
      const r = await httpLoad({ ...load, headers: RAW_HEADERS, body: RAW_IMAGE_BODY });
      if (j.failed || r.failed) throw new Error(`failed requests: ${j.errors[0] ?? r.errors[0]}`);
      local.push(l); json.push(j.p50_ms); raw.push(r.p50_ms); jsonOver.push(j.p50_ms - l); rawOver.push(r.p50_ms - l);
      console.log(`round ${round}: session.run p50 ${l.toFixed(3)} ms; gateway JSON ${describeLoad(j)}; raw ${describeLoad(r)}`);
    }
    const over = spread(jsonOver);
    console.log(`overhead p50 (JSON image) ${formatSpread(over, 3)} ms, raw float32 ${formatSpread(spread(rawOver), 3)} ms; target ≤ ${TARGET_MS} ms`);
    return {
      overhead_p50_ms: over.median,
      overhead_p50_ms_spread: over,
      overhead_p50_ms_raw: median(rawOver),
      gateway_p50_ms: median(json),
      gateway_raw_p50_ms: median(raw),
      in_process_p50_ms: median(local),
      target_ms: TARGET_MS,
      rounds: ROUNDS,
      seconds_per_side: SECONDS,
    };
  } finally {
    await session.release();
    await p.close();
  }
}
