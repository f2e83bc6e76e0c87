/**
 * kill -9 of a serving replica under load (issue 13, must hold): requests in flight on it are
 * retried on another replica or answered 503 with Retry-After; none hangs; the deployment
 * replaces the replica. A real server, two real onnxruntime-node replica processes, 16
 * clients that never stop during the kill.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { startServer, type RunningServer } from '../../src/main.ts';
import { api, tempDir } from '../helpers/server-process.ts';
import { until } from '../helpers/until.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/serving');
let server: RunningServer;

beforeAll(async () => {
  const dir = tempDir('lakeray-serve-kill-');
  const config = parseConfig(
    { state_dir: join(dir, 'state'), script_roots: [dir], data_roots: [dir], lake: { root: join(dir, 'lake') }, executors: { local: { cpu: 4, kill_grace_ms: 1500 } } },
    dir,
    {},
  );
  server = await startServer({ config, port: 0, logLevel: 'silent' });
  const { createLakeClient } = await import(pathToFileURL(join(import.meta.dirname, '../../runtimes/node/lake.mjs')).href);
  await createLakeClient({ apiUrl: server.url }).writeModel({ name: 'cnn', files: { 'model.onnx': readFileSync(join(FIXTURES, 'mnist_cnn.onnx')) }, params: {} });
}, 90_000);

afterAll(async () => {
  await server?.close();
}, 60_000);

const body = JSON.stringify({ image: Array.from({ length: 784 }, (_, i) => (i % 7) / 7) });

it('kill -9 of a replica under load: every request answered 200 or 503 with Retry-After, none hangs, the replica is replaced', async () => {
  const created = await api(server.url, 'POST', '/api/v1/deployments', { name: 'k', model: 'cnn', replicas: { min: 2, max: 2 }, max_batch_size: 8, batch_timeout_ms: 2, request_timeout_ms: 5000 });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const ready = await until('two ready replicas', async () => {
    const d = (await api(server.url, 'GET', '/api/v1/deployments/k')).body;
    return d.replica_status.filter((r: { state: string }) => r.state === 'ready').length === 2 ? d : undefined;
  }, 120_000, 100);

  const outcomes = new Map<string, number>();
  const slowest = { ms: 0 };
  let stop = false;
  let sent = 0;
  const client = async () => {
    while (!stop) {
      const t0 = performance.now();
      // The client's own deadline is far past the deployment's request timeout: a hang shows as a timeout here.
      const res = await request(`${server.url}/api/v1/deployments/k/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, headersTimeout: 20_000, bodyTimeout: 20_000 });
      const text = await res.body.text();
      sent++;
      slowest.ms = Math.max(slowest.ms, performance.now() - t0);
      const key = res.statusCode === 200 ? '200' : `${res.statusCode} ${JSON.parse(text).error.code} retry-after=${res.headers['retry-after'] !== undefined}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
  };
  const clients = Array.from({ length: 16 }, () => client());
  await until('load running', async () => sent > 100 || undefined, 60_000, 20);

  const victim = ready.replica_status[0] as { id: string; task_id: string };
  const placement = (await server.engine.get({ tenant: 'default' }, victim.task_id)).assignment?.placement;
  const pid = placement?.kind === 'process' ? Number(placement.pid) : 0;
  expect(pid, JSON.stringify(placement)).toBeGreaterThan(0);
  const beforeKill = sent;
  process.kill(pid, 'SIGKILL');

  // Replaced: two ready replicas again, the victim gone.
  const replaced = await until('the replica replaced', async () => {
    const d = (await api(server.url, 'GET', '/api/v1/deployments/k')).body;
    const ids = d.replica_status.filter((r: { state: string }) => r.state === 'ready').map((r: { id: string }) => r.id);
    return ids.length === 2 && !ids.includes(victim.id) ? ids : undefined;
  }, 120_000, 100);
  expect(replaced).toHaveLength(2);
  const atReplace = sent;
  await until('load after the replacement', async () => sent > atReplace + 100 || undefined, 60_000, 20);
  stop = true;
  await Promise.all(clients);

  console.info('outcomes around the kill:', JSON.stringify([...outcomes]), `slowest ${slowest.ms.toFixed(0)} ms`);
  const bad = [...outcomes].filter(([k]) => k !== '200' && !/^503 (REPLICA_UNAVAILABLE|DEADLINE_UNMEETABLE) retry-after=true$/.test(k));
  expect(bad, JSON.stringify([...outcomes])).toEqual([]);
  expect(sent - beforeKill).toBeGreaterThan(200);
  expect(slowest.ms).toBeLessThan(15_000);
  const task = (await api(server.url, 'GET', `/api/v1/tasks/${victim.task_id}`)).body;
  expect(task.status).toBe('failed');
}, 300_000);
