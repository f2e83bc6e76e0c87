/**
 * batching: the Lakeray gateway with dynamic batching on vs off, each at its own saturation.
 * Target: throughput ≥ 2× with p95 ≤ 1.3×.
 *
 * One `local` deployment of the MNIST CNN (one replica: 1 CPU, 1 onnxruntime thread), seed
 * 004's `{"image": [784]}` from the load generator (serving-load-worker.mjs, closed-loop clients).
 * - on: max_batch_size BENCH_BATCH (32), batch_timeout_ms the best of BENCH_BATCH_TIMEOUTS_MS
 *   (0, 1, 2: the one with the most req/s at its saturation, on the sweep), and
 *   close_batch_when_idle BENCH_CLOSE_WHEN_IDLE (1: an idle replica takes a batch at the
 *   event-loop turn's end instead of waiting on the timer; 0: the issue's plain rule).
 * - off: enable_dynamic_batching false (every request its own session.run), PATCHed on the same deployment.
 * Saturation: for each mode, concurrency is swept (BENCH_SWEEP, doubling, BENCH_SWEEP_SECONDS
 * each); its saturation is the knee: the first concurrency where the next step (twice the
 * clients) adds less than BENCH_KNEE (10 %) throughput. Past it more clients only queue, and
 * their wait (Little's law) would count against the mode's p95. Then ROUNDS rounds alternate the modes at their saturation; the
 * figures are medians over rounds: gain = req/s on ÷ off, p95_ratio = p95 on ÷ off.
 */
import { formatSpread, spread } from './lib/stats.ts';
import { CNN_ONNX, describeLoad, httpLoad, IMAGE_BODY, JSON_HEADERS, startServingPlatform, type LoadResult } from './serving-lib.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const SWEEP_SECONDS = Number(process.env.BENCH_SWEEP_SECONDS ?? 3);
const SWEEP = (process.env.BENCH_SWEEP ?? '1,2,4,8,16,32,64,128').split(',').map(Number);
const BATCH = Number(process.env.BENCH_BATCH ?? 32);
const BATCH_TIMEOUTS_MS = (process.env.BENCH_BATCH_TIMEOUTS_MS ?? '0,1,2').split(',').map(Number);
const KNEE = Number(process.env.BENCH_KNEE ?? 0.1);
const CLOSE_WHEN_IDLE = (process.env.BENCH_CLOSE_WHEN_IDLE ?? '1') !== '0';
const TARGETS = { gain: 2, p95_ratio: 1.3 };

/** The first point whose successor adds less than KNEE throughput (else the last). */
const knee = (curve: { concurrency: number; rps: number }[]): number =>
  (curve.find((x, i) => i === curve.length - 1 || curve[i + 1]!.rps < x.rps * (1 + KNEE)) ?? curve[curve.length - 1]!).concurrency;

// close_batch_when_idle has no effect with batching off (every request is its own batch at once); set false to say so.
const OFF = { enable_dynamic_batching: false, max_batch_size: BATCH, close_batch_when_idle: false } as const;
const on = (timeout: number) => ({ enable_dynamic_batching: true, max_batch_size: BATCH, batch_timeout_ms: timeout, close_batch_when_idle: CLOSE_WHEN_IDLE });
type Mode = 'on' | 'off';
type Curve = { concurrency: number; rps: number; p95_ms: number }[];

export async function run(): Promise<Record<string, unknown>> {
  const p = await startServingPlatform({ mnist: CNN_ONNX });
  try {
    await p.deploy({ name: 'mnist', model: 'mnist', resources: { cpu: 1 }, ...on(BATCH_TIMEOUTS_MS[0]!) });
    const measure = (concurrency: number, seconds: number) =>
      httpLoad({ url: p.server.url, path: p.predictPath('mnist'), headers: JSON_HEADERS, body: IMAGE_BODY, concurrency, warmupMs: 1000, durationMs: seconds * 1000 });
    const sweep = async (label: string, settings: Record<string, unknown>): Promise<Curve> => {
      await p.patch('mnist', settings);
      const curve: Curve = [];
      for (const c of SWEEP) {
        const r = await measure(c, SWEEP_SECONDS);
        console.log(`sweep ${label} concurrency ${c}: ${describeLoad(r)}`);
        curve.push({ concurrency: c, rps: r.rps, p95_ms: r.p95_ms });
      }
      return curve;
    };
    // Batching on gets its best batch timeout: the one with the most req/s at its own knee.
    const onCurves: Record<string, Curve> = {};
    for (const t of BATCH_TIMEOUTS_MS) onCurves[t] = await sweep(`on (timeout ${t} ms)`, on(t));
    const atKnee = (c: Curve) => c.find((x) => x.concurrency === knee(c))!;
    const best = BATCH_TIMEOUTS_MS.reduce((a, b) => (atKnee(onCurves[b]!).rps > atKnee(onCurves[a]!).rps ? b : a));
    const MODES: Record<Mode, Record<string, unknown>> = { on: on(best), off: OFF };
    const curves: Record<Mode, Curve> = { on: onCurves[best]!, off: await sweep('off', OFF) };
    const saturation: Record<Mode, number> = { on: knee(curves.on), off: knee(curves.off) };
    console.log(`best batch timeout ${best} ms; saturation: on at ${saturation.on} clients, off at ${saturation.off}`);
    const results: Record<Mode, LoadResult[]> = { on: [], off: [] };
    for (let round = 1; round <= ROUNDS; round++) {
      for (const mode of Object.keys(MODES) as Mode[]) {
        await p.patch('mnist', MODES[mode]);
        const r = await measure(saturation[mode], SECONDS);
        if (r.failed > 0) console.log(`  ${r.failed} failed: ${r.errors.join(' | ')}`);
        results[mode].push(r);
        console.log(`round ${round} ${mode} (${saturation[mode]} clients): ${describeLoad(r)}`);
      }
    }
    const rps = (m: Mode) => spread(results[m].map((r) => r.rps));
    const p95 = (m: Mode) => spread(results[m].map((r) => r.p95_ms));
    const gain = rps('on').median / rps('off').median;
    const p95Ratio = p95('on').median / p95('off').median;
    console.log(`on ${formatSpread(rps('on'), 0)} req/s, off ${formatSpread(rps('off'), 0)}: gain ${gain.toFixed(2)}× (target ≥ ${TARGETS.gain}×), p95 ratio ${p95Ratio.toFixed(2)} (target ≤ ${TARGETS.p95_ratio})`);
    return {
      gain,
      p95_ratio: p95Ratio,
      targets: TARGETS,
      on: { concurrency: saturation.on, rps: rps('on'), p95_ms: p95('on'), settings: MODES.on },
      off: { concurrency: saturation.off, rps: rps('off'), p95_ms: p95('off'), settings: MODES.off },
      failed: results.on.concat(results.off).reduce((a, r) => a + r.failed, 0),
      sweep: { on: curves.on, off: curves.off, on_by_timeout_ms: onCurves },
      knee: KNEE,
      rounds: ROUNDS,
      seconds_per_side: SECONDS,
    };
  } finally {
    await p.close();
  }
}
