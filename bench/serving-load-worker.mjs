/**
 * The serving benchmarks' one load generator, in a worker thread so it never shares an event
 * loop with the server it measures (the gateway and the in-process limit run on the main
 * thread). Plain JS: a worker does not inherit the tsx loader.
 *
 * mode "http": `concurrency` closed-loop clients on one undici Pool (a socket each, no
 * pipelining), each sending `body` to `path` and reading the whole answer before the next;
 * after `warmupMs`, every answer within `durationMs` counts. A non-2xx answer counts as failed.
 * mode "sessions": `sessions` WebSocket clients, each creating a session over HTTP, then
 * sending `chunks` binary chunks with up to `window` of them unanswered (1: the next after the
 * previous one's answer; `chunks`: the whole input at once, as a stream), then EOF once all are
 * answered; latency is a chunk's send → its answer (answers come in order per session).
 * mode "open": open loop at a fixed arrival rate: first up to 64 requests at once open the
 * sockets (not counted), then requests are scheduled `rate` per second
 * (Poisson arrivals, or constant inter-arrival with `arrivals: "constant"`) whatever the answers
 * do, each sent at its time on a Pool of up to `connections` sockets (more in flight queue in
 * the Pool, as they would at a busy server). Latency runs from the request's scheduled time, so
 * a server that falls behind is charged its backlog (no coordinated omission). Requests
 * scheduled within the window count; after it, `drainMs` is waited for their answers, and one
 * still unanswered counts as failed. Also posts `offered` (requests scheduled in the window)
 * and the p95 of each half of the window (`p95_first_ms`, `p95_second_ms`: a backlog grows
 * the second), and `answered_in_window`: answers that arrived within the window, whenever sent
 * (the throughput the server kept up), and the requests outstanding at the window's start and
 * end (`backlog_start`, `backlog_end`: a server that cannot keep up ends with more), and
 * `send_lag_ms` {p50, p95, p99, max}: how late after its scheduled time each counted request was
 * sent (the generator's own timer and event-loop lag: charged to the server's latency, since
 * latency runs from the scheduled time, yet the server had not seen the request). `settleMs`
 * (default 0: the window opens right after the warm-up) lets the window open up to that much
 * later, at the first tick with at most 50 ms of arrivals (or 4) outstanding: a start-up
 * transient is left out of the window, while a backlog that never clears still opens it behind
 * (`start_wait_ms`: how much later it opened).
 * Posts {count, failed, seconds, latencies: Float64Array, errors: [first few]}.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Pool } from 'undici';
import WebSocket from 'ws';

const now = () => performance.now();

/**
 * The pool a run uses. In the persistent generator (`persistent` in workerData) the last run's pool
 * is kept for the next run with the same origin and socket count, if nothing of the last run is
 * still in flight: its sockets stay open and the code that drives them stays compiled, so a
 * window does not start on cold sockets and a cold JIT (a fresh worker per run did, in both modes).
 */
let kept = null;
function poolFor(url, connections) {
  const key = `${url}|${connections}`;
  if (kept !== null && kept.key === key && kept.pending() === 0) return kept;
  if (kept !== null) void kept.pool.destroy().catch(() => {});
  kept = { key, pool: new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 60_000 }), pending: () => 0 };
  return kept;
}
async function release(entry) {
  if (!workerData.persistent) await entry.pool.destroy().catch(() => {});
}

/** One POST, its whole answer read; true when 2xx, else the first few failures go to `errors`. */
async function post(pool, path, headers, body, errors) {
  try {
    const res = await pool.request({ method: 'POST', path, headers, body });
    const text = await res.body.text();
    if (res.statusCode < 300) return true;
    if (errors.length < 5) errors.push(`${res.statusCode} ${text.slice(0, 300)}`);
  } catch (err) {
    if (errors.length < 5) errors.push(String(err?.message ?? err));
  }
  return false;
}

async function http({ url, path, headers, body, concurrency, warmupMs, durationMs }) {
  const entry = poolFor(url, concurrency);
  const pool = entry.pool;
  const latencies = [];
  const errors = [];
  let failed = 0;
  const start = now();
  const measureFrom = start + warmupMs;
  const measureTo = measureFrom + durationMs;
  const client = async () => {
    while (now() < measureTo) {
      const t0 = now();
      const ok = await post(pool, path, headers, body, errors);
      const t1 = now();
      if (t0 >= measureFrom && t1 <= measureTo) {
        if (ok) latencies.push(t1 - t0);
        else failed += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  await release(entry);
  return { count: latencies.length, failed, seconds: durationMs / 1000, latencies: Float64Array.from(latencies), errors };
}

/** Sockets the open mode opens (one request each, at once) before its schedule starts. */
const PREWARM_SOCKETS = 64;

/** The q-quantile (nearest rank) of `xs`, NaN when empty. */
const quantile = (xs, q) => {
  if (xs.length === 0) return NaN;
  const sorted = Float64Array.from(xs).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * q) - 1))];
};
const p95Of = (xs) => quantile(xs, 0.95);

async function open({ url, path, headers, body, rate, arrivals, connections, warmupMs, durationMs, drainMs, settleMs = 0 }) {
  const entry = poolFor(url, connections);
  const pool = entry.pool;
  const first = [];
  const second = [];
  const errors = [];
  let failed = 0;
  let offered = 0;
  let pending = 0;
  entry.pending = () => pending;
  let answeredInWindow = 0;
  let closed = false;
  /** ms from each counted request's scheduled time to its send (the generator's own lag, not the server's). */
  const lateness = [];
  // Open the sockets the rate needs before its clock starts: otherwise the first arrivals wait on
  // connection set-up (client and server both), and the window starts behind a backlog that the
  // warm-up made, not the rate (seen: 1,700 requests behind at 4,800/s, in both modes).
  const warm = Math.min(connections, PREWARM_SOCKETS);
  await Promise.all(Array.from({ length: warm }, () => post(pool, path, headers, body, [])));
  const start = now();
  // With settleMs, the window opens at the first tick after the warm-up with no more than 50 ms of
  // arrivals (or 4) outstanding, or settleMs after the warm-up at the latest; until then it is unset.
  let measureFrom = settleMs > 0 ? Infinity : start + warmupMs;
  let measureTo = measureFrom + durationMs;
  let half = measureFrom + durationMs / 2;
  const gap = () => (arrivals === 'constant' ? 1000 / rate : -Math.log(1 - Math.random()) * (1000 / rate));
  const send = async (at) => {
    const counted = at >= measureFrom && at < measureTo;
    if (counted) {
      offered += 1;
      lateness.push(now() - at);
    }
    pending += 1;
    const ok = await post(pool, path, headers, body, errors);
    pending -= 1;
    const t = now();
    if (ok && t >= measureFrom && t <= measureTo) answeredInWindow += 1;
    if (!counted || closed) return;
    if (ok) (at < half ? first : second).push(t - at);
    else failed += 1;
  };
  // Every tick sends what is due by now; a timer of 0 ms lets answers in between ticks.
  let next = start;
  let backlogStart = null;
  await new Promise((resolve) => {
    const tick = () => {
      const t = now();
      if (measureFrom === Infinity && t >= start + warmupMs && (pending <= Math.max(4, 0.05 * rate) || t >= start + warmupMs + settleMs)) {
        measureFrom = t;
        measureTo = t + durationMs;
        half = t + durationMs / 2;
      }
      if (backlogStart === null && t >= measureFrom) backlogStart = pending;
      while (next <= t && next < measureTo) {
        void send(next);
        next += gap();
      }
      if (next >= measureTo) resolve();
      else setTimeout(tick, Math.max(0, Math.min(1, next - now())));
    };
    tick();
  });
  while (now() < measureTo) await new Promise((r) => setTimeout(r, Math.max(0, measureTo - now())));
  const backlogEnd = pending;
  const drainUntil = now() + drainMs;
  while (pending > 0 && now() < drainUntil) await new Promise((r) => setTimeout(r, 5));
  const late = offered - first.length - second.length - failed;
  if (late > 0 && errors.length < 5) errors.push(`${late} unanswered ${drainMs} ms after the window`);
  failed += late;
  closed = true;
  const latencies = first.concat(second);
  const result = {
    count: latencies.length, failed, seconds: durationMs / 1000, latencies: Float64Array.from(latencies), errors,
    offered, answered_in_window: answeredInWindow, backlog_start: backlogStart ?? 0, backlog_end: backlogEnd, p95_first_ms: p95Of(first), p95_second_ms: p95Of(second),
    start_wait_ms: measureFrom - (start + warmupMs),
    send_lag_ms: { p50: quantile(lateness, 0.5), p95: quantile(lateness, 0.95), p99: quantile(lateness, 0.99), max: lateness.reduce((a, b) => Math.max(a, b), 0) },
  };
  await release(entry);
  return result;
}

async function sessions({ url, deployment, sessions: n, chunks, chunkFloats, window = 1 }) {
  const pool = new Pool(url, { connections: 16 });
  const latencies = [];
  const errors = [];
  let failed = 0;
  const chunk = Buffer.from(Float32Array.from({ length: chunkFloats }, (_, i) => (i % 7) / 7).buffer);
  const create = async () => {
    const res = await pool.request({ method: 'POST', path: `/api/v1/deployments/${deployment}/sessions`, headers: { 'content-type': 'application/json' }, body: '{"client_id":"bench"}' });
    const text = await res.body.text();
    if (res.statusCode !== 201) throw new Error(`session create ${res.statusCode}: ${text}`);
    return JSON.parse(text).session_id;
  };
  const ids = await Promise.all(Array.from({ length: n }, create));
  const sockets = await Promise.all(ids.map((id) => new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/api/v1/deployments/${deployment}/sessions/${id}/stream`);
    ws.once('open', () => resolve(ws)).once('error', reject);
  })));
  const start = now();
  await Promise.all(sockets.map((ws) => new Promise((resolve) => {
    // Up to `window` chunks in flight: 1 waits for each answer (lock-step); chunks (or more) streams the whole input at once.
    const sentAt = new Float64Array(chunks);
    let sent = 0;
    let answered = 0;
    const next = () => {
      if (sent === chunks) {
        if (answered === chunks) ws.send('EOF');
        return;
      }
      sentAt[sent] = now();
      sent += 1;
      ws.send(chunk);
    };
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data));
      if (msg.event !== undefined) return;
      if (msg.error !== undefined) {
        failed += 1;
        if (errors.length < 5) errors.push(JSON.stringify(msg.error));
      } else latencies.push(now() - sentAt[answered]);
      answered += 1;
      next();
    });
    ws.on('close', resolve);
    for (let i = 0; i < Math.min(window, chunks); i++) next();
    if (chunks === 0) ws.send('EOF');
  })));
  const seconds = (now() - start) / 1000;
  await pool.destroy();
  return { count: latencies.length, failed, seconds, latencies: Float64Array.from(latencies), errors };
}

const modes = { http, open, sessions };
if (workerData.persistent) {
  // One generator for a whole bench: each message is a run ({id, mode, …}), answered in turn.
  let queue = Promise.resolve();
  parentPort.on('message', (msg) => {
    queue = queue.then(async () => {
      try {
        parentPort.postMessage({ id: msg.id, result: await modes[msg.mode](msg) });
      } catch (err) {
        parentPort.postMessage({ id: msg.id, error: String(err?.stack ?? err) });
      }
    });
  });
} else {
  parentPort.postMessage(await modes[workerData.mode](workerData));
}
