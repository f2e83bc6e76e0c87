/**
 * Seed 004 end to end, on real data, through the real server: Fashion-MNIST (Debian's
 * dataset-fashion-mnist) is ingested into the Lance lake, a CNN is trained on it with
 * PyTorch and registered with its ONNX export and lineage, and the inference service answers
 * through the platform's proxy with the same class as the ONNX model run directly.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import arrow from '../../src/lake/arrow.ts';
import { PACKAGE_ROOT, startServer, type RunningServer } from '../../src/main.ts';
import { api, tempDir } from '../helpers/server-process.ts';
import { runCli } from '../integration/cli/harness.ts';
import { until } from '../helpers/until.ts';
import { onnxClasses } from './onnx-classes.ts';

const FASHION = '/usr/share/datasets/fashion-mnist';
let server: RunningServer;
let dir: string;

const submit = async (body: Record<string, unknown>): Promise<string> => {
  const r = await api(server.url, 'POST', '/api/v1/tasks', body);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.id as string;
};

const task = async (id: string) => (await api(server.url, 'GET', `/api/v1/tasks/${id}`)).body;

const finished = async (id: string, ms: number) => {
  const t = await until(`task ${id}`, async () => {
    const t = await task(id);
    return ['completed', 'failed', 'cancelled'].includes(t.status) ? t : null;
  }, ms);
  if (t.status !== 'completed') {
    const logs = await api(server.url, 'GET', `/api/v1/tasks/${id}/logs?format=text`);
    throw new Error(`task ${id} ${t.status}: ${JSON.stringify(t.error)}\n${JSON.stringify(logs.body).slice(-3000)}`);
  }
  return t;
};

beforeAll(async () => {
  dir = tempDir('lakeray-mnist-');
  const config = parseConfig(
    {
      state_dir: join(dir, 'state'),
      lake: { root: join(dir, 'lance_storage') },
      script_roots: [join(PACKAGE_ROOT, 'examples')],
      data_roots: [join(dir, 'data')],
      executors: { local: { cpu: 2 } },
    },
    dir,
    {},
  );
  server = await startServer({ config, port: 0, logLevel: 'info', logFormat: 'json', logDestination: new Writable({ write: (chunk, _enc, done) => done(void (serverLog += chunk)) }) });
});

let serverLog = '';
const rejections = () => serverLog.split('\n').filter((l) => l.includes('"msg":"request rejected"')).length;

afterAll(async () => {
  await server?.close();
});

// In CI the data must be there (.ci/run installs it): a missing package fails, it does not skip.
describe.runIf(existsSync(FASHION) || process.env.CI)('MNIST pipeline on Fashion-MNIST', () => {
  let datasetVersion: number;
  let trainTask: string;

  it('ingests all 70,000 images: 60,000 train + 10,000 test, with a vector schema', async () => {
    const id = await submit({ name: 'mnist_ingestion', script: 'mnist/mnist_clean.py', output: 'mnist_clean', params: { normalize: true, flatten: true } });
    const t = await finished(id, 120_000);
    expect(t.result).toMatchObject({ total_records: 70_000 });

    const d = (await api(server.url, 'GET', '/api/v1/datasets/mnist_clean')).body;
    expect(d).toMatchObject({ id: 'mnist_clean', num_rows: 70_000, schema: { image: 'List[Float32, 784]', label: 'Int64', split: 'String' } });
    datasetVersion = d.version;
    expect(d.lineage[0]).toMatchObject({ task_id: id, script: 'mnist/mnist_clean.py', version: d.version });

    const count = async (filter: string) =>
      (await api(server.url, 'GET', `/api/v1/datasets/mnist_clean/rows?limit=1&columns=label&filter=${encodeURIComponent(filter)}`)).body.total;
    expect(await count("split = 'train'")).toBe(60_000);
    expect(await count("split = 'test'")).toBe(10_000);
    expect(await count('label < 0 OR label > 9')).toBe(0);
    const page = (await api(server.url, 'GET', '/api/v1/datasets/mnist_clean/rows?limit=3')).body;
    for (const row of page.rows) {
      expect(row.image.length).toBe(784);
      expect(row.image.min).toBeGreaterThanOrEqual(0);
      expect(row.image.max).toBeLessThanOrEqual(1);
    }
  }, 150_000);

  it('refuses to delete the dataset while a running task reads it (409), not a crash', async () => {
    trainTask = await submit({
      name: 'mnist_cnn_v1',
      script: 'mnist/mnist_cnn.py',
      input: 'mnist_clean',
      output: 'mnist_cnn_v1',
      params: { epochs: 1, learning_rate: 0.001, batch_size: 64, device: 'cpu' },
      resources: { cpu: 2 },
    });
    await until('training to run', async () => (await task(trainTask)).status === 'running', 60_000);
    const del = await api(server.url, 'DELETE', '/api/v1/datasets/mnist_clean');
    expect(del.status).toBe(409);
    expect(del.body.error.code).toBe('DATASET_IN_USE');
    expect(del.body.error.message).toContain(trainTask);
    expect((await api(server.url, 'GET', '/api/v1/datasets/mnist_clean')).body.num_rows).toBe(70_000);
  }, 90_000);

  it('trains a CNN to ≥ 0.80 test accuracy and registers it with ONNX, metrics and exact lineage', async () => {
    const t = await finished(trainTask, 600_000);
    expect(t.result.accuracy).toBeGreaterThanOrEqual(0.8);
    const m = (await api(server.url, 'GET', '/api/v1/models/mnist_cnn_v1')).body;
    expect(m.metrics.accuracy).toBeGreaterThanOrEqual(0.8);
    expect(m.metrics.loss).toEqual(expect.any(Number));
    expect(m.params).toMatchObject({ epochs: 1, learning_rate: 0.001, batch_size: 64 });
    expect(m.files.map((f: { file: string }) => f.file).sort()).toEqual(['model.onnx', 'weights.pt']);
    expect(m.task_id).toBe(trainTask);
    expect(m.lineage[0]).toMatchObject({ task_id: trainTask, script: 'mnist/mnist_cnn.py', inputs: [{ kind: 'datasets', name: 'mnist_clean', version: datasetVersion }] });
    const logs = await request(`${server.url}/api/v1/tasks/${trainTask}/events`, { headers: { accept: 'text/event-stream' } });
    const sse = await logs.body.text();
    expect(sse).toMatch(/"type":"progress"/);
    expect(sse).toMatch(/"name":"test_accuracy"/);
  }, 620_000);

  it('serves the model through the platform proxy with the same class as the ONNX model run directly', async () => {
    const serve = await submit({
      name: 'mnist_serve',
      script: 'mnist/mnist_serve.py',
      input: 'mnist_cnn_v1',
      params: { device: 'cpu' },
      resources: { cpu: 0.5 },
      service: { health_path: '/health' },
    });
    await until('the service to answer', async () => {
      const r = await request(`${server.url}/api/v1/services/${serve}/health`);
      await r.body.dump();
      return r.statusCode === 200;
    }, 120_000);

    // Ten test images straight from the lake.
    const r = await request(`${server.url}/api/v1/datasets/mnist_clean/arrow?columns=image,label&filter=${encodeURIComponent("split = 'test'")}`);
    const test = arrow.tableFromIPC(Buffer.from(await r.body.arrayBuffer()));
    const onnxBytes = Buffer.from(await (await request(`${server.url}/api/v1/models/mnist_cnn_v1/files/model.onnx`)).body.arrayBuffer());
    const modelPath = join(dir, 'model.onnx');
    writeFileSync(modelPath, onnxBytes);
    const images = test.getChild('image');
    const batch = new Float32Array(10 * 784);
    for (let i = 0; i < 10; i++) batch.set((images?.get(i * 997) as { toArray(): Float32Array }).toArray(), i * 784);
    const classes = onnxClasses(modelPath, batch, 10, dir);

    let agree = 0;
    for (let i = 0; i < 10; i++) {
      const onnxClass = classes[i];
      const res = await request(`${server.url}/api/v1/services/${serve}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ image: Array.from(batch.subarray(i * 784, (i + 1) * 784)) }),
      });
      const body = (await res.body.json()) as { prediction: number; confidence: number; probabilities: number[] };
      expect(res.statusCode).toBe(200);
      expect(body.probabilities).toHaveLength(10);
      expect(body.prediction).toBe(onnxClass);
      agree++;
    }
    expect(agree).toBe(10);

    // The drawing page is served by the service, and the model it serves cannot be deleted under it.
    const page = await request(`${server.url}/api/v1/services/${serve}/`);
    expect(page.statusCode).toBe(200);
    expect(String(page.headers['content-type'])).toContain('text/html');
    expect(await page.body.text()).toContain('<canvas');
    expect((await api(server.url, 'DELETE', '/api/v1/models/mnist_cnn_v1')).body.error.code).toBe('MODEL_IN_USE');

    // `lakeray demo mnist` finds the dataset, the model and the running service, and prints the page.
    const demo = await runCli(['--url', server.url, 'demo', 'mnist']);
    expect(demo.code, demo.err).toBe(0);
    expect(demo.out).toContain('✓ dataset mnist_clean is in the lake');
    expect(demo.out).toContain('✓ model mnist_cnn_v1 is in the lake');
    expect(demo.out).toContain('Draw a piece of clothing; the model knows the 10 Fashion-MNIST classes: T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot\n');
    expect(demo.out).not.toContain('digit');
    expect(demo.out).toContain(`seed 004's own page: ${server.url}/api/v1/services/${serve}/`);
    expect(demo.out).toMatch(/✓ deployment mnist serves mnist_cnn_v1 v\d+/);
    // The deployment it made answers seed 004's {"image"} body like the FastAPI service (a cold start first).
    const viaDeployment = await api(server.url, 'POST', '/api/v1/deployments/mnist/predict', { image: Array(784).fill(0.25) });
    expect(viaDeployment.status, JSON.stringify(viaDeployment.body)).toBe(200);
    expect(viaDeployment.body.label_names).toHaveLength(10);
    expect((await api(server.url, 'DELETE', '/api/v1/deployments/mnist')).status).toBe(204);
    const redirect = await request(`${server.url}/demo/mnist`);
    expect(redirect.statusCode).toBe(302);
    expect(redirect.headers.location).toBe(`/api/v1/services/${serve}/`);

    expect((await api(server.url, 'POST', `/api/v1/tasks/${serve}/cancel`)).status).toBe(200);
    await until('the service to stop', async () => (await task(serve)).status === 'cancelled', 30_000);
    const after = await request(`${server.url}/demo/mnist`);
    expect(after.statusCode).toBe(200);
    expect(await after.body.text()).toContain('lakeray demo mnist');

    // Starting the service again, the demo waits through GET /api/v1/services, not by polling
    // the proxy into 503s: a normal run leaves no "request rejected" lines in the server log.
    const before = rejections();
    const again = await runCli(['--url', server.url, 'demo', 'mnist']);
    expect(again.code, again.err).toBe(0);
    expect(again.out).toContain('▶ serve mnist_cnn_v1');
    expect(rejections()).toBe(before);
    const restarted = /services\/(\S+)\//.exec(again.out)![1]!;

    // Retraining while that service runs (2 CPUs here: training asks for both, the service
    // holds 0.5) stops it first, then serves the new version: before, the training waited
    // behind the service for ever.
    const version = (await api(server.url, 'GET', '/api/v1/models/mnist_cnn_v1')).body.version as number;
    const forced = await runCli(['--url', server.url, 'demo', 'mnist', '--force']);
    expect(forced.code, forced.err).toBe(0);
    expect(forced.out).toContain(`stopping the service of the current mnist_cnn_v1 (task ${restarted}) to train a new one`);
    expect((await task(restarted)).status).toBe('cancelled');
    expect((await api(server.url, 'GET', '/api/v1/models/mnist_cnn_v1')).body.version).toBeGreaterThan(version);
    const newest = /services\/(\S+)\//.exec(forced.out)![1]!;
    expect(newest).not.toBe(restarted);
    expect((await api(server.url, 'POST', `/api/v1/tasks/${newest}/cancel`)).status).toBe(200);
  }, 1_500_000);
});
