/**
 * The `ray` serving backend against a real Ray head with Serve: a small CNN (made here with
 * torch, exported to ONNX) in a real Lakeray server's lake, deployed as a Serve application
 * through the dashboard's REST API, its code shipped as a gcs:// package; predictions through
 * RayServeReplica compared with onnxruntime-node in this process; Serve batching seen in the
 * answers; a reconfigure by a second PUT; an application Lakeray did not create kept through
 * our PUTs; bad inputs refused alone; delete.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { RayJobsClient } from '../../../src/executors/ray/jobs-client.ts';
import arrow from '../../../src/lake/arrow.ts';
import { startServer, type RunningServer } from '../../../src/main.ts';
import { RayServeBackend, type RayServeDeploySpec } from '../../../src/serving/ray/ray-serve-backend.ts';
import type { RayServeReplica } from '../../../src/serving/ray/ray-serve-replica.ts';
import { RayServeClient } from '../../../src/serving/ray/serve-client.ts';
import { serveAppName } from '../../../src/serving/ray/serve-config.ts';
import { ReplicaError, type Tensor } from '../../../src/serving/types.ts';
import { rayHead, serveLock, type RayHead } from '../../helpers/ray-head.ts';
import { freePort, tempDir } from '../../helpers/server-process.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const APP_DIR = join(ROOT, 'runtimes/serving');

/** A seeded MNIST-shaped CNN with random weights, as ONNX with a dynamic batch dimension. */
function makeOnnx(out: string): Buffer {
  const script = `
import io, sys, torch, warnings
torch.manual_seed(13)
m = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(4 * 13 * 13, 10)).eval()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    torch.onnx.export(m, torch.zeros(1, 1, 28, 28), sys.argv[1], dynamo=False, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17)
`;
  execFileSync(join(ROOT, '.venv/bin/python'), ['-c', script, out], { stdio: 'pipe' });
  return readFileSync(out);
}

function modelUpload(files: Record<string, Buffer>): Buffer {
  const names = Object.keys(files);
  const schema = new arrow.Schema([new arrow.Field('file', new arrow.Utf8()), new arrow.Field('data', new arrow.LargeBinary())]);
  const t = new arrow.Table({
    file: arrow.vectorFromArray(names, new arrow.Utf8()),
    data: arrow.vectorFromArray(Object.values(files).map((b) => new Uint8Array(b)), new arrow.LargeBinary()),
  });
  return Buffer.from(arrow.tableToIPC(new arrow.Table(schema, t.batches.map((b) => new arrow.RecordBatch(schema, b.data))), 'stream'));
}

const images = (rows: number, seed: number): Tensor => {
  const data = new Float32Array(rows * 784);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 31 + seed * 17) % 255) / 255;
  return { dtype: 'float32', shape: [rows, 1, 28, 28], data };
};

let head: RayHead;
let server: RunningServer;
let serve: RayServeClient;
let jobs: RayJobsClient;
let backend: RayServeBackend;
let local: ort.InferenceSession;
const replicas: RayServeReplica[] = [];
const NAME = `rs${process.pid}`;

const spec = (over: Partial<RayServeDeploySpec> = {}): RayServeDeploySpec => ({
  deployment: NAME,
  model: 'tiny_cnn',
  version: 1,
  lakerayUrl: server.url,
  replicas: { min: 1, max: 1 },
  resources: { cpu: 0.25, gpu: 0 },
  max_batch_size: 8,
  batch_timeout_ms: 50,
  enable_dynamic_batching: true,
  ...over,
});

let releaseServe: (() => void) | undefined;

beforeAll(async () => {
  head = await rayHead({ serve: true });
  releaseServe = await serveLock();
  const dir = tempDir('lakeray-ray-serve-');
  const config = parseConfig({ state_dir: join(dir, 'state'), lake: { root: join(dir, 'lake') }, script_roots: [dir], data_roots: [join(dir, 'data')] }, dir, {});
  server = await startServer({ config, port: 0, logLevel: 'silent' });
  const onnx = makeOnnx(join(dir, 'tiny_cnn.onnx'));
  const put = await request(`${server.url}/api/v1/models/tiny_cnn/arrow`, { method: 'PUT', body: modelUpload({ 'model.onnx': onnx }), headers: { 'content-type': 'application/vnd.apache.arrow.stream' } });
  expect(put.statusCode, await put.body.text()).toBe(200);
  local = await ort.InferenceSession.create(onnx);
  serve = new RayServeClient({ address: head.url, http: { host: '127.0.0.1', port: await freePort() }, timeoutMs: 60_000 });
  jobs = new RayJobsClient({ address: head.url });
  backend = new RayServeBackend(serve, jobs, APP_DIR);
}, 900_000);

afterAll(async () => {
  try {
    await backend?.remove(NAME).catch(() => undefined);
    await serve?.remove('other').catch(() => undefined);
    await Promise.all(replicas.map((r) => r.close()));
    await serve?.close();
    await jobs?.close();
    await server?.close();
  } finally {
    releaseServe?.();
  }
}, 120_000);

async function expected(t: Tensor): Promise<Float32Array> {
  const out = await local.run({ input: new ort.Tensor('float32', t.data as Float32Array, t.shape) });
  return out.logits!.data as Float32Array;
}

describe('Ray Serve backend', () => {
  it('deploys the lake model as a Serve app and answers like onnxruntime-node', async () => {
    await backend.deploy(spec(), 300_000);
    const app = await serve.application(serveAppName(NAME));
    expect(app?.status).toBe('RUNNING');
    expect(app?.deployed_app_config?.runtime_env.working_dir).toMatch(/^gcs:\/\/_ray_pkg_[0-9a-f]{64}\.zip$/);
    const status = await backend.replicaStatus(NAME);
    expect(status).toHaveLength(1);
    expect(status[0]).toMatchObject({ state: 'ready', gpus: [], task_id: null });

    const replica = await backend.replica(NAME);
    replicas.push(replica);
    expect(await replica.signature()).toEqual({
      inputs: [{ name: 'input', dtype: 'float32', shape: ['batch', 1, 28, 28] }],
      outputs: [{ name: 'logits', dtype: 'float32', shape: ['batch', 10] }],
    });
    for (const rows of [1, 5]) {
      const input = images(rows, rows);
      const out = await replica.infer({ input });
      expect(out.logits!.shape).toEqual([rows, 10]);
      const want = await expected(input);
      const got = out.logits!.data as Float32Array;
      for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 4);
    }
  }, 420_000);

  it('batches concurrent requests inside Serve, each answer its own rows', async () => {
    const replica = replicas[0]!;
    const inputs = Array.from({ length: 24 }, (_, i) => images(1 + (i % 3), 100 + i));
    const answers = await Promise.all(inputs.map((input) => replica.inferWithBatch({ input })));
    for (const [i, a] of answers.entries()) {
      const want = await expected(inputs[i]!);
      expect(a.outputs.logits!.shape).toEqual([inputs[i]!.shape[0], 10]);
      const got = a.outputs.logits!.data as Float32Array;
      for (let k = 0; k < want.length; k++) expect(got[k]).toBeCloseTo(want[k]!, 4);
      expect(a.batch.requests).toBeLessThanOrEqual(8);
    }
    const sizes = answers.map((a) => a.batch.requests);
    expect(Math.max(...sizes)).toBeGreaterThan(1);
  }, 120_000);

  it('a request that does not fit the model is refused alone (rejected), the others answered', async () => {
    const replica = replicas[0]!;
    const bad = { input: { dtype: 'float32', shape: [2, 784], data: new Float32Array(2 * 784) } as Tensor };
    const [refused, fine] = await Promise.allSettled([replica.infer(bad), replica.infer({ input: images(2, 7) })]);
    expect(refused.status).toBe('rejected');
    const err = (refused as PromiseRejectedResult).reason as ReplicaError;
    expect(err).toBeInstanceOf(ReplicaError);
    expect(err.failure).toBe('rejected');
    expect(err.message).toMatch(/input "input": expected \[batch, 1, 28, 28\] float32, got \[2, 784\]/);
    expect(fine.status).toBe('fulfilled');
  }, 60_000);

  it('reconfigures batching with a second PUT and keeps an application Lakeray did not create', async () => {
    // Someone else's application, deployed declaratively beside ours: our PUTs must keep it.
    const other = { ...(await serve.application(serveAppName(NAME)))!.deployed_app_config!, name: 'other', route_prefix: '/other' };
    await serve.deploy(other);
    await serve.waitFor('other', { timeoutMs: 300_000 });

    await backend.deploy(spec({ enable_dynamic_batching: false }), 300_000);
    const ours = await serve.application(serveAppName(NAME));
    expect(ours?.deployed_app_config?.deployments[0]).toMatchObject({ user_config: { max_batch_size: 1, batch_wait_timeout_s: 0 } });
    expect((await serve.application('other'))?.status).toBe('RUNNING');

    const replica = replicas[0]!;
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => replica.inferWithBatch({ input: images(1, i) })));
    expect(answers.map((a) => a.batch.requests)).toEqual(Array(12).fill(1));

    await backend.remove(NAME);
    expect(await serve.application(serveAppName(NAME))).toBeNull();
    expect((await serve.application('other'))?.status).toBe('RUNNING');
    await expect(replica.infer({ input: images(1, 1) })).rejects.toMatchObject({ failure: 'lost' });
    expect(await serve.remove('other')).toBe(true);
  }, 600_000);

  it('a model the lake does not have fails the deploy with Serve\'s reason', async () => {
    await expect(backend.deploy(spec({ deployment: `${NAME}x`, model: 'no_such_model' }), 300_000)).rejects.toThrow(/failed to deploy.*LakerayOnnx: .*cannot read model.onnx of no_such_model@1 from http.*404/s);
    await backend.remove(`${NAME}x`);
  }, 360_000);
});
