/**
 * The seed's MNIST pipeline (examples/mnist) as real tasks of the local executor against the
 * fake lake: ingest all 70,000 Fashion-MNIST images, train briefly (limit_train: a full epoch
 * is the platform acceptance test's job), serve the model, predict, cancel the service.
 */
import fs from 'node:fs';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalExecutor } from '../../../src/executors/local/local-executor.ts';
import { makeExecutor, makeTask, recorder, runTask, succeeded, waitFor } from '../executor/helpers.ts';
import { startFakeLake, type FakeLake } from './fake-lake-server.ts';
import { FASHION_MNIST, ROOT, tempDir } from './helpers.ts';

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

describe.skipIf(!fs.existsSync(FASHION_MNIST))('MNIST pipeline through the executor and the lake API', () => {
  let lake: FakeLake;
  let executor: LocalExecutor;

  beforeAll(async () => {
    lake = await startFakeLake();
    executor = makeExecutor({}, { scriptRoots: [`${ROOT}/examples`], dataRoots: [tempDir()], apiUrl: lake.url });
  });
  afterAll(async () => {
    await executor.close();
    await lake.close();
  });

  it('ingests, trains, serves and stops', async () => {
    // 1. ingestion: the default input is Debian's Fashion-MNIST
    const t0 = Date.now();
    const clean = await runTask(executor, makeTask({ script: 'mnist/mnist_clean.py', output: 'mnist_clean', params: { normalize: true, flatten: true } }));
    const ingestMs = Date.now() - t0;
    expect(succeeded(clean.exits[0]!)).toMatchObject({ total_records: 70_000, train: 60_000, test: 10_000, dropped: 0, version: 1 });
    expect(ingestMs).toBeLessThan(20_000); // ~2 s here; the 5 s budget is checked with the real server
    const table = lake.tables.get('datasets/mnist_clean')![0]!.table;
    expect(table.numRows).toBe(70_000);
    expect(String(table.schema.fields.find((f) => f.name === 'image')!.type)).toBe('FixedSizeList[784]<Float32>');

    // 2. training, briefly
    const train = await runTask(
      executor,
      makeTask({ script: 'mnist/mnist_cnn.py', input: 'mnist_clean', output: 'mnist_cnn_v1', params: { epochs: 1, limit_train: 3000, limit_test: 2000, log_every: 10 } }),
    );
    const result = succeeded(train.exits[0]!);
    expect(result).toMatchObject({ epochs: 1, model: 'mnist_cnn_v1', version: 1, files: ['model.onnx', 'weights.pt'] });
    expect(result.accuracy as number).toBeGreaterThan(0.55); // 3,000 images, one pass
    const metrics = train.events.filter((e) => e.type === 'metric').map((e) => e.data);
    expect(metrics).toContainEqual({ name: 'test_accuracy', value: result.accuracy, step: 1 });
    expect(metrics.filter((m) => m.name === 'loss').length).toBeGreaterThan(0);
    const trainReads = lake.requests.filter((q) => q.method === 'GET' && q.name === 'mnist_clean');
    expect(trainReads[0]!.query.columns).toBe('image,label,split,label_name');
    expect(lake.tables.get('models/mnist_cnn_v1')![0]!.task).toMatch(/^t-/);

    // 3. the service
    const port = await freePort();
    const serve = makeTask({ script: 'mnist/mnist_serve.py', input: 'mnist_cnn_v1', params: { port } });
    const rec = recorder();
    executor.run(serve, [], rec.callbacks);
    try {
      await waitFor(() => rec.events.some((e) => e.type === 'log' && String(e.data.message).startsWith('serving model')) || rec.exits.length > 0, 60_000, 'the service');
      expect(rec.exits).toEqual([]);
      const base = `http://127.0.0.1:${port}`;
      expect(await (await fetch(`${base}/health`)).json()).toEqual({ status: 'ok', model: 'mnist_cnn_v1', version: 1 });
      const page = await fetch(`${base}/`);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      const image = table.getChild('image')!.get(60_000)!; // the first test image
      const res = await fetch(`${base}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ image: Array.from(image.toArray() as Float32Array) }),
      });
      const body = (await res.json()) as { prediction: number; label: string; confidence: number; probabilities: number[]; label_names: string[] };
      expect(res.status).toBe(200);
      expect(body.probabilities).toHaveLength(10);
      expect(body.label_names).toContain('Ankle boot');
      expect(body.label).toBe(body.label_names[body.prediction]);
    } finally {
      const at = Date.now();
      executor.cancel(serve.id, 10_000);
      await rec.exited;
      expect(Date.now() - at).toBeLessThan(5_000); // uvicorn stops on SIGTERM, no SIGKILL needed
    }
    expect(rec.exits[0]).toEqual({ kind: 'cancelled' });
  }, 120_000);
});
