/**
 * Seed 004's client contracts (§3.1 task bodies, §3.5 the served /predict, §4.1 LanceDB on the
 * lake's files, §4.2 the REST tree and its examples, §4.4 the error shape), sent as written to a real server running the
 * shipped examples/mnist scripts on Debian's Fashion-MNIST. The bodies are copied from the seed
 * below; where the seed's text is present (/work/shared/seeds) the test checks they still match.
 *
 * What the test changes, as a user of the seed would on this machine (like seed003-snippets
 * changing the base URL): the raw folder `/data/raw/mnist/` is Debian's MNIST folder (a data
 * root here; outside the data roots it is a 400, see lake-api/data-roots.test.ts), the service's
 * port 8080 is a free port, and training runs one short epoch on a few hundred images
 * (`limit_train`/`limit_test`, params of examples/mnist/mnist_cnn.py) instead of ten full ones.
 *
 * A task's statuses are the seed's §3.2 names (`pending`, `running`, `completed`…) and a
 * completed task carries the seed's `completed_at` (its polling client: seed004-client.test.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { DEBIAN_MNIST_DIR } from '../../../src/examples.ts';
import lancedb from '../../../src/lake/lance/lancedb.ts';
import { PACKAGE_ROOT, startServer, type RunningServer } from '../../../src/main.ts';
import { api, freePort, tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';
import { seedText } from '../../helpers/seed-text.ts';

// §3.1 — the three typical tasks
const INGEST = { name: 'mnist_ingestion', input: '/data/raw/mnist/', script: 'mnist/mnist_clean.py', params: { normalize: true, flatten: true }, output: 'mnist_clean' };
const TRAIN = {
  name: 'mnist_cnn_v1',
  input: 'mnist_clean',
  script: 'mnist/mnist_cnn.py',
  params: { epochs: 10, learning_rate: 0.001, batch_size: 64, device: 'cpu' },
  output: 'mnist_cnn_v1',
};
const SERVE = { name: 'mnist_serve', input: 'lance_storage/models/mnist_cnn_v1.lance', script: 'mnist/mnist_serve.py', output: '', params: { device: 'cpu', port: 8080 } };
// §4.2 — "创建任务" (the ingestion again, its output written as a Lance path)
const CREATE = {
  name: 'mnist_ingestion',
  input: '/data/raw/mnist/',
  script: 'mnist/mnist_clean.py',
  output: 'lance_storage/datasets/mnist_clean.lance',
  params: { normalize: true, flatten: true },
};
// §4.2's answers: the fields a client of the seed reads
const CREATED_KEYS = ['id', 'name', 'status', 'created_at'];
const DONE_KEYS = ['id', 'name', 'status', 'created_at', 'completed_at', 'result'];
const DATASET_KEYS = ['id', 'path', 'schema', 'num_rows'];

const FINAL = ['completed', 'failed', 'cancelled'];
const onThisMachine = (body: { input: string }) => ({ ...body, input: body.input.replace('/data/raw/mnist/', `${DEBIAN_MNIST_DIR}/`) });

let server: RunningServer;
let lakeRoot: string;
const post = (path: string, body: unknown) => api(server.url, 'POST', path, body);
const get = (path: string) => api(server.url, 'GET', path);
const del = (path: string) => api(server.url, 'DELETE', path);
const finished = (id: string, ms: number) =>
  until(`task ${id} to finish`, async () => {
    const t = (await get(`/api/v1/tasks/${id}`)).body;
    return FINAL.includes(t.status) ? t : null;
  }, ms, 100);
const succeeded = async (id: string, ms: number) => {
  const t = await finished(id, ms);
  if (t.status !== 'completed') {
    const logs = await request(`${server.url}/api/v1/tasks/${id}/logs?format=text`);
    throw new Error(`task ${id} ${t.status}: ${JSON.stringify(t.error)}\n${(await logs.body.text()).slice(-3000)}`);
  }
  return t;
};

beforeAll(async () => {
  const dir = tempDir('lakeray-seed004-');
  lakeRoot = join(dir, 'lance_storage');
  const config = parseConfig(
    {
      state_dir: join(dir, 'state'),
      lake: { root: lakeRoot },
      script_roots: [join(PACKAGE_ROOT, 'examples')],
      data_roots: [join(dir, 'data'), DEBIAN_MNIST_DIR],
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

describe("seed 004's bodies", () => {
  it('are copied verbatim from the seed', () => {
    const seed = seedText('004');
    if (seed === undefined) return; // the seed is not on this machine: the copies above stand
    const bodies = [...seed.matchAll(/^POST \/api\/v1\/tasks\n(\{[\s\S]*?\n\})/gm)].map((m) => JSON.parse(m[1]!) as unknown);
    expect(bodies).toEqual([INGEST, TRAIN, SERVE, CREATE]);
    expect(seed).toContain('"id": "task-001",\n    "name": "mnist_ingestion",\n    "status": "running",\n    "created_at"');
    expect(seed).toContain('"status": "completed",\n    "created_at": "2026-02-10T10:00:00Z",\n    "completed_at": "2026-02-10T10:01:30Z",\n    "result": {"total_records": 70000}');
    expect(seed).toContain('"path": "lance_storage/datasets/mnist_clean.lance",\n        "schema": {"image": "List[Float64]", "label": "Int64", "split": "String"},\n        "num_rows": 70000');
  });

  it('the service body\'s "output": "" is accepted as no output (201), not refused; so is "input": ""', async () => {
    const created = await post('/api/v1/tasks', { ...SERVE, params: { ...SERVE.params, port: await freePort() } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ name: 'mnist_serve', input: SERVE.input, output: null });
    const noInput = await post('/api/v1/tasks', { ...SERVE, input: '', params: { ...SERVE.params, port: await freePort() } });
    expect(noInput.status, JSON.stringify(noInput.body)).toBe(201);
    expect(noInput.body).toMatchObject({ input: null, output: null });
    const ids = [created.body.id as string, noInput.body.id as string];
    for (const id of ids) expect((await post(`/api/v1/tasks/${id}/cancel`, undefined)).status).toBe(200); // before torch is even imported
    for (const id of ids) expect((await finished(id, 30_000)).status).toBe('cancelled');
  }, 60_000);
});

describe.runIf(existsSync(DEBIAN_MNIST_DIR) || process.env.CI)("seed 004's MNIST walk-through, as its client makes it", () => {
  let ingest: string;
  let train: string;

  it('§4.2 create: 201 with {id, name, status, created_at}; polling GET gives the result {total_records: 70000}', async () => {
    const created = await post('/api/v1/tasks', onThisMachine(CREATE));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    for (const key of CREATED_KEYS) expect(created.body, key).toHaveProperty(key);
    expect(created.body).toMatchObject({ name: 'mnist_ingestion', status: expect.stringMatching(/^(pending|running)$/) });
    ingest = created.body.id;

    const done = await succeeded(ingest, 120_000);
    for (const key of DONE_KEYS) expect(done, key).toHaveProperty(key);
    expect(done).toMatchObject({ id: ingest, name: 'mnist_ingestion', status: 'completed', result: { total_records: 70_000 } });
    expect(done.completed_at).toBe(done.finished_at);
    expect(new Date(done.completed_at).toISOString()).toBe(done.completed_at);
  }, 150_000);

  it('§4.2 list datasets: [{id: mnist_clean, path, schema {image, label, split}, num_rows: 70000}]; GET /{id} shows its schema', async () => {
    const list = await get('/api/v1/datasets');
    expect(list.status).toBe(200);
    const mnist = (list.body as { id: string }[]).find((d) => d.id === 'mnist_clean') as Record<string, any>;
    for (const key of DATASET_KEYS) expect(mnist, key).toHaveProperty(key);
    expect(mnist).toMatchObject({ num_rows: 70_000, path: 'datasets/mnist_clean.lance' });
    expect(Object.keys(mnist.schema)).toEqual(expect.arrayContaining(['image', 'label', 'split']));
    const one = await get('/api/v1/datasets/mnist_clean');
    expect(one.body).toMatchObject({ id: 'mnist_clean', num_rows: 70_000, schema: { label: 'Int64', split: 'String' } });
  });

  it("§4.1 the lake is plain LanceDB: lancedb.connect(<lake>/datasets).openTable('mnist_clean') reads it (§4.3's layout)", async () => {
    const db = await lancedb.connect(join(lakeRoot, 'datasets'));
    expect(await db.tableNames()).toContain('mnist_clean');
    const table = await db.openTable('mnist_clean');
    expect(await table.countRows()).toBe(70_000);
    table.close();
    db.close();
  });

  it('§3.1 ingestion and training bodies: accepted as written; the model is in the lake with its metrics and params', async () => {
    const again = await post('/api/v1/tasks', onThisMachine(INGEST));
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    await succeeded(again.body.id, 120_000);

    const quick = { ...TRAIN, params: { ...TRAIN.params, epochs: 1, limit_train: 384, limit_test: 128 } };
    const created = await post('/api/v1/tasks', quick);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    train = created.body.id;
    const done = await succeeded(train, 240_000);
    expect(done.result).toMatchObject({ accuracy: expect.any(Number), loss: expect.any(Number) });

    const models = await get('/api/v1/models');
    expect((models.body as { id: string }[]).map((m) => m.id)).toContain('mnist_cnn_v1');
    const model = (await get('/api/v1/models/mnist_cnn_v1')).body;
    expect(model).toMatchObject({ id: 'mnist_cnn_v1', metrics: { accuracy: done.result.accuracy }, params: { learning_rate: 0.001, batch_size: 64 } });
    expect(model.files.map((f: { file: string }) => f.file)).toContain('weights.pt');
  }, 300_000);

  it('§3.1 service body ("output": "", the model as a Lance path): its FastAPI answers /predict with {prediction, confidence, probabilities}; cancel stops it', async () => {
    const port = await freePort();
    const created = await post('/api/v1/tasks', { ...SERVE, params: { ...SERVE.params, port } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.output).toBeNull();
    const id = created.body.id as string;
    const base = `http://127.0.0.1:${port}`;
    await until('the service to answer', async () => {
      const t = (await get(`/api/v1/tasks/${id}`)).body;
      if (FINAL.includes(t.status)) throw new Error(`service ${t.status}: ${JSON.stringify(t.error)}`);
      return (await fetch(`${base}/health`).catch(() => null))?.ok;
    }, 120_000, 200);

    const image = Array.from({ length: 784 }, (_, i) => (i % 28 > 9 && i % 28 < 18 ? 0.9 : 0));
    const r = await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image }) });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { prediction: number; confidence: number; probabilities: number[] };
    expect(body.probabilities).toHaveLength(10);
    expect(body.prediction).toBe(body.probabilities.indexOf(Math.max(...body.probabilities)));
    expect(body.confidence).toBeCloseTo(Math.max(...body.probabilities), 5);

    const listed = await get('/api/v1/tasks');
    expect((listed.body.tasks as { id: string }[]).map((t) => t.id)).toEqual(expect.arrayContaining([id, train, ingest]));
    const cancel = await post(`/api/v1/tasks/${id}/cancel`, undefined);
    expect(cancel.status).toBe(200);
    expect((await finished(id, 30_000)).status).toBe('cancelled');
  }, 180_000);

  it('§4.2 delete a model and a dataset; §4.4 then answers {error: {code, message}} with the seed\'s codes', async () => {
    expect((await del('/api/v1/models/mnist_cnn_v1')).status).toBe(204);
    expect((await del('/api/v1/datasets/mnist_clean')).status).toBe(204);

    const dataset = await get('/api/v1/datasets/mnist_clean');
    expect(dataset.status).toBe(404);
    expect(dataset.body.error).toEqual({ code: 'DATASET_NOT_FOUND', message: expect.stringContaining('mnist_clean') });
    const model = await get('/api/v1/models/mnist_cnn_v1');
    expect(model.status).toBe(404);
    expect(model.body.error).toEqual({ code: 'MODEL_NOT_FOUND', message: expect.stringContaining('mnist_cnn_v1') });
    const task = await get('/api/v1/tasks/task-001');
    expect(task.status).toBe(404);
    expect(task.body.error).toMatchObject({ code: 'TASK_NOT_FOUND', message: expect.any(String) });
    const bad = await post('/api/v1/tasks', { ...TRAIN, script: undefined });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringContaining('script') });
  });
});
