/**
 * `lakeray eval serve` against a real Lakeray server: a deployment of the MNIST CNN fixture
 * (local backend: a real onnxruntime-node replica as a service task), simulated users, a small
 * batch sweep through the real PATCH, and the report read back through GET /api/v1/eval/reports.
 */
import { EventEmitter } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/index.ts';
import { parseConfig } from '../../../src/config/load.ts';
import { type RunningServer, startServer } from '../../../src/main.ts';
import type { EvalSummary } from '../../../src/serving/eval/summary.ts';
import { api, tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';

const FIXTURES = join(import.meta.dirname, '../../fixtures/serving');
let server: RunningServer;
let dir: string;

class Sink {
  text = '';
  isTTY = false;
  write(s: string) {
    this.text += s;
    return true;
  }
}

beforeAll(async () => {
  dir = tempDir('lakeray-eval-');
  const config = parseConfig(
    { state_dir: join(dir, 'state'), script_roots: [dir], data_roots: [dir], lake: { root: join(dir, 'lake') }, executors: { local: { cpu: 2, kill_grace_ms: 1500 } } },
    dir,
    {},
  );
  server = await startServer({ config, port: 0, logLevel: 'silent' });
  const { createLakeClient } = await import(pathToFileURL(join(import.meta.dirname, '../../../runtimes/node/lake.mjs')).href);
  await createLakeClient({ apiUrl: server.url }).writeModel({ name: 'mnist_cnn', files: { 'model.onnx': readFileSync(join(FIXTURES, 'mnist_cnn.onnx')) }, params: {} });
  const created = await api(server.url, 'POST', '/api/v1/deployments', { name: 'mnist', model: 'mnist_cnn', max_batch_size: 16, batch_timeout_ms: 3 });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  await until('deployment ready', async () => ((await api(server.url, 'GET', '/api/v1/deployments/mnist')).body.status === 'ready' ? true : null), 120_000, 200);
  // The GRU for session mode: its state binding comes from the model's params, as mnist_rnn.py writes them.
  await createLakeClient({ apiUrl: server.url }).writeModel({ name: 'gru', files: { 'model.onnx': readFileSync(join(FIXTURES, 'gru_rows.onnx')) }, params: { serving: { state: [{ input: 'h0', output: 'hn' }], chunk_input: 'x', chunks: 28 } } });
  expect((await api(server.url, 'POST', '/api/v1/deployments', { name: 'gru', model: 'gru', max_batch_size: 16, batch_timeout_ms: 2 })).status).toBe(201);
  await until('gru ready', async () => ((await api(server.url, 'GET', '/api/v1/deployments/gru')).body.status === 'ready' ? true : null), 120_000, 200);
}, 240_000);

afterAll(async () => {
  await api(server.url, 'DELETE', '/api/v1/deployments/mnist').catch(() => undefined);
  await api(server.url, 'DELETE', '/api/v1/deployments/gru').catch(() => undefined);
  await server?.close();
}, 60_000);

describe('lakeray eval serve against a real server', () => {
  it('measures users and a sweep, restores the settings, and the server lists the report', async () => {
    const stdout = new Sink();
    const stderr = new Sink();
    const stateDir = join(dir, 'state');
    const statsBefore = (await api(server.url, 'GET', '/api/v1/deployments/mnist/stats')).body as { requests_total: number };
    const code = await main(
      ['--url', server.url, 'eval', 'serve', 'mnist', '--users', '3', '--duration', '2', '--batch-test', '--batch-sizes', '1,8', '--batch-timeouts', '0,10', '--phase-duration', '1.5', '--out', stateDir],
      { stdout, stderr, env: {}, cwd: dir, signals: new EventEmitter() },
    );
    expect(code, stderr.text + stdout.text).toBe(0);

    const d = (await api(server.url, 'GET', '/api/v1/deployments/mnist')).body as { max_batch_size: number; batch_timeout_ms: number };
    expect([d.max_batch_size, d.batch_timeout_ms]).toEqual([16, 3]);

    const list = (await api(server.url, 'GET', '/api/v1/eval/reports')).body as { items: { id: string; files: string[] }[] };
    expect(list.items).toHaveLength(1);
    expect(list.items[0]!.files).toEqual(['summary.json', 'README.md', 'user_test_charts.png', 'batch_test_heatmaps.png']);
    const summary = (await api(server.url, 'GET', `/api/v1/eval/reports/${list.items[0]!.id}/summary.json`)).body as EvalSummary;
    expect(summary.phases.map((p) => p.name)).toEqual(['users', 'batch 1x0ms', 'batch 1x10ms', 'batch 8x0ms', 'batch 8x10ms']);
    for (const p of summary.phases) {
      expect(p.errors, p.name).toEqual({});
      expect(p.ok, p.name).toBeGreaterThan(0);
    }
    // Every answered request is one the deployment counted; batches of one under max_batch_size 1.
    const statsAfter = (await api(server.url, 'GET', '/api/v1/deployments/mnist/stats')).body as { requests_total: number };
    expect(statsAfter.requests_total - statsBefore.requests_total).toBe(summary.phases.reduce((s, p) => s + p.ok, 0));
    expect(summary.phases[1]!.mean_batch_size).toBe(1);
    expect(summary.phases[1]!.config).toEqual({ max_batch_size: 1, batch_timeout_ms: 0, enable_dynamic_batching: true });
  }, 180_000);

  it('session mode streams chunks over real session WebSockets, every chunk counted by the deployment', async () => {
    const stdout = new Sink();
    const stderr = new Sink();
    const before = (await api(server.url, 'GET', '/api/v1/deployments/gru/stats')).body as { rows_total: number };
    const out = join(dir, 'session-out');
    const code = await main(['--url', server.url, 'eval', 'serve', 'gru', '--mode', 'session', '--users', '4', '--duration', '2', '--out', out], { stdout, stderr, env: {}, cwd: dir, signals: new EventEmitter() });
    expect(code, stderr.text + stdout.text).toBe(0);
    const reports = readdirSync(join(out, 'eval_results'));
    expect(reports).toHaveLength(1);
    const summary = JSON.parse(readFileSync(join(out, 'eval_results', reports[0]!, 'summary.json'), 'utf8')) as EvalSummary;
    expect(summary.mode).toBe('session');
    const users = summary.phases[0]!;
    expect(users.errors).toEqual({});
    expect(users.ok).toBeGreaterThan(20);
    const after = (await api(server.url, 'GET', '/api/v1/deployments/gru/stats')).body as { rows_total: number; mean_batch_size: number };
    expect(after.rows_total - before.rows_total).toBe(users.ok);
  }, 180_000);
});
