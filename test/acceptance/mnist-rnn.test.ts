/**
 * Issue 13 §7, the streaming model: Fashion-MNIST is ingested into the lake, mnist_rnn.py
 * trains a GRU that reads an image row by row (a small subset: params `limit`), and the model
 * it registers is run here as a client (or a Lakeray session) runs it: model.onnx in
 * onnxruntime-node, one row per call, the hidden state carried from `hn` to `h0`. That must
 * give PyTorch's full-sequence logits (the script records a few in the model's metrics), and
 * the streamed accuracies after 7/14/21/28 rows must be the ones the script reported.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import arrow from '../../src/lake/arrow.ts';
import { PACKAGE_ROOT, startServer, type RunningServer } from '../../src/main.ts';
import { api, tempDir } from '../helpers/server-process.ts';
import { until } from '../helpers/until.ts';

const FASHION = '/usr/share/datasets/fashion-mnist';
const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
/** Rows per split the ingestion keeps, and the rows the training uses of each. */
const INGESTED = 3000;
const LIMIT = 2000;
const HIDDEN = 48;

interface Reference { split: string; test_index: number[]; labels: number[]; pixel_sums: number[]; logits: number[][] }

let server: RunningServer;
let dir: string;

const submit = async (body: Record<string, unknown>): Promise<string> => {
  const r = await api(server.url, 'POST', '/api/v1/tasks', body);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.id as string;
};

const ended = async (id: string, ms: number) =>
  until(`task ${id}`, async () => {
    const t = (await api(server.url, 'GET', `/api/v1/tasks/${id}`)).body;
    return ['completed', 'failed', 'cancelled'].includes(t.status) ? t : null;
  }, ms, 200);

const succeeded = async (id: string, ms: number) => {
  const t = await ended(id, ms);
  if (t.status !== 'completed') {
    const logs = await api(server.url, 'GET', `/api/v1/tasks/${id}/logs?format=text`);
    throw new Error(`task ${id} ${t.status}: ${JSON.stringify(t.error)}\n${JSON.stringify(logs.body).slice(-3000)}`);
  }
  return t;
};

/** Streams images [n, 784] through the one-row model, 28 calls carrying hn → h0; the logits after each row count. */
async function stream(session: ort.InferenceSession, images: Float32Array, n: number, hidden: number): Promise<Float32Array[]> {
  let h: ort.Tensor = new ort.Tensor('float32', new Float32Array(n * hidden), [n, hidden]);
  const after: Float32Array[] = [];
  for (let row = 0; row < 28; row++) {
    const x = new Float32Array(n * 28);
    for (let i = 0; i < n; i++) x.set(images.subarray(i * 784 + row * 28, i * 784 + row * 28 + 28), i * 28);
    const out = await session.run({ x: new ort.Tensor('float32', x, [n, 28]), h0: h });
    h = out.hn!;
    after.push(out.logits!.data as Float32Array);
  }
  return after;
}

const argmax = (logits: Float32Array, i: number): number => {
  let best = 0;
  for (let c = 1; c < 10; c++) if (logits[i * 10 + c]! > logits[i * 10 + best]!) best = c;
  return best;
};

beforeAll(async () => {
  dir = tempDir('lakeray-mnist-rnn-');
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
  server = await startServer({ config, port: 0, logLevel: 'silent' });
});

afterAll(async () => {
  await server?.close();
});

// In CI the data must be there (.ci/run installs it): a missing package fails, it does not skip.
describe.runIf(existsSync(FASHION) || process.env.CI)('mnist_rnn.py: a GRU streamed row by row', () => {
  let model: { params: Record<string, any>; metrics: Record<string, any>; files: { file: string }[] };
  let trainTask: string;

  it('trains on the cleaned dataset and registers the ONNX step model with its serving params', async () => {
    await succeeded(await submit({ name: 'mnist_ingestion', script: 'mnist/mnist_clean.py', output: 'mnist_clean', params: { limit: INGESTED } }), 120_000);
    trainTask = await submit({
      name: 'mnist_rnn',
      script: 'mnist/mnist_rnn.py',
      input: 'mnist_clean',
      output: 'mnist_rnn',
      params: { epochs: 2, hidden_size: HIDDEN, limit: LIMIT, threads: 2 },
      resources: { cpu: 2 },
    });
    const t = await succeeded(trainTask, 600_000);
    expect(t.result).toMatchObject({ model: 'mnist_rnn', epochs: 2, files: ['model.onnx', 'weights.pt'] });

    model = (await api(server.url, 'GET', '/api/v1/models/mnist_rnn')).body;
    expect(model.files.map((f) => f.file).sort()).toEqual(['model.onnx', 'weights.pt']);
    expect(model.params).toMatchObject({
      epochs: 2, hidden_size: HIDDEN, limit: LIMIT, classes: FASHION_CLASSES,
      serving: { state: [{ input: 'h0', output: 'hn' }], chunk_input: 'x', chunks: 28 },
    });
    expect(model.metrics).toMatchObject({ train_rows: LIMIT, test_rows: LIMIT, accuracy: t.result.accuracy });
    expect(Object.keys(model.metrics.accuracy_by_rows).sort()).toEqual(['14', '21', '28', '7']);
    expect(model.metrics.accuracy_by_rows['28']).toBe(model.metrics.accuracy);
    expect(model.metrics.accuracy).toBeGreaterThan(0.3); // chance is 0.1

    const events = await request(`${server.url}/api/v1/tasks/${trainTask}/events`, { headers: { accept: 'text/event-stream' } });
    const sse = await events.body.text();
    expect(sse).toMatch(/"type":"progress"/);
    expect(sse).toMatch(/"name":"test_accuracy"/);
    expect(sse).toMatch(/"name":"test_accuracy_7_rows"/);
  }, 720_000);

  it('model.onnx takes one row and the state, and streaming 28 rows gives PyTorch\'s full-sequence logits and accuracies', async () => {
    const onnx = await request(`${server.url}/api/v1/models/mnist_rnn/files/model.onnx`);
    expect(onnx.statusCode).toBe(200);
    const session = await ort.InferenceSession.create(new Uint8Array(await onnx.body.arrayBuffer()));
    const spec = (m: readonly ort.InferenceSession.ValueMetadata[]) => m.map((v) => (v.isTensor ? { name: v.name, type: v.type, shape: v.shape } : v));
    expect(spec(session.inputMetadata)).toEqual([
      { name: 'x', type: 'float32', shape: ['batch', 28] },
      { name: 'h0', type: 'float32', shape: ['batch', HIDDEN] },
    ]);
    expect(spec(session.outputMetadata)).toEqual([
      { name: 'logits', type: 'float32', shape: ['batch', 10] },
      { name: 'hn', type: 'float32', shape: ['batch', HIDDEN] },
    ]);

    // The test split, from the lake, in the order the script read it; its first LIMIT rows are what it evaluated.
    const r = await request(`${server.url}/api/v1/datasets/mnist_clean/arrow?columns=image,label&filter=${encodeURIComponent("split = 'test'")}`);
    const test = arrow.tableFromIPC(Buffer.from(await r.body.arrayBuffer()));
    expect(test.numRows).toBe(INGESTED);
    const n = LIMIT;
    const images = new Float32Array(n * 784);
    const labels: number[] = [];
    for (let i = 0; i < n; i++) {
      images.set((test.getChild('image')!.get(i) as { toArray(): Float32Array }).toArray(), i * 784);
      labels.push(Number(test.getChild('label')!.get(i)));
    }

    // The reference images, streamed alone (batch 1) and together: PyTorch's logits either way.
    const ref = model.metrics.reference as Reference;
    expect(ref.test_index.length).toBe(3);
    const refImages = new Float32Array(ref.test_index.length * 784);
    ref.test_index.forEach((index, k) => {
      const image = images.subarray(index * 784, (index + 1) * 784);
      expect(image.reduce((a, b) => a + b, 0)).toBeCloseTo(ref.pixel_sums[k]!, 2); // the same image
      expect(labels[index]).toBe(ref.labels[k]);
      refImages.set(image, k * 784);
    });
    const together = (await stream(session, refImages, ref.test_index.length, HIDDEN))[27]!;
    for (let k = 0; k < ref.test_index.length; k++) {
      const alone = (await stream(session, refImages.subarray(k * 784, (k + 1) * 784), 1, HIDDEN))[27]!;
      for (let c = 0; c < 10; c++) {
        expect(Math.abs(alone[c]! - ref.logits[k]![c]!)).toBeLessThan(1e-4);
        expect(Math.abs(together[k * 10 + c]! - ref.logits[k]![c]!)).toBeLessThan(1e-4);
      }
    }

    // The accuracy after 7/14/21/28 streamed rows over the test rows is the one the script reported.
    const after = await stream(session, images, n, HIDDEN);
    for (const rows of [7, 14, 21, 28]) {
      let correct = 0;
      for (let i = 0; i < n; i++) if (argmax(after[rows - 1]!, i) === labels[i]) correct++;
      expect(Math.abs(correct / n - model.metrics.accuracy_by_rows[String(rows)])).toBeLessThanOrEqual(2 / n); // argmax ties at float noise
    }
    await session.release();
  }, 120_000);

  it('refuses a bad hyper-parameter before reading anything, naming it', async () => {
    const t = await ended(await submit({ name: 'mnist_rnn_bad', script: 'mnist/mnist_rnn.py', input: 'mnist_clean', output: 'mnist_rnn_bad', params: { hidden_size: 0 } }), 120_000);
    expect(t.status).toBe('failed');
    expect(t.error.message).toContain('hidden_size');
    expect((await api(server.url, 'GET', '/api/v1/models/mnist_rnn_bad')).status).toBe(404);
  }, 150_000);
});
