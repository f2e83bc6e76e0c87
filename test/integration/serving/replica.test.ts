/**
 * The local serving replica end to end: a real server, the ONNX fixture written into the lake as
 * a model, runtimes/serving/lakeray-onnx-replica.mjs submitted as a service task exactly as the
 * deployment manager does (docs/serving.md), and ReplicaClient talking to it. Outputs are
 * compared with onnxruntime-node run in this process on the same bytes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { startServer, type RunningServer } from '../../../src/main.ts';
import { ReplicaClient } from '../../../src/serving/local/replica-client.ts';
import { ReplicaError, type Tensor, type TensorMap } from '../../../src/serving/types.ts';
import { api, tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';

const FIXTURES = join(import.meta.dirname, '../../fixtures/serving');
const SESSION_OPTIONS = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' } as const;

let server: RunningServer;
let dir: string;
const clients: ReplicaClient[] = [];

/** Write an ONNX fixture into the lake as model `name`; its version. */
const storeModel = async (name: string, file: string): Promise<number> => {
  // The Node harness's own lake client (untyped .mjs: imported by URL), as a training task writes models.
  const { createLakeClient } = await import(pathToFileURL(join(import.meta.dirname, '../../../runtimes/node/lake.mjs')).href);
  const written = await createLakeClient({ apiUrl: server.url }).writeModel({ name, files: { 'model.onnx': readFileSync(join(FIXTURES, file)) }, params: {} });
  return Number(written.version);
};

/** The replica as the deployment manager submits it; resolves once the service is ready. */
const startReplica = async (model: string, version: number, id: string) => {
  const r = await api(server.url, 'POST', '/api/v1/tasks', {
    script: 'lakeray-onnx-replica.mjs',
    executor: 'local',
    params: { model, version, threads: 1, deployment: 'test' },
    resources: { cpu: 1, gpu: 0 },
    service: { health_path: '/health', restart: 'never', max_restarts: 0, startup_timeout_s: 60 },
    labels: { 'lakeray.deployment': 'test', 'lakeray.replica': id },
  });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  const taskId = r.body.id as string;
  const ready = await until(`replica ${id} ready`, async () => {
    const evs = (await api(server.url, 'GET', `/api/v1/tasks/${taskId}/events?types=service,error&limit=100`)).body.events as { type: string; data: Record<string, unknown> }[];
    const failed = evs.find((e) => e.type === 'error');
    if (failed) throw new Error(`replica failed: ${JSON.stringify(failed.data)}`);
    return evs.find((e) => e.data.state === 'ready');
  }, 90_000, 100);
  const client = new ReplicaClient({ id, url: String(ready.data.url) });
  clients.push(client);
  return { taskId, client };
};

const random = (shape: number[]): Tensor => {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = Math.random();
  return { dtype: 'float32', shape, data };
};

const runInProcess = async (session: ort.InferenceSession, inputs: TensorMap): Promise<Record<string, number[]>> => {
  const feeds = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, new ort.Tensor('float32', t.data as Float32Array, t.shape)]));
  const out = await session.run(feeds);
  return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, Array.from(t.data as Float32Array)]));
};

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

beforeAll(async () => {
  dir = tempDir('lakeray-replica-');
  const config = parseConfig(
    { state_dir: join(dir, 'state'), script_roots: [dir], data_roots: [dir], lake: { root: join(dir, 'lake') }, executors: { local: { cpu: 4, kill_grace_ms: 1500 } } },
    dir,
    {},
  );
  server = await startServer({ config, port: 0, logLevel: 'silent' });
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server?.close();
});

describe('local ONNX replica', () => {
  it('serves the CNN: signature, a batch of 32 equal to in-process onnxruntime, a refused shape, and lost once killed', async () => {
    const version = await storeModel('mnist_cnn', 'mnist_cnn.onnx');
    const { taskId, client } = await startReplica('mnist_cnn', version, 'r1');

    expect(await client.signature()).toEqual({
      inputs: [{ name: 'input', dtype: 'float32', shape: ['batch', 1, 28, 28] }],
      outputs: [{ name: 'logits', dtype: 'float32', shape: ['batch', 10] }],
    });

    const local = await ort.InferenceSession.create(join(FIXTURES, 'mnist_cnn.onnx'), SESSION_OPTIONS);
    const batch = { input: random([32, 1, 28, 28]) };
    const out = await client.infer(batch);
    expect(out.logits!.shape).toEqual([32, 10]);
    expect(out.logits!.dtype).toBe('float32');
    expect(Array.from(out.logits!.data as Float32Array)).toEqual((await runInProcess(local, batch)).logits);

    // The replica checks the inputs before onnxruntime sees them: 400 → rejected, with the reason.
    const wrong = client.infer({ input: random([2, 784]) });
    await expect(wrong).rejects.toBeInstanceOf(ReplicaError);
    await expect(wrong).rejects.toMatchObject({ failure: 'rejected', message: 'input "input": expected [batch, 1, 28, 28] float32, got [2, 784] float32' });
    const unknown = client.infer({ input: random([1, 1, 28, 28]), extra: random([1, 3]) });
    await expect(unknown).rejects.toMatchObject({ failure: 'rejected', message: expect.stringContaining('input "extra": the model has no such input') });

    // For information (the machine is shared: not a benchmark): one row through the client vs in process.
    const one = { input: random([1, 1, 28, 28]) };
    const viaClient: number[] = [];
    const inProcess: number[] = [];
    for (let i = 0; i < 200; i++) {
      let t = performance.now();
      await client.infer(one);
      viaClient.push(performance.now() - t);
      t = performance.now();
      await runInProcess(local, one);
      inProcess.push(performance.now() - t);
    }
    console.info(`one row: client round trip median ${median(viaClient).toFixed(3)} ms, in-process session.run median ${median(inProcess).toFixed(3)} ms`);

    const placement = (await server.engine.get({ tenant: 'default' }, taskId)).assignment?.placement;
    const pid = placement?.kind === 'process' ? Number(placement.pid) : 0;
    expect(pid, JSON.stringify(placement)).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    await until('the replica task to end', async () => ['failed', 'completed', 'cancelled'].includes((await api(server.url, 'GET', `/api/v1/tasks/${taskId}`)).body.status));
    await expect(client.infer(one)).rejects.toMatchObject({ name: 'ReplicaError', failure: 'lost' });
    await local.release();
  }, 180_000);

  it('serves a two-input GRU chunk by chunk and stops cleanly when its task is cancelled', async () => {
    const version = await storeModel('gru_rows', 'gru_rows.onnx');
    const { taskId, client } = await startReplica('gru_rows', version, 'r2');
    const local = await ort.InferenceSession.create(join(FIXTURES, 'gru_rows.onnx'), SESSION_OPTIONS);

    let remote = { dtype: 'float32', shape: [3, 64], data: new Float32Array(3 * 64) } as Tensor;
    let inProcess = remote;
    for (let row = 0; row < 4; row++) {
      const x = random([3, 28]);
      const got = await client.infer({ x, h0: remote });
      const want = await runInProcess(local, { x, h0: inProcess });
      expect(Array.from(got.logits!.data as Float32Array)).toEqual(want.logits);
      expect(Array.from(got.hn!.data as Float32Array)).toEqual(want.hn);
      remote = got.hn!;
      inProcess = { dtype: 'float32', shape: [3, 64], data: Float32Array.from(want.hn!) };
    }
    const mismatch = client.infer({ x: random([3, 28]), h0: random([2, 64]) });
    await expect(mismatch).rejects.toMatchObject({ failure: 'rejected', message: 'input "h0": expected [batch, 64] float32, got [2, 64] float32: 2 rows where input "x" has 3' });

    const cancelled = await api(server.url, 'POST', `/api/v1/tasks/${taskId}/cancel`);
    expect(cancelled.status).toBe(200);
    const end = await until('the replica task to stop', async () => {
      const t = (await api(server.url, 'GET', `/api/v1/tasks/${taskId}`)).body;
      return ['failed', 'completed', 'cancelled'].includes(t.status) ? t : null;
    });
    expect(end.status).toBe('cancelled');
    await expect(client.infer({ x: random([1, 28]), h0: random([1, 64]) })).rejects.toMatchObject({ failure: 'lost' });
    await local.release();
  }, 180_000);
});
