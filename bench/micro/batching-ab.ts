/**
 * Batching on vs off at the SAME fixed Poisson rates, with a per-request timeline of where the
 * time goes (issue 13's `batching` p95; session 15). The batching bench compares each mode at its
 * own saturation; this asks the simpler question: at one rate, is batching's tail worse, and in
 * which layer?
 *
 *   node --import tsx bench/micro/batching-ab.ts
 *
 * One `local` MNIST CNN deployment (1 replica, 1 CPU), seed 004's JSON image, the open-loop load
 * generator of the serving benches (bench/serving-load-worker.mjs, latency from each request's
 * scheduled time). Per round (MICRO_ROUNDS, 3), per rate (MICRO_RATES, 1000,1500,2000), the modes
 * (MICRO_MODES, on,off) back to back, their order reversed every other round, MICRO_SECONDS (8)
 * each after MICRO_WARMUP_MS (1000) and up to MICRO_SETTLE_MS (0) more until no backlog is left
 * (serving-load-worker.mjs `settleMs`), each window once the deployment has nothing queued or in
 * flight (MICRO_QUIESCE=0: at once). on = max_batch_size 32, batch_timeout_ms MICRO_TIMEOUT_MS
 * (0), close_batch_when_idle MICRO_CLOSE_WHEN_IDLE (1); off = enable_dynamic_batching false.
 * Experiments (set here, in this process, not in the product):
 * - on2: on with 2 batches in flight per replica instead of the local backend's 1 (the next batch
 *   waits in the replica's socket while one runs);
 * - onD: on with each batch's frame written at the end of the event-loop turn (setImmediate);
 * - onB / offB: on / off with the replica process under SCHED_BATCH (`chrt -b`), which does not
 *   preempt the thread whose socket write wakes it (the others reset it to SCHED_OTHER).
 *
 * The timeline (this process only; the gateway's code is wrapped here, not changed):
 * - http: the server's `request` event → the response's `finish` (HTTP parse, route, gateway, reply);
 * - gateway: `submit` → the request settled (queue + replica + fan-out);
 * - queue: submit → its batch launched; replica: launched → the replica's answer back (frame out,
 *   session.run, frame back); fanout: the answer back → this request settled (the batch's split
 *   and the requests settled before it in the same turn);
 * - client: the load generator's figure (from the scheduled send time), the outermost layer;
 * - send_lag: the generator's own lag from a request's scheduled time to its send (in `client`).
 * Plus the main thread's event-loop delay (monitorEventLoopDelay, 1 ms resolution), GC pauses
 * (count, total and max ms), batch sizes, the replica round trip by batch size, CPU µs per
 * request of the main thread, the busiest other thread (the generator's worker), the rest and
 * the replica process (/proc), the main thread's involuntary context switches (preemptions) per
 * request and per batch, the sustainability criteria of bench/batching.ts each window misses,
 * and the load average. Each layer's p50/p95/p99 per
 * window, medians over rounds at the end. A layer whose p95 grows with batching on while the
 * layers inside it do not is where the tail comes from. Preliminary on a shared machine.
 * The last output line is one JSON object with every number.
 */
import http from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import { Gateway } from '../../src/serving/gateway.ts';
import { Flights } from '../../src/serving/gateway/flights.ts';
import { ReplicaClient } from '../../src/serving/local/replica-client.ts';
import { unsustained } from '../batching.ts';
import { percentile, spread } from '../lib/stats.ts';
import { CNN_ONNX, IMAGE_BODY, JSON_HEADERS, openLoad, startServingPlatform } from '../serving-lib.ts';

const RATES = (process.env.MICRO_RATES ?? '1000,1500,2000').split(',').map(Number);
const SECONDS = Number(process.env.MICRO_SECONDS ?? 8);
const ROUNDS = Number(process.env.MICRO_ROUNDS ?? 3);
const TIMEOUT_MS = Number(process.env.MICRO_TIMEOUT_MS ?? 0);
const CLOSE_WHEN_IDLE = (process.env.MICRO_CLOSE_WHEN_IDLE ?? '1') !== '0';
const WARMUP_MS = Number(process.env.MICRO_WARMUP_MS ?? 1000);
/** Up to this much longer warm-up, until the backlog is gone (serving-load-worker.mjs `settleMs`). */
const SETTLE_MS = Number(process.env.MICRO_SETTLE_MS ?? 0);

type Mode = 'on' | 'off' | 'on2' | 'onD' | 'onB' | 'offB';
const ON = { enable_dynamic_batching: true, max_batch_size: 32, batch_timeout_ms: TIMEOUT_MS, close_batch_when_idle: CLOSE_WHEN_IDLE };
const MODES: Record<Mode, Record<string, unknown>> = {
  on: ON,
  off: { enable_dynamic_batching: false, max_batch_size: 32, close_batch_when_idle: false },
  // The experiment "pipeline the next batch while one runs": on, with 2 batches in flight per replica.
  on2: ON,
  // Experiments on the gateway's socket write to the replica (see the header): deferred; the replica not preempting.
  onD: ON,
  onB: ON,
  offB: { enable_dynamic_batching: false, max_batch_size: 32, close_batch_when_idle: false },
};
/** Batches in flight per replica, per mode (the local backend says 1; `on2` overrides it here, in this process only). */
const IN_FLIGHT: Record<Mode, number> = { on: 1, off: 1, on2: 2, onD: 1, onB: 1, offB: 1 };
/** `onD`: each batch's frame is written to the replica at the end of the event-loop turn (setImmediate), after this turn's replies. */
let deferWrite = false;
const infer = ReplicaClient.prototype.infer;
ReplicaClient.prototype.infer = function (this: ReplicaClient, inputs, signal) {
  if (!deferWrite) return infer.call(this, inputs, signal);
  return new Promise<void>((resolve) => setImmediate(resolve)).then(() => infer.call(this, inputs, signal));
};
/** `onB`/`offB`: the replica process under SCHED_BATCH (chrt -b), which does not preempt the thread that wakes it. */
const setReplicaPolicy = (policy: '-b' | '-o') => {
  for (const pid of childPids('harness')) execFileSync('chrt', ['-a', policy, '-p', '0', pid]);
};
const RUN_MODES = (process.env.MICRO_MODES ?? 'on,off').split(',') as Mode[];
let inFlight = 1;

/** Samples (ms) per layer for the window being measured; `recording` false outside it. */
const LAYERS = ['http', 'gateway', 'queue', 'replica', 'fanout'] as const;
type Layer = (typeof LAYERS)[number];
let recording = false;
let samples: Record<Layer, number[]> = fresh();
let batchRows: number[] = [];
/** Replica round trip (ms) per batch, by its rows' power-of-two bucket (1, 2, 4, …, 32). */
let byRows = new Map<number, number[]>();
let gc = { count: 0, total: 0, max: 0 };
function fresh(): Record<Layer, number[]> {
  return { http: [], gateway: [], queue: [], replica: [], fanout: [] };
}

// http: request event → response finish.
const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function (this: http.Server, event: string, ...args: unknown[]) {
  if (event === 'request' && recording) {
    const t0 = performance.now();
    (args[1] as http.ServerResponse).once('finish', () => recording && samples.http.push(performance.now() - t0));
  }
  return emit.call(this, event, ...args) as boolean;
} as typeof emit;

// gateway phases, keyed by the gateway's queue entry.
interface Marks { submit: number; launch?: number; result?: number }
const marks = new WeakMap<object, Marks>();
const G = Gateway.prototype as unknown as Record<string, (...a: unknown[]) => unknown> & { queue?: unknown[] };
const F = Flights.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
const wrap = (proto: Record<string, (...a: unknown[]) => unknown>, name: string, before: (self: any, args: unknown[]) => void, after?: (self: any, args: unknown[]) => void) => {
  const original = proto[name]!;
  proto[name] = function (this: unknown, ...args: unknown[]) {
    before(this, args);
    const out = original.apply(this, args);
    after?.(this, args);
    return out;
  };
};
let submitAt = 0;
wrap(G, 'submit', (self: { maxConcurrent: number; slots: { deps: { maxConcurrent: number } } }) => {
  submitAt = performance.now();
  self.maxConcurrent = inFlight;
  self.slots.deps.maxConcurrent = inFlight;
}, (self: { queue: object[] }) => {
  const e = self.queue[self.queue.length - 1];
  if (e !== undefined && !marks.has(e)) marks.set(e, { submit: submitAt });
});
/** Batches launched so far (every one, warm-up included: per-batch rates divide by it). */
let launches = 0;
wrap(F, 'launch', (_self, [f]) => {
  launches += 1;
  const t = performance.now();
  const flight = f as { slices: { entry: object }[] };
  if (recording) batchRows.push(flight.slices.length);
  for (const s of flight.slices) {
    const m = marks.get(s.entry);
    if (m !== undefined && m.launch === undefined) m.launch = t;
  }
});
wrap(F, 'answered', (_self, [f]) => {
  const t = performance.now();
  const flight = f as { slices: { entry: object }[]; rows: number };
  let launched: number | undefined;
  for (const s of flight.slices) {
    const m = marks.get(s.entry);
    if (m !== undefined) {
      m.result = t;
      launched ??= m.launch;
    }
  }
  if (recording && launched !== undefined) {
    const bucket = 2 ** Math.ceil(Math.log2(flight.rows));
    byRows.set(bucket, [...(byRows.get(bucket) ?? []), t - launched]);
  }
});
wrap(G, 'settle', (_self, [e]) => {
  const m = marks.get(e as object);
  if (m === undefined || !recording || (e as { settled: boolean }).settled) return;
  const t = performance.now();
  samples.gateway.push(t - m.submit);
  if (m.launch !== undefined) samples.queue.push(m.launch - m.submit);
  if (m.launch !== undefined && m.result !== undefined) samples.replica.push(m.result - m.launch);
  if (m.result !== undefined) samples.fanout.push(t - m.result);
});

new PerformanceObserver((list) => {
  if (!recording) return;
  for (const e of list.getEntries()) {
    gc.count += 1;
    gc.total += e.duration;
    gc.max = Math.max(gc.max, e.duration);
  }
}).observe({ entryTypes: ['gc'] });

/**
 * CPU time (ms) per thread of this process (by tid) and of the replica processes (all their
 * threads together), from /proc: what each side spends per request, whatever the wall clock did.
 */
function cpu(): Map<string, number> {
  const ms = (stat: string) => {
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10; // utime + stime, in ticks of 10 ms (CLK_TCK 100)
  };
  const out = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) out.set(tid === String(process.pid) ? 'main' : `t${tid}`, ms(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')));
  for (const pid of childPids('harness')) out.set('replica', (out.get('replica') ?? 0) + ms(readFileSync(`/proc/${pid}/stat`, 'utf8')));
  return out;
}

/** Child processes of this one whose command line holds `word` (the replica: the local executor's task harness, runtimes/node/harness.mjs). */
function childPids(word: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] === String(process.pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(word)) out.push(pid);
    } catch {
      // a process that ended meanwhile
    }
  }
  return out;
}

/** The main thread's context switches so far: voluntary (it waited: epoll) and involuntary (preempted, e.g. by a thread its socket write woke). */
function switches(): { voluntary: number; involuntary: number } {
  const status = readFileSync(`/proc/self/task/${process.pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
  return { voluntary: field('voluntary_ctxt_switches'), involuntary: field('nonvoluntary_ctxt_switches') };
}

/** µs of CPU per answered request: the main thread, the busiest other thread (the load generator's worker), the rest of this process, the replica. */
function cpuPerRequest(before: Map<string, number>, after: Map<string, number>, requests: number): Record<'main' | 'worker' | 'other' | 'replica', number> {
  const d = (k: string) => (after.get(k) ?? 0) - (before.get(k) ?? 0);
  const threads = [...after.keys()].filter((k) => k.startsWith('t')).map(d).sort((a, b) => b - a);
  const per = (x: number) => (1000 * x) / Math.max(1, requests);
  return { main: per(d('main')), worker: per(threads[0] ?? 0), other: per(threads.slice(1).reduce((a, b) => a + b, 0)), replica: per(d('replica')) };
}

const pct = (xs: number[]) => ({ p50: percentile(xs, 50), p95: percentile(xs, 95), p99: percentile(xs, 99) });
const f2 = (x: number) => x.toFixed(2);

interface Window {
  round: number; rate: number; mode: Mode; loadavg: number;
  client: ReturnType<typeof pct> & { answered_rps: number; failed: number; backlog_end: number };
  /** The generator's send lag (scheduled → sent), part of every client latency. */
  send_lag: { p50: number; p95: number; p99: number; max: number };
  /** The batching bench's sustainability criteria this window misses (none: sustained). */
  unsustained: string[];
  layers: Record<Layer, ReturnType<typeof pct>>;
  loop_delay: { p99: number; max: number };
  gc: typeof gc;
  batch: { mean: number; p95: number; max: number; batches: number };
  /** The main thread's involuntary context switches (preemptions) per request and per batch sent to the replica. */
  preempted: { per_request: number; per_batch: number };
  /** µs of CPU per request (the whole run, warm-up and drain included). */
  cpu_us: ReturnType<typeof cpuPerRequest>;
  /** Per rows bucket: batches, and the replica round trip's p50 and p95 (ms). */
  replica_by_rows: Record<string, { n: number; p50: number; p95: number }>;
}

const p = await startServingPlatform({ mnist: CNN_ONNX });
const windows: Window[] = [];
try {
  await p.deploy({ name: 'mnist', model: 'mnist', resources: { cpu: 1 }, ...MODES.on });
  console.log(`loadavg at start ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; rates ${RATES.join(', ')}; ${SECONDS} s windows; ${ROUNDS} rounds; on: timeout ${TIMEOUT_MS} ms, close when idle ${CLOSE_WHEN_IDLE}`);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const rate of RATES) {
      const order: Mode[] = round % 2 === 1 ? RUN_MODES : [...RUN_MODES].reverse();
      for (const mode of order) {
        await p.patch('mnist', MODES[mode]);
        inFlight = IN_FLIGHT[mode];
        deferWrite = mode === 'onD';
        setReplicaPolicy(mode === 'onB' || mode === 'offB' ? '-b' : '-o');
        // MICRO_QUIESCE=0 starts the window at once, with whatever the previous one left queued.
        const left = process.env.MICRO_QUIESCE === '0' ? null : await p.quiesce('mnist');
        const loop = monitorEventLoopDelay({ resolution: 1 });
        samples = fresh();
        batchRows = [];
        byRows = new Map();
        gc = { count: 0, total: 0, max: 0 };
        const cpuBefore = cpu();
        const switchesBefore = switches();
        const launchesBefore = launches;
        const started = openLoad({ url: p.server.url, path: p.predictPath('mnist'), headers: JSON_HEADERS, body: IMAGE_BODY, rate, arrivals: 'poisson', connections: 256, warmupMs: WARMUP_MS, durationMs: SECONDS * 1000, drainMs: 3000, settleMs: SETTLE_MS });
        // Server-side layers over (about) the client's window: from its warm-up's end.
        const on = setTimeout(() => { recording = true; loop.enable(); }, WARMUP_MS + 200);
        const r = await started;
        clearTimeout(on);
        const requests = r.offered * (1 + WARMUP_MS / (SECONDS * 1000)) + 64;
        const cpuUs = cpuPerRequest(cpuBefore, cpu(), requests);
        const preemptions = switches().involuntary - switchesBefore.involuntary;
        const batches = launches - launchesBefore;
        recording = false;
        loop.disable();
        const w: Window = {
          round, rate, mode, loadavg: os.loadavg()[0]!,
          client: { p50: r.p50_ms, p95: r.p95_ms, p99: r.p99_ms, answered_rps: r.answered_rps, failed: r.failed, backlog_end: r.backlog_end },
          send_lag: r.send_lag_ms,
          unsustained: unsustained(r),
          layers: Object.fromEntries(LAYERS.map((l) => [l, pct(samples[l])])) as Window['layers'],
          loop_delay: { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
          gc: { ...gc },
          cpu_us: cpuUs,
          preempted: { per_request: preemptions / requests, per_batch: preemptions / Math.max(1, batches) },
          replica_by_rows: Object.fromEntries([...byRows].sort((a, b) => a[0] - b[0]).map(([k, v]) => [k, { n: v.length, p50: percentile(v, 50), p95: percentile(v, 95) }])),
          batch: { mean: batchRows.reduce((a, b) => a + b, 0) / Math.max(1, batchRows.length), p95: percentile(batchRows, 95), max: Math.max(0, ...batchRows), batches: batchRows.length },
        };
        windows.push(w);
        const layer = (l: Layer) => `${l} ${f2(w.layers[l].p50)}/${f2(w.layers[l].p95)}/${f2(w.layers[l].p99)}`;
        console.log(`round ${round} ${rate}/s ${mode.padEnd(3)}: client p50/p95/p99 ${f2(r.p50_ms)}/${f2(r.p95_ms)}/${f2(r.p99_ms)} ms, p95 by half ${f2(r.p95_first_ms)}/${f2(r.p95_second_ms)}${r.start_wait_ms > 0 ? `, opened ${r.start_wait_ms.toFixed(0)} ms late` : ''} (${left === null ? 'not quiesced' : `left by the previous window: ${left.queued} queued, cleared in ${left.waited_ms} ms`}; answered ${r.answered_rps.toFixed(0)}/s, ${r.failed} failed${w.unsustained.length > 0 ? `; not sustained: ${w.unsustained.join(', ')}` : ''}); send lag ${f2(r.send_lag_ms.p50)}/${f2(r.send_lag_ms.p95)}/${f2(r.send_lag_ms.p99)}; ${LAYERS.map(layer).join('; ')}; loop delay p99 ${f2(w.loop_delay.p99)} max ${f2(w.loop_delay.max)}; gc ${gc.count}× ${f2(gc.total)} ms (max ${f2(gc.max)}); batch mean ${w.batch.mean.toFixed(1)} p95 ${w.batch.p95} max ${w.batch.max}; replica by rows ${Object.entries(w.replica_by_rows).map(([k, v]) => `≤${k}: ${v.n}× ${f2(v.p50)}/${f2(v.p95)}`).join(', ')}; main thread preempted ${w.preempted.per_request.toFixed(2)}×/request, ${w.preempted.per_batch.toFixed(2)}×/batch; cpu µs/request main ${cpuUs.main.toFixed(0)} worker ${cpuUs.worker.toFixed(0)} other ${cpuUs.other.toFixed(0)} replica ${cpuUs.replica.toFixed(0)}; load ${w.loadavg.toFixed(2)}`);
      }
    }
  }
} finally {
  await p.close();
}
const summary: Record<string, unknown> = {};
for (const rate of RATES) {
  for (const mode of RUN_MODES) {
    const ws = windows.filter((w) => w.rate === rate && w.mode === mode);
    const med = (f: (w: Window) => number) => spread(ws.map(f)).median;
    const sustained = `${ws.filter((w) => w.unsustained.length === 0).length} of ${ws.length}`;
    summary[`${rate}_${mode}`] = {
      sustained,
      client: { p50: med((w) => w.client.p50), p95: med((w) => w.client.p95), p99: med((w) => w.client.p99) },
      send_lag: { p50: med((w) => w.send_lag.p50), p95: med((w) => w.send_lag.p95), p99: med((w) => w.send_lag.p99) },
      ...Object.fromEntries(LAYERS.map((l) => [l, { p50: med((w) => w.layers[l].p50), p95: med((w) => w.layers[l].p95), p99: med((w) => w.layers[l].p99) }])),
      cpu_us: { main: med((w) => w.cpu_us.main), worker: med((w) => w.cpu_us.worker), other: med((w) => w.cpu_us.other), replica: med((w) => w.cpu_us.replica) },
      loop_delay_p99: med((w) => w.loop_delay.p99), gc_max: med((w) => w.gc.max), batch_mean: med((w) => w.batch.mean),
    };
    const s = summary[`${rate}_${mode}`] as Record<string, { p50: number; p95: number; p99: number }>;
    console.log(`median ${rate}/s ${mode}: sustained ${sustained}; ${['client', 'send_lag', ...LAYERS].map((l) => `${l} ${f2(s[l]!.p50)}/${f2(s[l]!.p95)}/${f2(s[l]!.p99)}`).join('; ')}; cpu µs/request ${JSON.stringify(s.cpu_us, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v) : v))}`);
  }
}
console.log(`loadavg at end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(JSON.stringify({ summary, windows }));
