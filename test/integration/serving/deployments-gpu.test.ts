/**
 * Replicas take their GPUs through the scheduler's ledger like any task, so serving and batch
 * work never oversubscribe a device. A configured GPU inventory (no GPU here: the ids are the
 * scheduler's; the replica falls back to the CPU provider and says so): a deployment of two
 * 1-GPU replicas holds both GPUs; a batch task asking for one GPU waits queued until the
 * deployment shrinks, then runs on the GPU the retired replica gave back.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { startServer, type RunningServer } from '../../../src/main.ts';
import { api, tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';

const FIXTURES = join(import.meta.dirname, '../../fixtures/serving');
let server: RunningServer;
let dir: string;

beforeAll(async () => {
  dir = tempDir('lakeray-serve-gpu-');
  writeFileSync(join(dir, 'gpu_job.py'), 'import os\n\ndef run(input_path, output_path, params, ctx):\n    return {"gpus": os.environ.get("CUDA_VISIBLE_DEVICES", "")}\n');
  const config = parseConfig(
    { state_dir: join(dir, 'state'), script_roots: [dir], data_roots: [dir], lake: { root: join(dir, 'lake') }, executors: { local: { cpu: 4, gpus: ['0', '1'], kill_grace_ms: 1500 } } },
    dir,
    {},
  );
  server = await startServer({ config, port: 0, logLevel: 'silent' });
  const { createLakeClient } = await import(pathToFileURL(join(import.meta.dirname, '../../../runtimes/node/lake.mjs')).href);
  await createLakeClient({ apiUrl: server.url }).writeModel({ name: 'cnn', files: { 'model.onnx': readFileSync(join(FIXTURES, 'mnist_cnn.onnx')) }, params: {} });
}, 90_000);

afterAll(async () => {
  await server?.close();
}, 60_000);

it('replicas hold GPUs in the ledger: a batch task waits for one, and gets the one a retired replica gave back', async () => {
  const created = await api(server.url, 'POST', '/api/v1/deployments', { name: 'g', model: 'cnn', replicas: { min: 2, max: 2 }, resources: { cpu: 1, gpu: 1 } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const ready = await until('two ready replicas', async () => {
    const d = (await api(server.url, 'GET', '/api/v1/deployments/g')).body;
    return d.replica_status.filter((r: { state: string }) => r.state === 'ready').length === 2 ? d : undefined;
  }, 120_000, 100);
  const held = ready.replica_status.map((r: { gpus: string[] }) => r.gpus).flat().sort();
  expect(held).toEqual(['0', '1']);
  expect((await api(server.url, 'POST', '/api/v1/deployments/g/predict', { image: Array(784).fill(0.5) })).status).toBe(200);

  const job = await api(server.url, 'POST', '/api/v1/tasks', { script: 'gpu_job.py', resources: { cpu: 1, gpu: 1 } });
  expect(job.status).toBe(201);
  await new Promise((r) => setTimeout(r, 1500));
  expect((await api(server.url, 'GET', `/api/v1/tasks/${job.body.id}`)).body.status).toBe('pending');

  expect((await api(server.url, 'PATCH', '/api/v1/deployments/g', { replicas: { min: 1, max: 1 } })).status).toBe(200);
  const done = await until('the batch task ran', async () => {
    const t = (await api(server.url, 'GET', `/api/v1/tasks/${job.body.id}`)).body;
    return t.status === 'completed' ? t : undefined;
  }, 120_000, 100);
  const left = (await api(server.url, 'GET', '/api/v1/deployments/g')).body.replica_status as { gpus: string[] }[];
  expect(left).toHaveLength(1);
  // The task got the GPU the retired replica released, not the one the remaining replica holds.
  expect(done.result.gpus).not.toBe(left[0]!.gpus[0]);
  expect(['0', '1']).toContain(done.result.gpus);
}, 240_000);
