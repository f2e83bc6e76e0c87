/**
 * The serving benchmarks' one load generator, in a worker thread so it never shares an event
 * loop with the server it measures (the gateway and the in-process limit run on the main
 * thread). Plain JS: a worker does not inherit the tsx loader.
 *
 * mode "http": `concurrency` closed-loop clients on one undici Pool (a socket each, no
 * pipelining), each sending `body` to `path` and reading the whole answer before the next;
 * after `warmupMs`, every answer within `durationMs` counts. A non-2xx answer counts as failed.
 * mode "sessions": `sessions` WebSocket clients, each creating a session over HTTP, then
 * sending `chunks` binary chunks one at a time (the next after the previous one's answer), then
 * EOF; latency is a chunk's send → answer.
 * Posts {count, failed, seconds, latencies: Float64Array, errors: [first few]}.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Pool } from 'undici';
import WebSocket from 'ws';

const now = () => performance.now();

async function http({ url, path, headers, body, concurrency, warmupMs, durationMs }) {
  const pool = new Pool(url, { connections: concurrency, pipelining: 1, keepAliveTimeout: 60_000 });
  const latencies = [];
  const errors = [];
  let failed = 0;
  const start = now();
  const measureFrom = start + warmupMs;
  const measureTo = measureFrom + durationMs;
  const client = async () => {
    while (now() < measureTo) {
      const t0 = now();
      let ok = false;
      try {
        const res = await pool.request({ method: 'POST', path, headers, body });
        const text = await res.body.text();
        ok = res.statusCode < 300;
        if (!ok && errors.length < 5) errors.push(`${res.statusCode} ${text.slice(0, 300)}`);
      } catch (err) {
        if (errors.length < 5) errors.push(String(err?.message ?? err));
      }
      const t1 = now();
      if (t0 >= measureFrom && t1 <= measureTo) {
        if (ok) latencies.push(t1 - t0);
        else failed += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  await pool.destroy();
  return { count: latencies.length, failed, seconds: durationMs / 1000, latencies: Float64Array.from(latencies), errors };
}

async function sessions({ url, deployment, sessions: n, chunks, chunkFloats }) {
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
    let sent = 0;
    let t0 = 0;
    const next = () => {
      if (sent === chunks) return ws.send('EOF');
      sent += 1;
      t0 = now();
      ws.send(chunk);
    };
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data));
      if (msg.event !== undefined) return;
      if (msg.error !== undefined) {
        failed += 1;
        if (errors.length < 5) errors.push(JSON.stringify(msg.error));
      } else latencies.push(now() - t0);
      next();
    });
    ws.on('close', resolve);
    next();
  })));
  const seconds = (now() - start) / 1000;
  await pool.destroy();
  return { count: latencies.length, failed, seconds, latencies: Float64Array.from(latencies), errors };
}

const result = await (workerData.mode === 'sessions' ? sessions(workerData) : http(workerData));
parentPort.postMessage(result);
