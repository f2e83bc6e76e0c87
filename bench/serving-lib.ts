/**
 * What the serving benchmarks share: the load generator (serving-load-worker.mjs, a worker
 * thread), a Lakeray platform with the MNIST CNN and the GRU in its lake, deployments on it,
 * one image as seed 004's request body, and the summary every side reports.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { startPlatform, type BenchPlatform } from './lib/platform.ts';
import { summarize, type Summary } from './lib/stats.ts';

const ROOT = join(import.meta.dirname, '..');
export const FIXTURES = join(ROOT, 'test/fixtures/serving');
/** The CNN served: BENCH_SERVE_ONNX (e.g. the trained examples/mnist model) else the fixture, the same architecture. */
export const CNN_ONNX = process.env.BENCH_SERVE_ONNX ?? join(FIXTURES, 'mnist_cnn.onnx');
export const GRU_ONNX = join(FIXTURES, 'gru_rows.onnx');
/** What onnxruntime runs with on every side: one intra-op thread per process. */
export const SESSION_OPTIONS = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' } as const;

export const IMAGE = Array.from({ length: 784 }, (_, i) => ((i * 31) % 97) / 96);
/** Seed 004's request, the same bytes for the gateway, FastAPI and the in-process limit. */
export const IMAGE_BODY = JSON.stringify({ image: IMAGE });
export const JSON_HEADERS = { 'content-type': 'application/json' };
/** The binary request a throughput client sends: the same image as raw float32 (little-endian) with its shape. */
export const RAW_IMAGE_BODY = Buffer.from(Float32Array.from(IMAGE).buffer);
export const RAW_HEADERS = { 'content-type': 'application/octet-stream', 'x-lakeray-shape': '1,1,28,28' };

export interface HttpLoad {
  url: string;
  path: string;
  headers: Record<string, string>;
  body: string | Buffer;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
}

export interface LoadResult extends Summary {
  rps: number;
  failed: number;
  errors: string[];
}

interface WorkerAnswer {
  count: number;
  failed: number;
  seconds: number;
  latencies: Float64Array;
  errors: string[];
}

export interface OpenLoad {
  url: string;
  path: string;
  headers: Record<string, string>;
  body: string | Buffer;
  /** Requests scheduled per second. */
  rate: number;
  arrivals: 'poisson' | 'constant';
  /** Sockets the load generator may open; requests beyond wait in its pool. */
  connections: number;
  warmupMs: number;
  durationMs: number;
  /** How long answers to the window's requests are waited for after it. */
  drainMs: number;
  /** Up to this much longer warm-up, until the backlog is gone (serving-load-worker.mjs); default 0. */
  settleMs?: number;
}

export interface OpenResult extends LoadResult {
  rate: number;
  /** Requests scheduled within the window. */
  offered: number;
  /** `offered` ÷ the window's length: Poisson arrivals stray from `rate` (±2 √n), so the window is judged by what it held. */
  offered_rps: number;
  /** Answers that arrived within the window ÷ its length. */
  answered_rps: number;
  /** Requests outstanding when the window starts and when it ends. */
  backlog_start: number;
  backlog_end: number;
  p95_first_ms: number;
  p95_second_ms: number;
  /** How much later than the warm-up's end the window opened (`settleMs`). */
  start_wait_ms: number;
  /** How late after its scheduled time the generator sent each request (its own lag, in every latency). */
  send_lag_ms: { p50: number; p95: number; p99: number; max: number };
}

/**
 * The load generator: one worker thread kept for the whole bench process (its runs in turn), so
 * every window of every mode meets the same warm generator: compiled code, open sockets.
 * BENCH_GENERATOR=fresh starts a new worker per run instead (the rule until session 17; each
 * window then began on a cold JIT and cold sockets, and often behind a backlog of its own making).
 */
const WORKER_URL = new URL('./serving-load-worker.mjs', import.meta.url);
let generator: { worker: Worker; next: number; waiting: Map<number, { resolve(a: WorkerAnswer): void; reject(e: Error): void }> } | null = null;

function persistentGenerator() {
  if (generator !== null) return generator;
  const worker = new Worker(WORKER_URL, { workerData: { persistent: true } });
  worker.unref();
  const g = { worker, next: 0, waiting: new Map<number, { resolve(a: WorkerAnswer): void; reject(e: Error): void }>() };
  const failAll = (err: Error) => {
    for (const w of g.waiting.values()) w.reject(err);
    g.waiting.clear();
    generator = null;
  };
  worker.on('message', (msg: { id: number; result?: WorkerAnswer; error?: string }) => {
    const w = g.waiting.get(msg.id);
    g.waiting.delete(msg.id);
    if (msg.error !== undefined) w?.reject(new Error(`the load generator failed: ${msg.error}`));
    else w?.resolve(msg.result!);
  });
  worker.once('error', failAll);
  worker.once('exit', (code) => failAll(new Error(`the load generator exited (${code}) without an answer`)));
  generator = g;
  return g;
}

const inWorker = (data: Record<string, unknown>): Promise<WorkerAnswer> => {
  if (process.env.BENCH_GENERATOR === 'fresh') {
    return new Promise((resolve, reject) => {
      const w = new Worker(WORKER_URL, { workerData: data });
      w.once('message', resolve);
      w.once('error', reject);
      w.once('exit', (code) => reject(new Error(`the load generator exited (${code}) without an answer`)));
    });
  }
  const g = persistentGenerator();
  const id = g.next++;
  return new Promise((resolve, reject) => {
    g.waiting.set(id, { resolve, reject });
    g.worker.postMessage({ id, ...data });
  });
};

const resultOf = (a: WorkerAnswer): LoadResult => ({ ...summarize(Array.from(a.latencies)), rps: a.count / a.seconds, failed: a.failed, errors: a.errors });

export const httpLoad = async (load: HttpLoad): Promise<LoadResult> => resultOf(await inWorker({ mode: 'http', ...load }));

/** One open-loop run (serving-load-worker.mjs mode "open"): latency from each request's scheduled time. */
export const openLoad = async (load: OpenLoad): Promise<OpenResult> => {
  const a = (await inWorker({ mode: 'open', ...load })) as WorkerAnswer & { offered: number; answered_in_window: number; backlog_start: number; backlog_end: number; p95_first_ms: number; p95_second_ms: number; start_wait_ms: number; send_lag_ms: OpenResult['send_lag_ms'] };
  return {
    ...resultOf(a), rate: load.rate, offered: a.offered, offered_rps: a.offered / a.seconds, answered_rps: a.answered_in_window / a.seconds,
    backlog_start: a.backlog_start, backlog_end: a.backlog_end, p95_first_ms: a.p95_first_ms, p95_second_ms: a.p95_second_ms, start_wait_ms: a.start_wait_ms, send_lag_ms: a.send_lag_ms,
  };
};

export const sessionLoad = async (load: { url: string; deployment: string; sessions: number; chunks: number; chunkFloats: number; window?: number }): Promise<LoadResult> =>
  resultOf(await inWorker({ mode: 'sessions', ...load }));

/** "1234 req/s, p50 3.1 ms, p99 9.0 ms". */
export const describeLoad = (r: LoadResult): string =>
  `${r.rps.toFixed(0)} req/s, p50 ${r.p50_ms.toFixed(2)} ms, p95 ${r.p95_ms.toFixed(2)} ms, p99 ${r.p99_ms.toFixed(2)} ms${r.failed ? `, ${r.failed} failed (${r.errors[0]})` : ''}`;

export interface ServingPlatform extends BenchPlatform {
  deploy(spec: Record<string, unknown>): Promise<void>;
  patch(name: string, body: Record<string, unknown>): Promise<void>;
  remove(name: string): Promise<void>;
  predictPath(name: string): string;
  /**
   * Waits until the deployment has nothing queued or in flight (or `timeoutMs` passed): the
   * requests of a window whose clients gave up (an overloaded open-loop step) stay queued until
   * their deadline (request_timeout_ms) and would otherwise run during the next window.
   * Says what was left when it was called and how long it took to clear.
   */
  quiesce(name: string, timeoutMs?: number): Promise<{ queued: number; in_flight_rows: number; waited_ms: number }>;
}

/** A Lakeray server on the local executor (2 CPUs: the replicas' cores) with `models` ({name: onnx path}) in its lake. */
export async function startServingPlatform(models: Record<string, string>): Promise<ServingPlatform> {
  const p = await startPlatform({ executors: { local: { cpu: 2, kill_grace_ms: 1500 } } });
  const { createLakeClient } = await import(pathToFileURL(join(ROOT, 'runtimes/node/lake.mjs')).href);
  const lake = createLakeClient({ apiUrl: p.server.url });
  for (const [name, file] of Object.entries(models)) await lake.writeModel({ name, files: { 'model.onnx': readFileSync(file) } });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${p.server.url}${path}`, { method, headers: JSON_HEADERS, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${text}`);
    return text === '' ? null : JSON.parse(text);
  };
  /** Ready with as many ready replicas as its spec's min. */
  const settled = async (name: string) => {
    const until = Date.now() + 180_000;
    for (;;) {
      const d = await call('GET', `/api/v1/deployments/${name}`);
      const ready = (d.replica_status as { state: string }[]).filter((r) => r.state === 'ready').length;
      if (d.status === 'ready' && ready === d.replicas.min) return;
      if (d.status === 'failed') throw new Error(`deployment ${name} failed: ${JSON.stringify(d)}`);
      if (Date.now() > until) throw new Error(`deployment ${name} not ready in 180 s: ${JSON.stringify(d)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  return {
    ...p,
    async deploy(spec) {
      await call('POST', '/api/v1/deployments', spec);
      await settled(String(spec.name));
    },
    async patch(name, body) {
      await call('PATCH', `/api/v1/deployments/${name}`, body);
      await settled(name);
    },
    async remove(name) {
      await call('DELETE', `/api/v1/deployments/${name}`);
    },
    predictPath: (name) => `/api/v1/deployments/${name}/predict`,
    async quiesce(name, timeoutMs = 30_000) {
      const started = Date.now();
      const load = async () => (await call('GET', `/api/v1/deployments/${name}/stats`)) as { queue_depth: number; in_flight_rows: number };
      const first = await load();
      for (let now = first; now.queue_depth > 0 || now.in_flight_rows > 0; now = await load()) {
        if (Date.now() - started > timeoutMs) throw new Error(`deployment ${name} still busy after ${timeoutMs} ms: ${JSON.stringify(now)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return { queued: first.queue_depth, in_flight_rows: first.in_flight_rows, waited_ms: Date.now() - started };
    },
  };
}
