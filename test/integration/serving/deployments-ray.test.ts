/**
 * `backend: "ray"` deployments end to end: a real Lakeray server configured with a Ray
 * executor whose real head runs Serve, the MNIST CNN fixture in the lake. POST deploys it as a
 * Serve application; predictions through Lakeray's gateway equal onnxruntime-node in this
 * process; GET shows Serve's status and replicas; PATCH re-deploys the batch settings (Serve's
 * user_config); a restarted server re-deploys it; DELETE removes the app. Without a Ray
 * executor, a ray deployment is a clear 400.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { startServer, type RunningServer } from '../../../src/main.ts';
import { RayServeClient } from '../../../src/serving/ray/serve-client.ts';
import { serveAppName } from '../../../src/serving/ray/serve-config.ts';
import { rayHead, serveLock, type RayHead } from '../../helpers/ray-head.ts';
import { api, freePort, tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';

const FIXTURES = join(import.meta.dirname, '../../fixtures/serving');
const NAME = `rd${process.pid}`;

let head: RayHead;
let server: RunningServer;
let dir: string;
let serve: RayServeClient;
let session: ort.InferenceSession;

const configFor = (d: string, ray: boolean) =>
  parseConfig(
    {
      state_dir: join(d, 'state'),
      script_roots: [d],
      data_roots: [d],
      lake: { root: join(d, 'lake') },
      executors: { local: { cpu: 2 }, ...(ray ? { cluster: { kind: 'ray', address: head.url } } : {}) },
    },
    d,
    {},
  );

const image = (seed: number): number[] => Array.from({ length: 784 }, (_, i) => ((i * 31 + seed * 17) % 97) / 96);
const chunk = (im: number[]): number[][] => Array.from({ length: 28 }, (_, r) => im.slice(r * 28, r * 28 + 28));
const predictJson = (images: number[][]) => api(server.url, 'POST', `/api/v1/deployments/${NAME}/predict`, { inputs: { input: images.map((im) => [chunk(im)]) } });

const expected = async (images: number[][]): Promise<number[][]> => {
  const out = await session.run({ input: new ort.Tensor('float32', Float32Array.from(images.flat()), [images.length, 1, 28, 28]) });
  const logits = Array.from(out.logits!.data as Float32Array);
  return images.map((_, i) => logits.slice(i * 10, i * 10 + 10));
};

const waitStatus = (status: string, ms = 300_000) =>
  until(`deployment ${NAME} ${status}`, async () => {
    const r = await api(server.url, 'GET', `/api/v1/deployments/${NAME}`);
    return r.body.status === status ? r.body : undefined;
  }, ms, 250);

let releaseServe: (() => void) | undefined;

beforeAll(async () => {
  head = await rayHead({ serve: true });
  releaseServe = await serveLock();
  // Serve's proxy on a free port (never the fixed 8000) when this test is the one that starts Serve.
  serve = new RayServeClient({ address: head.url, http: { host: '127.0.0.1', port: await freePort() }, timeoutMs: 60_000 });
  await serve.start();
  dir = tempDir('lakeray-deploy-ray-');
  server = await startServer({ config: configFor(dir, true), port: 0, logLevel: 'silent' });
  session = await ort.InferenceSession.create(readFileSync(join(FIXTURES, 'mnist_cnn.onnx')));
  const { createLakeClient } = await import(pathToFileURL(join(import.meta.dirname, '../../../runtimes/node/lake.mjs')).href);
  await createLakeClient({ apiUrl: server.url }).writeModel({ name: 'cnn', files: { 'model.onnx': readFileSync(join(FIXTURES, 'mnist_cnn.onnx')) }, params: {} });
}, 900_000);

afterAll(async () => {
  try {
    await server?.close();
    await serve?.remove(serveAppName(NAME)).catch(() => undefined);
    await serve?.close();
  } finally {
    releaseServe?.();
  }
}, 120_000);

describe('ray deployments', () => {
  it('deploys as a Serve application and predicts through the gateway like onnxruntime in-process', async () => {
    const created = await api(server.url, 'POST', '/api/v1/deployments', { name: NAME, model: 'cnn', backend: 'ray', max_batch_size: 8, batch_timeout_ms: 20 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ name: NAME, backend: 'ray', executor: 'cluster', status: 'starting' });

    const ready = await waitStatus('ready');
    expect(ready.signature.inputs[0]).toMatchObject({ name: 'input', dtype: 'float32' });
    expect(ready.replica_status).toHaveLength(1);
    expect(ready.replica_status[0]).toMatchObject({ state: 'ready', task_id: null, gpus: [] });
    // The app Serve runs is the one the spec says.
    const app = await serve.application(serveAppName(NAME));
    expect(app?.status).toBe('RUNNING');
    expect(app?.deployed_app_config?.deployments[0]).toMatchObject({
      num_replicas: 1,
      user_config: { max_batch_size: 8, batch_wait_timeout_s: 0.02 },
      ray_actor_options: { num_cpus: 1, num_gpus: 0 },
    });
    expect(Object.values(app!.deployments)[0]!.replicas[0]!.replica_id).toBe(ready.replica_status[0].id);

    const images = Array.from({ length: 12 }, (_, i) => image(i));
    const want = await expected(images);
    // Concurrent single-image requests: the gateway passes each on, Serve batches them.
    const answers = await Promise.all(images.map((im) => predictJson([im])));
    answers.forEach((r, i) => {
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      (r.body.outputs.logits[0] as number[]).forEach((v, j) => expect(v).toBeCloseTo(want[i]![j]!, 4));
    });
    const three = await predictJson(images.slice(0, 3));
    expect(three.status).toBe(200);
    expect(three.body.outputs.logits).toHaveLength(3);

    const bad = await api(server.url, 'POST', `/api/v1/deployments/${NAME}/predict`, { inputs: { input: [[1, 2, 3]] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_TENSOR');

    const stats = (await api(server.url, 'GET', `/api/v1/deployments/${NAME}/stats`)).body;
    expect(stats.requests_total).toBeGreaterThanOrEqual(13);
    // The gateway does not batch a second time: Serve does.
    expect(stats.settings.enable_dynamic_batching).toBe(false);
  }, 600_000);

  it('PATCH re-deploys the batch settings into Serve without restarting its replica', async () => {
    const before = (await api(server.url, 'GET', `/api/v1/deployments/${NAME}`)).body.replica_status[0].id;
    const r = await api(server.url, 'PATCH', `/api/v1/deployments/${NAME}`, { max_batch_size: 4 });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.max_batch_size).toBe(4);
    const app = await until('Serve took the new user_config', async () => {
      const a = await serve.application(serveAppName(NAME));
      const config = a?.deployed_app_config?.deployments[0] as { user_config?: { max_batch_size?: number } } | undefined;
      return a?.status === 'RUNNING' && config?.user_config?.max_batch_size === 4 ? a : undefined;
    }, 300_000, 500);
    expect(Object.values(app.deployments)[0]!.replicas.map((x) => x.replica_id)).toEqual([before]);
    expect((await predictJson([image(40)])).status).toBe(200);
  }, 360_000);

  it('a restarted server re-deploys the stored ray deployment and serves it', async () => {
    await server.close();
    server = await startServer({ config: configFor(dir, true), port: 0, logLevel: 'silent' });
    const back = await waitStatus('ready');
    expect(back).toMatchObject({ backend: 'ray', max_batch_size: 4 });
    const r = await predictJson([image(41)]);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const want = await expected([image(41)]);
    (r.body.outputs.logits[0] as number[]).forEach((v, j) => expect(v).toBeCloseTo(want[0]![j]!, 4));
    // The new server's URL is what the app reads the model from now.
    const app = await serve.application(serveAppName(NAME));
    expect(app?.deployed_app_config?.args).toMatchObject({ lakeray_url: server.url });
  }, 600_000);

  it('DELETE removes the Serve application', async () => {
    expect((await api(server.url, 'DELETE', `/api/v1/deployments/${NAME}`)).status).toBe(204);
    expect(await serve.application(serveAppName(NAME))).toBeNull();
    expect((await api(server.url, 'GET', `/api/v1/deployments/${NAME}`)).status).toBe(404);
  }, 180_000);

  it('refuses a ray deployment with a clear 400 when no Ray executor is configured, or a wrong one is named', async () => {
    const named = await api(server.url, 'POST', '/api/v1/deployments', { name: 'x', model: 'cnn', backend: 'ray', executor: 'nope' });
    expect(named.status).toBe(400);
    expect(named.body.error.message).toMatch(/"nope" is not one of the configured Ray executors \(cluster\)/);
    const other = tempDir('lakeray-deploy-noray-');
    const plain = await startServer({ config: configFor(other, false), port: 0, logLevel: 'silent' });
    try {
      const r = await api(plain.url, 'POST', '/api/v1/deployments', { name: 'x', model: 'cnn', backend: 'ray' });
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'INVALID_REQUEST' });
      expect(r.body.error.message).toMatch(/needs a Ray executor.*none is configured/);
      expect((await api(plain.url, 'GET', '/api/v1/deployments')).body.items).toEqual([]);
    } finally {
      await plain.close();
    }
  }, 120_000);
});
