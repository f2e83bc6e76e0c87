/**
 * Where the gateway's time goes per JSON predict: the `serve` bench's best config (1 replica,
 * max_batch_size 64, batch_timeout_ms 2) driven by its load generator (serving-load-worker.mjs,
 * 64 clients, seed 004's `{"image": [784]}`), with a CPU profile of the server's main thread
 * (node:inspector) over the measured window. The replica is its own process: not profiled here.
 *
 *   node --max-semi-space-size=64 --import tsx bench/micro/serve-profile.ts
 *
 * PROFILE_SIDE=limit profiles the `serve` bench's limit (serving-limit.ts) instead, the same way.
 * Knobs: PROFILE_INSPECT=0 (no profile: CPU per thread and req/s only), PROFILE_SECONDS (8), PROFILE_BODY (json | binary), PROFILE_OUT (a .cpuprofile path to
 * keep; default none), PROFILE_TOP (30 functions printed by self time). Prints req/s, the load
 * average before and after, the top self-time functions with their share of the profile, and
 * the share of samples per area (by source file). Shares are more trustworthy than req/s on a
 * shared machine.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import ort from 'onnxruntime-node';
import { startLimitServer } from '../serving-limit.ts';
import { CNN_ONNX, SESSION_OPTIONS, describeLoad, httpLoad, IMAGE_BODY, JSON_HEADERS, RAW_HEADERS, RAW_IMAGE_BODY, startServingPlatform } from '../serving-lib.ts';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

const SECONDS = Number(process.env.PROFILE_SECONDS ?? 8);
const BINARY = process.env.PROFILE_BODY === 'binary';
/** PROFILE_INSPECT=0: CPU per thread and req/s only, no profiler (its thread costs ~15 % of the server's CPU). */
const INSPECT = process.env.PROFILE_INSPECT !== '0';
const TOP = Number(process.env.PROFILE_TOP ?? 30);

const short = (url: string): string => {
  const i = url.indexOf('node_modules/');
  if (i >= 0) return url.slice(i + 'node_modules/'.length);
  const s = url.indexOf('/src/');
  return s >= 0 ? url.slice(s + 1) : url.replace(/^.*\//, '') || '(native)';
};

/** Area of a source file: the package under node_modules, else the folder under src/. */
const area = (url: string): string => {
  if (url === '') return '(native/gc/idle)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  const s = /\/src\/(.*)\/[^/]+$/.exec(url);
  if (s) return `src/${s[1]}`;
  if (url.startsWith('node:')) return url;
  return short(url);
};

/** CPU seconds (user + system) of each thread of this process (by name) and of each descendant process (by command). */
function cpuTimes(): Map<string, number> {
  const tick = 100; // USER_HZ
  const times = new Map<string, number>();
  const add = (k: string, v: number) => times.set(k, (times.get(k) ?? 0) + v);
  const statOf = (path: string) => {
    const text = readFileSync(path, 'utf8');
    const close = text.lastIndexOf(')');
    const fields = text.slice(close + 2).split(' ');
    return { comm: text.slice(text.indexOf('(') + 1, close), ppid: Number(fields[1]), cpu: (Number(fields[11]) + Number(fields[12])) / tick };
  };
  for (const tid of readdirSync('/proc/self/task')) {
    const st = statOf(`/proc/self/task/${tid}/stat`);
    add(tid === String(process.pid) ? 'server main thread' : `server thread ${st.comm}`, st.cpu);
  }
  const parents = new Map<number, number>();
  const procs = new Map<number, { comm: string; cpu: number }>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const st = statOf(`/proc/${pid}/stat`);
      parents.set(Number(pid), st.ppid);
      procs.set(Number(pid), st);
    } catch {
      // gone
    }
  }
  const descends = (pid: number): boolean => {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) if (p === process.pid) return true;
    return false;
  };
  for (const [pid, st] of procs) if (descends(pid)) add(`child ${st.comm}`, st.cpu);
  return times;
}

const LIMIT = process.env.PROFILE_SIDE === 'limit';
const p = LIMIT ? null : await startServingPlatform({ mnist: CNN_ONNX });
const session = LIMIT ? await ort.InferenceSession.create(readFileSync(CNN_ONNX), SESSION_OPTIONS) : null;
const limit = session ? await startLimitServer(session, 64) : null;
try {
  await p?.deploy({ name: 'mnist', model: 'mnist', replicas: { min: 1, max: 1 }, max_batch_size: 64, batch_timeout_ms: 2, resources: { cpu: 1 } });
  const load = { url: limit?.url ?? p!.server.url, path: limit ? '/' : p!.predictPath('mnist'), headers: BINARY ? RAW_HEADERS : JSON_HEADERS, body: BINARY ? RAW_IMAGE_BODY : IMAGE_BODY, concurrency: 64 };
  console.log(`warm: ${describeLoad(await httpLoad({ ...load, warmupMs: 500, durationMs: 2000 }))}`);
  const before = os.loadavg()[0]!.toFixed(2);
  const session = INSPECT ? new Session() : null;
  session?.connect();
  await session?.post('Profiler.enable');
  await session?.post('Profiler.setSamplingInterval', { interval: 200 });
  await session?.post('Profiler.start');
  const cpu0 = cpuTimes();
  const r = await httpLoad({ ...load, warmupMs: 0, durationMs: SECONDS * 1000 });
  const cpu1 = cpuTimes();
  const stopped = (await session?.post('Profiler.stop')) as unknown as { profile: { nodes: Node[]; samples: number[] } } | undefined;
  session?.disconnect();
  console.log(`${BINARY ? 'binary' : 'JSON'}: ${describeLoad(r)}; load ${before} → ${os.loadavg()[0]!.toFixed(2)}`);
  console.log('-- CPU µs per request (the load generator is a server thread too)');
  for (const [k, v] of cpu1) {
    const d = v - (cpu0.get(k) ?? 0);
    if (d > 0.05) console.log(`${((d * 1e6) / (r.rps * SECONDS)).toFixed(1).padStart(7)}  ${k}`);
  }
  if (p) {
    const stats = (await (await fetch(`${p.server.url}/api/v1/deployments/mnist/stats`)).json()) as { mean_batch_size: number; batches_total: number; batch_size_histogram: Record<string, number> };
    console.log(`batches: mean size ${stats.mean_batch_size}, ${stats.batches_total} in all, by size ${JSON.stringify(stats.batch_size_histogram)}`);
  }
  if (stopped !== undefined) report(stopped.profile, r.rps);
} finally {
  await limit?.close();
  await session?.release();
  await p?.close();
}

/** The profile's shares: by area (package or src folder) and the top functions by self time. */
function report(profile: { nodes: Node[]; samples: number[] }, rps: number): void {
  if (process.env.PROFILE_OUT) writeFileSync(process.env.PROFILE_OUT, JSON.stringify(profile));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const id of profile.samples) {
    const n = byId.get(id)!;
    total++;
    if (n.callFrame.functionName === '(idle)') idle++;
    const key = `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + 1);
    const a = n.callFrame.functionName === '(idle)' ? '(idle)' : area(n.callFrame.url);
    areas.set(a, (areas.get(a) ?? 0) + 1);
  }
  const pct = (x: number) => `${((100 * x) / total).toFixed(1)}%`;
  console.log(`samples ${total}, idle ${pct(idle)}; busy µs per request ≈ ${(((total - idle) / total) * SECONDS * 1e6 / (rps * SECONDS)).toFixed(1)}`);
  console.log('-- by area');
  for (const [k, v] of [...areas].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${pct(v).padStart(6)}  ${k}`);
  console.log('-- top self time');
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${pct(v).padStart(6)}  ${k}`);
}
