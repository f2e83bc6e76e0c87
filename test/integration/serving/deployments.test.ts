/**
 * Deployments end to end on a real server: the MNIST CNN fixture in the lake, a `local`
 * deployment whose replicas are service tasks running onnxruntime-node, predict in every
 * format compared with onnxruntime-node in this process, PATCH under load, scale to zero and
 * the cold start that follows, stats, delete, and a restart that brings the deployment back.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tableFromIPC } from 'apache-arrow';
import ort from 'onnxruntime-node';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { startServer, type RunningServer } from '../../../src/main.ts';
import { encodeArrow } from '../../../src/serving/tensor.ts';
import { api, tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';

const FIXTURES = join(import.meta.dirname, '../../fixtures/serving');

let server: RunningServer;
let dir: string;
let session: ort.InferenceSession;

const configFor = (d: string) =>
  parseConfig(
    { state_dir: join(d, 'state'), script_roots: [d], data_roots: [d], lake: { root: join(d, 'lake') }, executors: { local: { cpu: 4, kill_grace_ms: 1500 } } },
    d,
    {},
  );

const storeModel = async (name: string, file: string, params: Record<string, unknown> = {}): Promise<number> => {
  const { createLakeClient } = await import(pathToFileURL(join(import.meta.dirname, '../../../runtimes/node/lake.mjs')).href);
  const written = await createLakeClient({ apiUrl: server.url }).writeModel({ name, files: { 'model.onnx': readFileSync(join(FIXTURES, file)) }, params });
  return Number(written.version);
};

const image = (seed: number): number[] => Array.from({ length: 784 }, (_, i) => ((i * 31 + seed * 17) % 97) / 96);

const expected = async (images: number[][]): Promise<number[][]> => {
  const data = Float32Array.from(images.flat());
  const out = await session.run({ input: new ort.Tensor('float32', data, [images.length, 1, 28, 28]) });
  const logits = Array.from(out.logits!.data as Float32Array);
  return images.map((_, i) => logits.slice(i * 10, i * 10 + 10));
};

const predictJson = (name: string, images: number[][]) =>
  api(server.url, 'POST', `/api/v1/deployments/${name}/predict`, { inputs: { input: images.map((im) => [chunk(im)]) } });
const chunk = (im: number[]): number[][] => Array.from({ length: 28 }, (_, r) => im.slice(r * 28, r * 28 + 28));

const waitStatus = (name: string, status: string, ms = 90_000) =>
  until(`deployment ${name} ${status}`, async () => {
    const r = await api(server.url, 'GET', `/api/v1/deployments/${name}`);
    return r.body.status === status ? r.body : undefined;
  }, ms, 100);

beforeAll(async () => {
  dir = tempDir('lakeray-deploy-');
  server = await startServer({ config: configFor(dir), port: 0, logLevel: 'silent' });
  session = await ort.InferenceSession.create(readFileSync(join(FIXTURES, 'mnist_cnn.onnx')));
  await storeModel('cnn', 'mnist_cnn.onnx', { classes: ['T-shirt', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Boot'] });
}, 90_000);

afterAll(async () => {
  await server?.close();
}, 60_000);

describe('deployments', () => {
  it('creates a deployment, serves JSON, image, raw and Arrow predictions equal to onnxruntime in-process', async () => {
    const created = await api(server.url, 'POST', '/api/v1/deployments', { name: 'cnn', model: 'cnn', max_batch_size: 8, batch_timeout_ms: 2 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ name: 'cnn', model: 'cnn', model_version: 1, backend: 'local', replicas: { min: 1, max: 1 } });
    const ready = await waitStatus('cnn', 'ready');
    expect(ready.signature.inputs[0]).toMatchObject({ name: 'input', dtype: 'float32' });
    expect(ready.replica_status).toHaveLength(1);
    expect(ready.replica_status[0]).toMatchObject({ state: 'ready' });

    const images = [image(1), image(2), image(3)];
    const want = await expected(images);
    const json = await predictJson('cnn', images);
    expect(json.status, JSON.stringify(json.body)).toBe(200);
    const got = json.body.outputs.logits as number[][];
    got.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(want[i]![j]!, 4)));
    expect(json.body).toMatchObject({ model: 'cnn', model_version: 1 });

    // Seed 004's {"image"} body, answered as mnist_serve answers.
    const img = await api(server.url, 'POST', '/api/v1/deployments/cnn/predict', { image: images[0] });
    expect(img.status).toBe(200);
    const best = want[0]!.indexOf(Math.max(...want[0]!));
    expect(img.body).toMatchObject({ prediction: best, label: ['T-shirt', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Boot'][best] });
    expect(img.body.probabilities).toHaveLength(10);

    // Raw float32 with a shape header, answered in kind.
    const raw = await request(`${server.url}/api/v1/deployments/cnn/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'x-lakeray-shape': '3,1,28,28' },
      body: Buffer.from(Float32Array.from(images.flat()).buffer),
    });
    expect(raw.statusCode).toBe(200);
    expect(raw.headers['x-lakeray-shape']).toBe('3,10');
    const bytes = Buffer.from(await raw.body.arrayBuffer());
    const floats = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    expect(floats[10 * 2 + 3]).toBeCloseTo(want[2]![3]!, 4);

    // Arrow IPC: one column per input, one row per image; the answer has one column per output.
    const arrowBody = encodeArrow({ input: { dtype: 'float32', shape: [3, 1, 28, 28], data: Float32Array.from(images.flat()) } });
    const arrow = await request(`${server.url}/api/v1/deployments/cnn/predict`, { method: 'POST', headers: { 'content-type': 'application/vnd.apache.arrow.stream' }, body: Buffer.from(arrowBody) });
    expect(arrow.statusCode).toBe(200);
    const table = tableFromIPC(Buffer.from(await arrow.body.arrayBuffer()));
    expect(table.numRows).toBe(3);
    const row1 = Array.from(table.getChild('logits')!.get(1) as Iterable<number>);
    row1.forEach((v, j) => expect(v).toBeCloseTo(want[1]![j]!, 4));
  }, 120_000);

  it('refuses a malformed tensor with 400 naming the input and the expected shape, and serves the next request', async () => {
    const bad = await api(server.url, 'POST', '/api/v1/deployments/cnn/predict', { inputs: { input: [[1, 2, 3]] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_TENSOR');
    expect(bad.body.error.message).toMatch(/input "input".*28, 28/);
    const unknown = await api(server.url, 'POST', '/api/v1/deployments/nope/predict', { inputs: [] });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('DEPLOYMENT_NOT_FOUND');
    // The predict route checks its params by hand (routes/deployments.ts predictValidator), zod
    // only for a name that breaks the rule: the same 400 and message as the other routes' zod check.
    const longest = await api(server.url, 'POST', `/api/v1/deployments/${'n'.repeat(63)}/predict`, { inputs: [] });
    expect(longest.status).toBe(404);
    const tooLong = await api(server.url, 'POST', `/api/v1/deployments/${'n'.repeat(64)}/predict`, { inputs: [] });
    const viaGet = await api(server.url, 'GET', `/api/v1/deployments/${'n'.repeat(64)}`);
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error).toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/name/) });
    expect(tooLong.body.error).toEqual(viaGet.body.error);
    expect((await predictJson('cnn', [image(9)])).status).toBe(200);
  }, 60_000);

  it("seed 004's {image}: the fast read (serving/json-image.ts) and the ordinary parser answer alike; other bodies keep their refusals", async () => {
    const post = async (body: string) => {
      const r = await request(`${server.url}/api/v1/deployments/cnn/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      return { status: r.statusCode, body: (await r.body.json()) as { probabilities?: number[]; error?: { code: string; message: string } } };
    };
    const im = image(5);
    const compact = await post(JSON.stringify({ image: im }));
    expect(compact.status).toBe(200);
    // The same numbers spaced out and in exponent form (fast read), and as 28 rows of 28 (the ordinary parser).
    const spaced = await post(`\n{ "image" : [ ${im.map((v) => v.toExponential()).join(' ,\t')} ] }\n`);
    const rows = await post(JSON.stringify({ image: chunk(im) }));
    expect(spaced.body.probabilities).toEqual(compact.body.probabilities);
    expect(rows.body.probabilities).toEqual(compact.body.probabilities);
    const short = await post('{"image": [0.5, 1]}');
    expect(short.status).toBe(400);
    expect(short.body.error).toMatchObject({ code: 'INVALID_TENSOR', message: expect.stringMatching(/image of shape \[2\]/) });
    // A number past a double's range is Infinity to JSON.parse: refused, not clipped to 1.
    const huge = await post(`{"image": [1e400${', 0.5'.repeat(783)}]}`);
    expect(huge.status).toBe(400);
    expect(huge.body.error?.code).toBe('INVALID_TENSOR');
    // Not JSON, and JSON nested past server.max_json_depth (64): refused as on every other route.
    expect((await post('{"image": [0.5, 1,]}')).status).toBe(400);
    const deep = await post(`{"image": ${'['.repeat(100)}1${']'.repeat(100)}}`);
    expect(deep.status).toBe(400);
    expect(deep.body.error).toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/nested more than 64 levels/) });
  }, 60_000);

  it('batches concurrent requests and reports it in stats; PATCH under steady load fails nothing', async () => {
    let stop = false;
    const failures: unknown[] = [];
    let done = 0;
    const client = async (seed: number) => {
      while (!stop) {
        const r = await predictJson('cnn', [image(seed)]);
        if (r.status !== 200) failures.push(r.body);
        done++;
      }
    };
    const clients = Array.from({ length: 16 }, (_, i) => client(i));
    await until('some load', async () => done > 50 || undefined, 60_000, 20);
    for (const patch of [{ max_batch_size: 2 }, { load_balance_strategy: 'round_robin' }, { replicas: { max: 2, min: 2 } }, { max_batch_size: 16, batch_timeout_ms: 5 }, { replicas: { min: 1, max: 1 } }]) {
      const r = await api(server.url, 'PATCH', '/api/v1/deployments/cnn', patch);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const before = done;
      await until('requests after the patch', async () => done > before + 40 || undefined, 60_000, 20);
    }
    stop = true;
    await Promise.all(clients);
    expect(failures).toEqual([]);
    const stats = (await api(server.url, 'GET', '/api/v1/deployments/cnn/stats')).body;
    expect(stats.requests_total).toBeGreaterThan(200);
    expect(stats.mean_batch_size).toBeGreaterThan(1);
    expect(Object.keys(stats.batch_size_histogram).length).toBeGreaterThan(1);
    expect(stats.latency_ms.p50).toBeGreaterThan(0);
    // The same numbers in /metrics.
    const metrics = await request(`${server.url}/metrics`);
    const text = await metrics.body.text();
    const answered = Number(/lakeray_serving_requests_total\{deployment="cnn"\} (\d+)/.exec(text)?.[1]);
    expect(answered).toBeGreaterThanOrEqual(stats.requests_total);
    expect(text).toMatch(/lakeray_serving_latency_ms\{deployment="cnn",quantile="0.95"\} [\d.]+/);
    expect(text).toMatch(/lakeray_serving_replicas\{deployment="cnn",state="ready"\} 1/);
  }, 180_000);

  it('close_batch_when_idle (PATCH, off by default): a lone request goes at once to the idle replica, not after batch_timeout_ms', async () => {
    expect((await api(server.url, 'GET', '/api/v1/deployments/cnn')).body.close_batch_when_idle).toBe(false);
    const timed = async (): Promise<number> => {
      const t0 = performance.now();
      expect((await predictJson('cnn', [image(3)])).status).toBe(200);
      return performance.now() - t0;
    };
    const patched = await api(server.url, 'PATCH', '/api/v1/deployments/cnn', { batch_timeout_ms: 3000, close_batch_when_idle: true });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.close_batch_when_idle).toBe(true);
    expect((await api(server.url, 'GET', '/api/v1/deployments/cnn/stats')).body.settings).toMatchObject({ batch_timeout_ms: 3000, close_batch_when_idle: true });
    expect(await timed()).toBeLessThan(1500);
    // The plain rule: the lone request waits its batch timeout.
    expect((await api(server.url, 'PATCH', '/api/v1/deployments/cnn', { batch_timeout_ms: 1600, close_batch_when_idle: false })).status).toBe(200);
    expect(await timed()).toBeGreaterThanOrEqual(1500);
    expect((await api(server.url, 'PATCH', '/api/v1/deployments/cnn', { batch_timeout_ms: 5 })).status).toBe(200);
  }, 60_000);

  it('scales to zero when idle and serves the next request after a cold start, never refusing it', async () => {
    // An older version is served with its own params (here its class names), not the latest's.
    const old = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
    expect(await storeModel('labelled', 'mnist_cnn.onnx', { classes: old })).toBe(1);
    expect(await storeModel('labelled', 'mnist_cnn.onnx', { classes: old.map((c) => c.toUpperCase()) })).toBe(2);
    const r = await api(server.url, 'POST', '/api/v1/deployments', { name: 'cold', model: 'labelled@1', replicas: { min: 0, max: 1, idle_timeout_s: 1 } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.model_version).toBe(1);
    // It starts one replica to learn the model's inputs, then retires it when idle.
    await waitStatus('cold', 'scaled_to_zero', 120_000);
    const res = await predictJson('cold', [image(4)]);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const img = await api(server.url, 'POST', '/api/v1/deployments/cold/predict', { image: image(4) });
    expect(img.body.label_names).toEqual(old);
    const stats = (await api(server.url, 'GET', '/api/v1/deployments/cold/stats')).body;
    expect(stats.cold_starts.count).toBeGreaterThanOrEqual(1);
    expect(stats.cold_starts.last_ms).toBeGreaterThan(0);
    expect((await api(server.url, 'DELETE', '/api/v1/deployments/cold')).status).toBe(204);
    expect((await api(server.url, 'GET', '/api/v1/deployments/cold')).status).toBe(404);
  }, 240_000);

  it('refuses bad specs with one clear 4xx and applies nothing', async () => {
    const dup = await api(server.url, 'POST', '/api/v1/deployments', { name: 'cnn', model: 'cnn' });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('DEPLOYMENT_EXISTS');
    const missing = await api(server.url, 'POST', '/api/v1/deployments', { name: 'm', model: 'no_such_model' });
    expect(missing.status).toBe(404);
    const version = await api(server.url, 'POST', '/api/v1/deployments', { name: 'v', model: 'cnn@7' });
    expect(version.status).toBe(404);
    expect(version.body.error.code).toBe('VERSION_NOT_FOUND');
    const minmax = await api(server.url, 'POST', '/api/v1/deployments', { name: 'mm', model: 'cnn', replicas: { min: 3, max: 2 } });
    expect(minmax.status).toBe(400);
    expect(minmax.body.error.message).toMatch(/replicas.min/);
    const field = await api(server.url, 'PATCH', '/api/v1/deployments/cnn', { max_batch_size: 0 });
    expect(field.status).toBe(400);
    expect(field.body.error.message).toMatch(/max_batch_size/);
    const list = await api(server.url, 'GET', '/api/v1/deployments');
    expect(list.body.items.map((d: { name: string }) => d.name)).toEqual(['cnn']);
  }, 60_000);

  it('comes back after a server restart, with fresh replicas', async () => {
    await server.close();
    server = await startServer({ config: configFor(dir), port: 0, logLevel: 'silent' });
    const back = await waitStatus('cnn', 'ready', 120_000);
    expect(back).toMatchObject({ name: 'cnn', max_batch_size: 16, batch_timeout_ms: 5, load_balance_strategy: 'round_robin' });
    expect((await predictJson('cnn', [image(5)])).status).toBe(200);
  }, 240_000);
});
