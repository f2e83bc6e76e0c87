/**
 * serve: the MNIST CNN (ONNX, from the lake) answering single-image HTTP requests from 64
 * concurrent clients, four servers in the same run on this machine. Targets: ≥ 10× FastAPI,
 * ≥ 5× Ray Serve; the ratio to the limit is reported.
 *
 * One load generator for every side (serving-load-worker.mjs in a worker thread: 64 closed-loop
 * clients on one undici Pool, one socket each), the same clock. Each side, its best config
 * picked by a short sweep at concurrency 64 (BENCH_SWEEP_SECONDS each), then ROUNDS rounds
 * interleaving the sides (this machine's speed drifts); figures are medians over rounds.
 *
 * - Lakeray (`value`): the gateway, `local` backend, POST /api/v1/deployments/mnist/predict with
 *   seed 004's `{"image": [784]}`; replicas are service tasks running onnxruntime-node (1 CPU,
 *   1 intra-op thread each). Swept: replicas × max_batch_size × batch_timeout_ms (BENCH_SERVE_SWEEP).
 * - limit: raw onnxruntime-node batched in one process (serving-limit.ts): a bare node:http
 *   server on the bench's main thread, the same JSON request, everything queued run as one
 *   session.run (≤ 64 images) whenever the session is idle; 1 intra-op thread.
 * - fastapi: seed 004's examples/mnist/mnist_serve.py app (per-request torch, sync endpoint on
 *   Starlette's thread pool) under uvicorn, the same JSON request; swept: 1 or 2 uvicorn
 *   workers, 1 torch thread each (serving_fastapi.py).
 * - ray_serve: runtimes/serving/ray_serve_app.py (@serve.batch over onnxruntime, 1 CPU and 1
 *   thread per replica) on a Ray head of its own (2 CPUs), posted to Serve's HTTP proxy
 *   directly with its native binary tensor frame (no JSON to parse: cheaper than the others'
 *   request); swept: replicas × max_batch_size, batch_wait_timeout 5 ms. BENCH_SERVE_RAY=0 skips it.
 * - lakeray_binary, limit_binary: the same two servers, the same clients and image, sent as a
 *   throughput client sends it: raw float32 (application/octet-stream, X-Lakeray-Shape 1,1,28,28),
 *   answered with the raw float32 logits. The gateway keeps the config the JSON sweep picked.
 *   FastAPI has no binary format (seed 004's app takes JSON only), so it keeps its JSON request.
 * All four stay up during the rounds (Ray's head processes use some CPU throughout).
 */
import { readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';
import { encodeFrame as encodeRayFrame } from '../src/serving/ray/frame.ts';
import { formatSpread, spread } from './lib/stats.ts';
import { startFastApi, startRayServe, type RayServeSide, type Served } from './serving-baselines.ts';
import { startLimitServer } from './serving-limit.ts';
import { CNN_ONNX, describeLoad, httpLoad, IMAGE, IMAGE_BODY, JSON_HEADERS, RAW_HEADERS, RAW_IMAGE_BODY, SESSION_OPTIONS, startServingPlatform, type LoadResult } from './serving-lib.ts';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const SWEEP_SECONDS = Number(process.env.BENCH_SWEEP_SECONDS ?? 4);
const WITH_RAY = process.env.BENCH_SERVE_RAY !== '0';
const TARGETS = { fastapi: 10, ray_serve: 5 };
/** replicas:max_batch_size:batch_timeout_ms, comma-separated. */
const GATEWAY_SWEEP = (process.env.BENCH_SERVE_SWEEP ?? '1:32:0,1:32:1,1:64:2,2:32:0,2:32:1').split(',').map((s) => {
  const [replicas, batch, timeout] = s.split(':').map(Number) as [number, number, number];
  return { replicas, max_batch_size: batch, batch_timeout_ms: timeout };
});
const FASTAPI_WORKERS = (process.env.BENCH_FASTAPI_WORKERS ?? '1,2').split(',').map(Number);
/** replicas:max_batch_size */
const RAY_SWEEP = (process.env.BENCH_RAY_SWEEP ?? '1:32,2:32').split(',').map((s) => s.split(':').map(Number) as [number, number]);

interface Side {
  name: string;
  url: string;
  path: string;
  headers: Record<string, string>;
  body: string | Buffer;
}

const measure = (s: Side, seconds: number): Promise<LoadResult> =>
  httpLoad({ url: s.url, path: s.path, headers: s.headers, body: s.body, concurrency: CONCURRENCY, warmupMs: 1000, durationMs: seconds * 1000 });

/** The config with the most requests per second (sweep: each applied, then measured briefly). */
async function best<C>(what: string, configs: C[], apply: (c: C) => Promise<Side>): Promise<{ config: C; side: Side }> {
  let top: { config: C; side: Side; rps: number } | null = null;
  for (const config of configs) {
    const side = await apply(config);
    const r = await measure(side, SWEEP_SECONDS);
    console.log(`sweep ${what} ${JSON.stringify(config)}: ${describeLoad(r)}`);
    if (r.failed === 0 && (top === null || r.rps > top.rps)) top = { config, side, rps: r.rps };
  }
  if (top === null) throw new Error(`${what}: every config had failed requests`);
  return top;
}

export async function run(): Promise<Record<string, unknown>> {
  const p = await startServingPlatform({ mnist: CNN_ONNX });
  const session = await ort.InferenceSession.create(readFileSync(CNN_ONNX), SESSION_OPTIONS);
  const limit = await startLimitServer(session, 64);
  let fastapi = null as Served | null;
  let ray = null as RayServeSide | null;
  try {
    const json = { headers: JSON_HEADERS, body: IMAGE_BODY };
    // Lakeray: one deployment, PATCHed through the sweep, then set to the best config.
    const first = GATEWAY_SWEEP[0]!;
    await p.deploy({ name: 'mnist', model: 'mnist', replicas: { min: first.replicas, max: first.replicas }, max_batch_size: first.max_batch_size, batch_timeout_ms: first.batch_timeout_ms, resources: { cpu: 1 } });
    const applyGateway = async (c: (typeof GATEWAY_SWEEP)[number]): Promise<Side> => {
      await p.patch('mnist', { replicas: { min: c.replicas, max: c.replicas }, max_batch_size: c.max_batch_size, batch_timeout_ms: c.batch_timeout_ms });
      return { name: 'lakeray', url: p.server.url, path: p.predictPath('mnist'), ...json };
    };
    const gw = await best('lakeray', GATEWAY_SWEEP, applyGateway);
    await applyGateway(gw.config);

    let fastapiWorkers = 0;
    const applyFastApi = async (workers: number): Promise<Side> => {
      if (fastapiWorkers !== workers) {
        await fastapi?.close();
        fastapi = await startFastApi(workers);
        fastapiWorkers = workers;
      }
      return { name: 'fastapi', url: fastapi!.url, path: fastapi!.path, ...json };
    };
    const fa = await best('fastapi', FASTAPI_WORKERS, applyFastApi);
    fa.side = await applyFastApi(fa.config);

    const binary = { headers: RAW_HEADERS, body: RAW_IMAGE_BODY };
    const sides: Side[] = [
      gw.side,
      { ...gw.side, name: 'lakeray_binary', ...binary },
      { name: 'limit', url: limit.url, path: '/', ...json },
      { name: 'limit_binary', url: limit.url, path: '/', ...binary },
      fa.side,
    ];
    let rayConfig: [number, number] | null = null;
    if (WITH_RAY) {
      ray = await startRayServe(p.server.url, 'mnist', 1);
      const frame = encodeRayFrame({ input: { dtype: 'float32', shape: [1, 1, 28, 28], data: Float32Array.from(IMAGE) } });
      const applyRay = async ([replicas, batch]: [number, number]): Promise<Side> => {
        await ray!.configure(replicas, batch, 5);
        return { name: 'ray_serve', url: ray!.url, path: ray!.path, headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from(frame) };
      };
      const rs = await best('ray_serve', RAY_SWEEP, applyRay);
      rayConfig = rs.config;
      sides.push(await applyRay(rs.config));
    }

    const results = new Map<string, LoadResult[]>(sides.map((s) => [s.name, []]));
    for (let round = 1; round <= ROUNDS; round++) {
      for (const s of sides) {
        const r = await measure(s, SECONDS);
        if (r.failed > 0) console.log(`  ${s.name}: ${r.failed} failed: ${r.errors.join(' | ')}`);
        results.get(s.name)!.push(r);
        console.log(`round ${round} ${s.name}: ${describeLoad(r)}`);
      }
    }
    const rps = (name: string) => spread(results.get(name)?.map((r) => r.rps) ?? []);
    const value = rps('lakeray');
    const lim = rps('limit');
    const fast = rps('fastapi');
    const rayRps = WITH_RAY ? rps('ray_serve') : null;
    const valueBinary = rps('lakeray_binary');
    const limBinary = rps('limit_binary');
    const lat = (k: 'p50_ms' | 'p99_ms', side = 'lakeray') => spread(results.get(side)!.map((r) => r[k])).median;
    const summary = {
      value: value.median,
      limit: lim.median,
      fastapi: fast.median,
      ray_serve: rayRps?.median ?? null,
      ratio_fastapi: value.median / fast.median,
      ratio_ray_serve: rayRps ? value.median / rayRps.median : null,
      ratio_limit: value.median / lim.median,
      p50_ms: lat('p50_ms'),
      p99_ms: lat('p99_ms'),
      value_binary: valueBinary.median,
      limit_binary: limBinary.median,
      ratio_fastapi_binary: valueBinary.median / fast.median,
      ratio_ray_serve_binary: rayRps ? valueBinary.median / rayRps.median : null,
      ratio_limit_binary: valueBinary.median / limBinary.median,
      p50_ms_binary: lat('p50_ms', 'lakeray_binary'),
      p99_ms_binary: lat('p99_ms', 'lakeray_binary'),
      requests: {
        lakeray: 'seed 004 JSON {"image": [784]}',
        lakeray_binary: 'raw float32 (application/octet-stream, X-Lakeray-Shape 1,1,28,28), raw float32 logits back',
        limit: 'seed 004 JSON {"image": [784]}',
        limit_binary: 'raw float32, 784 × 4 bytes, raw float32 logits back',
        fastapi: 'seed 004 JSON {"image": [784]} (its only format)',
        ray_serve: "Lakeray's Ray Serve binary tensor frame",
      },
      targets: TARGETS,
      spread: { value, value_binary: valueBinary, limit: lim, limit_binary: limBinary, fastapi: fast, ray_serve: rayRps },
      latency_ms: Object.fromEntries([...results].map(([n, rs]) => [n, { p50: spread(rs.map((r) => r.p50_ms)).median, p99: spread(rs.map((r) => r.p99_ms)).median }])),
      failed: Object.fromEntries([...results].map(([n, rs]) => [n, rs.reduce((a, r) => a + r.failed, 0)])),
      configs: { lakeray: gw.config, fastapi_workers: fa.config, ray_serve: rayConfig && { replicas: rayConfig[0], max_batch_size: rayConfig[1], batch_wait_ms: 5 }, limit_max_batch: 64 },
      concurrency: CONCURRENCY,
      rounds: ROUNDS,
      seconds_per_side: SECONDS,
    };
    console.log(`lakeray ${formatSpread(value, 0)} req/s (binary ${formatSpread(valueBinary, 0)}); limit ${formatSpread(lim, 0)} (binary ${formatSpread(limBinary, 0)}); fastapi ${formatSpread(fast, 0)}; ray_serve ${rayRps ? formatSpread(rayRps, 0) : 'skipped'}`);
    console.log(`ratios (JSON): ${summary.ratio_fastapi.toFixed(2)}× FastAPI (target ${TARGETS.fastapi}×), ${summary.ratio_ray_serve?.toFixed(2) ?? '-'}× Ray Serve (target ${TARGETS.ray_serve}×), ${summary.ratio_limit.toFixed(2)} of the limit`);
    console.log(`ratios (binary): ${summary.ratio_fastapi_binary.toFixed(2)}× FastAPI's JSON, ${summary.ratio_ray_serve_binary?.toFixed(2) ?? '-'}× Ray Serve, ${summary.ratio_limit_binary.toFixed(2)} of the binary limit`);
    return summary;
  } finally {
    await ray?.close();
    await fastapi?.close();
    await limit.close();
    await session.release();
    await p.close();
  }
}
