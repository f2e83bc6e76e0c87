/**
 * Issue 12 §9, seed 004 on Ray: the MNIST pipeline (mnist_clean.py → mnist_cnn.py → the model
 * registered) with `executor: ray`, the scripts unchanged, through the whole server (in this
 * process) against the run's real head, mode job. Each step is a Ray job whose harness reads and
 * writes the lake over the server's Arrow endpoints with its task token (the jobs get no
 * LAKERAY_LAKE_LOCAL, so no read is a pointer into the server's files). The Ray venv carries numpy, pyarrow, torch and
 * onnx (scripts/ray-local/ray-up.sh). A subset (params `limit`) keeps it to a few minutes here.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RayJobsClient } from '../../src/executors/ray/jobs-client.ts';
import arrow from '../../src/lake/arrow.ts';
import { parseConfig } from '../../src/config/load.ts';
import { PACKAGE_ROOT, startServer, type RunningServer } from '../../src/main.ts';
import { api, tempDir } from '../helpers/server-process.ts';
import { until } from '../helpers/until.ts';
import { rayUrl } from '../integration/ray/ray-job-fixture.ts';
import { onnxClasses } from './onnx-classes.ts';

vi.setConfig({ testTimeout: 600_000, hookTimeout: 300_000 });

const FASHION = '/usr/share/datasets/fashion-mnist';
/** Rows per split that the ingestion keeps. */
const LIMIT = 3000;

// In CI the data must be there (.ci/run installs it): a missing package fails, it does not skip.
describe.runIf(existsSync(FASHION) || process.env.CI)('the MNIST pipeline with executor: ray', () => {
  let server: RunningServer;
  let dir: string;
  let ray: RayJobsClient;

  beforeAll(async () => {
    const address = await rayUrl();
    ray = new RayJobsClient({ address });
    dir = tempDir('lakeray-mnist-ray-');
    const config = parseConfig(
      {
        state_dir: join(dir, 'state'),
        lake: { root: join(dir, 'lake') },
        script_roots: [join(PACKAGE_ROOT, 'examples')],
        data_roots: [join(dir, 'data')],
        executors: { ray: { kind: 'ray', mode: 'job', address, poll_ms: 250 } },
      },
      dir,
      {},
    );
    server = await startServer({ config, port: 0, logLevel: 'silent' });
    await until('the Ray executor to be up', async () => ((await api(server.url, 'GET', '/ready')).body.executors_down.length === 0 ? true : null), 120_000, 250);
  });
  afterAll(async () => {
    await server?.close();
    await ray?.close();
  });

  const submit = async (body: Record<string, unknown>): Promise<string> => {
    const r = await api(server.url, 'POST', '/api/v1/tasks', { executor: 'ray', resources: { cpu: 1 }, ...body });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.id as string;
  };

  const succeeded = async (id: string) => {
    const t = await until(`task ${id} to end`, async () => {
      const t = (await api(server.url, 'GET', `/api/v1/tasks/${id}`)).body;
      return ['completed', 'failed', 'cancelled'].includes(t.status) ? t : null;
    }, 480_000, 500);
    if (t.status !== 'completed') {
      const logs = await api(server.url, 'GET', `/api/v1/tasks/${id}/logs?format=text`);
      throw new Error(`task ${id} ${t.status}: ${JSON.stringify(t.error)}\n${JSON.stringify(logs.body).slice(-3000)}`);
    }
    // It ran as exactly one Ray job.
    const jobs = (await ray.list()).filter((j) => j.metadata?.lakeray_task === id);
    expect(jobs.map((j) => [j.submission_id, j.status])).toEqual([[`lr-${id}-1`, 'SUCCEEDED']]);
    return t;
  };

  it('cleans, trains and registers a model with lineage to the dataset, and the model predicts', async () => {
    const t0 = Date.now();
    const clean = await submit({ name: 'mnist_ingestion', script: 'mnist/mnist_clean.py', output: 'mnist_clean', params: { normalize: true, flatten: true, limit: LIMIT } });
    expect((await succeeded(clean)).result).toMatchObject({ total_records: 2 * LIMIT });
    const dataset = (await api(server.url, 'GET', '/api/v1/datasets/mnist_clean')).body;
    expect(dataset).toMatchObject({ num_rows: 2 * LIMIT, schema: { image: 'List[Float32, 784]', label: 'Int64', split: 'String' } });
    expect(dataset.lineage[0]).toMatchObject({ task_id: clean, script: 'mnist/mnist_clean.py', version: dataset.version });
    const t1 = Date.now();

    const train = await submit({
      name: 'mnist_cnn_v1',
      script: 'mnist/mnist_cnn.py',
      input: 'mnist_clean',
      output: 'mnist_cnn_v1',
      params: { epochs: 1, learning_rate: 0.002, batch_size: 64, device: 'cpu', limit_test: 1000 },
    });
    const trained = await succeeded(train);
    console.info(`[measure] MNIST on Ray (mode job, ${LIMIT} rows per split): clean ${t1 - t0} ms, train ${Date.now() - t1} ms`);

    const model = (await api(server.url, 'GET', '/api/v1/models/mnist_cnn_v1')).body;
    expect(model.task_id).toBe(train);
    expect(model.files.map((f: { file: string }) => f.file).sort()).toEqual(['model.onnx', 'weights.pt']);
    expect(model.metrics.accuracy).toBe(trained.result.accuracy);
    expect(model.lineage[0]).toMatchObject({ task_id: train, script: 'mnist/mnist_cnn.py', inputs: [{ kind: 'datasets', name: 'mnist_clean', version: dataset.version }] });

    // The registered ONNX model, run here on test images from the lake, predicts their labels.
    const rows = await request(`${server.url}/api/v1/datasets/mnist_clean/arrow?columns=image,label&filter=${encodeURIComponent("split = 'test'")}`);
    const test = arrow.tableFromIPC(Buffer.from(await rows.body.arrayBuffer()));
    const n = 500;
    const batch = new Float32Array(n * 784);
    const labels: number[] = [];
    for (let i = 0; i < n; i++) {
      batch.set((test.getChild('image')!.get(i) as { toArray(): Float32Array }).toArray(), i * 784);
      labels.push(Number(test.getChild('label')!.get(i)));
    }
    const onnx = Buffer.from(await (await request(`${server.url}/api/v1/models/mnist_cnn_v1/files/model.onnx`)).body.arrayBuffer());
    writeFileSync(join(dir, 'model.onnx'), onnx);
    const classes = onnxClasses(join(dir, 'model.onnx'), batch, n, dir);
    const accuracy = classes.filter((c, i) => c === labels[i]).length / n;
    console.info(`[measure] the model's accuracy on ${n} test images: ${accuracy} (training reported ${trained.result.accuracy})`);
    expect(accuracy).toBeGreaterThanOrEqual(0.5); // 10 classes: chance is 0.1
    expect(Math.abs(accuracy - trained.result.accuracy)).toBeLessThan(0.1);
  });
});
