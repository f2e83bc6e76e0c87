/**
 * The lake over HTTP with the real server (LanceDB on a temp directory): Arrow uploads,
 * browsing, previews, versions, tags, model files, and every caller mistake as a clean 4xx
 * that writes nothing.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import arrow, { type Table } from '../../../src/lake/arrow.ts';
import { startServer, type RunningServer } from '../../../src/main.ts';
import { api, tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';

const ARROW = 'application/vnd.apache.arrow.stream';
let server: RunningServer;

const ipc = (table: Table<any>): Buffer => Buffer.from(arrow.tableToIPC(table, 'stream'));

/** n rows of an MNIST-like table: a 784-float vector, an int64 label, a split. */
function mnistLike(n: number, offset = 0): Table<any> {
  const values = new Float32Array(n * 784);
  for (let i = 0; i < values.length; i++) values[i] = ((i * 7 + offset) % 256) / 255;
  const child = arrow.makeData({ type: new arrow.Float32(), length: values.length, data: values });
  const listType = new arrow.FixedSizeList(784, new arrow.Field('item', new arrow.Float32(), true));
  const image = arrow.makeVector(arrow.makeData({ type: listType, length: n, nullCount: 0, child }));
  const label = arrow.vectorFromArray(
    Array.from({ length: n }, (_, i) => BigInt((i + offset) % 10)),
    new arrow.Int64(),
  );
  const split = arrow.vectorFromArray(
    Array.from({ length: n }, (_, i) => ((i + offset) % 7 === 0 ? 'test' : 'train')),
    new arrow.Utf8(),
  );
  return new arrow.Table({ image, label, split });
}

const put = async (path: string, body: Buffer | string, contentType = ARROW, headers: Record<string, string> = {}) => {
  const r = await request(`${server.url}${path}`, { method: 'PUT', body, headers: { 'content-type': contentType, ...headers } });
  const text = await r.body.text();
  return { status: r.statusCode, body: text ? JSON.parse(text) : null };
};

const getArrow = async (path: string) => {
  const r = await request(`${server.url}${path}`);
  const buf = Buffer.from(await r.body.arrayBuffer());
  return { status: r.statusCode, headers: r.headers, table: r.statusCode === 200 ? arrow.tableFromIPC(buf) : null, text: buf.toString() };
};

let dir: string;
let holds = 0;

/**
 * A local Arrow file's path goes only to a running task of the server (docs/security.md): a
 * task held running until `release()`, and the headers its lake client sends.
 */
const heldTask = async () => {
  const release = join(dir, `release-${holds++}`);
  const id = (await api(server.url, 'POST', '/api/v1/tasks', { script: 'holds.mjs', params: { release } })).body.id as string;
  const task = await until(`task ${id} to run`, async () => ((t) => (t.status === 'running' ? t : null))((await api(server.url, 'GET', `/api/v1/tasks/${id}`)).body));
  return {
    headers: { accept: 'application/vnd.lakeray.arrow-file+json', authorization: `Bearer ${server.tokens.mint(id, task.attempt)}`, 'x-lakeray-task': id },
    release: async () => {
      writeFileSync(release, '');
      await until(`task ${id} to end`, async () => (await api(server.url, 'GET', `/api/v1/tasks/${id}`)).body.status === 'completed');
    },
  };
};

beforeAll(async () => {
  dir = tempDir('lakeray-lake-api-');
  writeFileSync(join(dir, 'holds.mjs'), "import fs from 'node:fs';\nexport async function run(i, o, params) {\n  while (!fs.existsSync(params.release)) await new Promise((r) => setTimeout(r, 20));\n  return null;\n}\n");
  const config = parseConfig({ state_dir: join(dir, 'state'), lake: { root: join(dir, 'lake') }, script_roots: [dir], data_roots: [join(dir, 'data')] }, dir, {});
  server = await startServer({ config, port: 0, logLevel: 'silent' });
});

afterAll(async () => {
  await server?.close();
});

describe('datasets', () => {
  it('an Arrow upload becomes a dataset with a readable schema', async () => {
    const r = await put('/api/v1/datasets/digits/arrow?mode=create', ipc(mnistLike(500)));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ name: 'digits', kind: 'datasets', version: 1, num_rows: 500 });

    const list = await api(server.url, 'GET', '/api/v1/datasets');
    expect(list.status).toBe(200);
    const d = list.body.find((x: { id: string }) => x.id === 'digits');
    expect(d).toMatchObject({ id: 'digits', num_rows: 500, version: 1, schema: { image: 'List[Float32, 784]', label: 'Int64', split: 'String' } });
    expect(d.size_bytes).toBeGreaterThan(500 * 784 * 4 * 0.5);
    expect(d.path).toMatch(/datasets\/digits\.lance$/);

    const one = await api(server.url, 'GET', '/api/v1/datasets/digits');
    expect(one.status).toBe(200);
    expect(one.body.lineage).toEqual([]);
  });

  it('previews rows with vectors summarized, pages, columns, filters and expand', async () => {
    const page = await api(server.url, 'GET', '/api/v1/datasets/digits/rows?offset=10&limit=5');
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({ offset: 10, limit: 5, total: 500, version: 1 });
    expect(page.body.rows).toHaveLength(5);
    const row = page.body.rows[0];
    expect(row.label).toBe(0);
    expect(row.split).toBe('train');
    expect(row.image).toMatchObject({ $summary: 'List[Float32, 784]', length: 784 });
    expect(row.image.head).toHaveLength(8);
    expect(JSON.stringify(page.body).length).toBeLessThan(5000);

    const filtered = await api(server.url, 'GET', `/api/v1/datasets/digits/rows?filter=${encodeURIComponent("split = 'test' AND label = 3")}&columns=label,split&limit=1000`);
    expect(filtered.status).toBe(200);
    expect(filtered.body.columns.map((c: { name: string }) => c.name)).toEqual(['label', 'split']);
    expect(filtered.body.rows.length).toBe(filtered.body.total);
    expect(filtered.body.total).toBeGreaterThan(0);
    for (const r of filtered.body.rows) expect(r).toEqual({ label: 3, split: 'test' });

    const full = await api(server.url, 'GET', '/api/v1/datasets/digits/rows?limit=1&expand=image');
    expect(full.body.rows[0].image).toHaveLength(784);
  });

  it('refuses bad filters, unknown columns and unknown datasets with 4xx', async () => {
    const bad = await api(server.url, 'GET', `/api/v1/datasets/digits/rows?filter=${encodeURIComponent('label >>> 3')}`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_REQUEST');
    const col = await api(server.url, 'GET', '/api/v1/datasets/digits/rows?columns=nope');
    expect(col.status).toBe(400);
    const missing = await api(server.url, 'GET', '/api/v1/datasets/nope');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: 'DATASET_NOT_FOUND' });
    expect(missing.body.error.message).toContain('nope');
    const rowsMissing = await api(server.url, 'GET', '/api/v1/datasets/nope/rows');
    expect(rowsMissing.body.error.code).toBe('DATASET_NOT_FOUND');
    const badName = await api(server.url, 'GET', '/api/v1/datasets/..%2Fetc');
    expect(badName.status).toBe(400);
    const extra = await api(server.url, 'GET', '/api/v1/datasets/digits/rows?bogus=1');
    expect(extra.status).toBe(400);
  });

  it('versions: append makes a new version, older versions stay readable by number and tag', async () => {
    const r = await put('/api/v1/datasets/digits/arrow?mode=append', ipc(mnistLike(100, 3)));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ version: 2, num_rows: 600 });
    const versions = await api(server.url, 'GET', '/api/v1/datasets/digits/versions');
    expect(versions.body.versions.map((v: { version: number; num_rows: number }) => [v.version, v.num_rows])).toEqual([
      [1, 500],
      [2, 600],
    ]);
    expect((await api(server.url, 'GET', '/api/v1/datasets/digits/rows?version=1&limit=1')).body.total).toBe(500);

    expect((await api(server.url, 'POST', '/api/v1/datasets/digits/tags', { tag: 'first', version: 1 })).status).toBe(204);
    expect((await api(server.url, 'GET', '/api/v1/datasets/digits/rows?version=first&limit=1')).body.total).toBe(500);
    expect((await api(server.url, 'GET', '/api/v1/datasets/digits')).body.tags).toEqual({ first: 1 });
    const gone = await api(server.url, 'GET', '/api/v1/datasets/digits/rows?version=99');
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('VERSION_NOT_FOUND');
    expect((await api(server.url, 'GET', '/api/v1/datasets/digits/rows?version=nosuchtag')).body.error.code).toBe('VERSION_NOT_FOUND');
    expect((await api(server.url, 'DELETE', '/api/v1/datasets/digits/tags/first')).status).toBe(204);
  });

  it('streams Arrow IPC with columns, filter and version, and says which version it read', async () => {
    const all = await getArrow('/api/v1/datasets/digits/arrow');
    expect(all.status).toBe(200);
    expect(all.headers['content-type']).toBe(ARROW);
    expect(all.headers['x-lakeray-version']).toBe('2');
    expect(all.table?.numRows).toBe(600);
    expect(all.table?.schema.fields.map((f) => f.name)).toEqual(['image', 'label', 'split']);
    const first = all.table?.getChild('image')?.get(0) as { toArray(): Float32Array };
    expect(Array.from(first.toArray().slice(0, 3))).toEqual(Array.from(mnistLike(1).getChild('image')?.get(0).toArray().slice(0, 3)));

    const some = await getArrow(`/api/v1/datasets/digits/arrow?columns=label&filter=${encodeURIComponent("split = 'test'")}&version=1`);
    expect(some.headers['x-lakeray-version']).toBe('1');
    expect(some.table?.schema.fields.map((f) => f.name)).toEqual(['label']);
    expect(some.table?.numRows).toBe(Array.from({ length: 500 }, (_, i) => i % 7 === 0).filter(Boolean).length);

    const none = await getArrow(`/api/v1/datasets/digits/arrow?filter=${encodeURIComponent('label > 100')}`);
    expect(none.status).toBe(200);
    expect(none.table?.numRows).toBe(0);
    expect(none.table?.schema.fields.map((f) => f.name)).toEqual(['image', 'label', 'split']);
  });

  it('serves a running task on this machine a local Arrow snapshot file of the same scan', async () => {
    const task = await heldTask();
    const ref = async (q: string) => {
      const r = await request(`${server.url}/api/v1/datasets/digits/arrow${q}`, { headers: task.headers });
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-type']).toContain('application/vnd.lakeray.arrow-file+json');
      return (await r.body.json()) as { path: string; version: number; bytes: number; rows: number };
    };
    const a = await ref(`?columns=label&filter=${encodeURIComponent("split = 'test'")}`);
    expect(a.version).toBe(2);
    const fromFile = arrow.tableFromIPC(readFileSync(a.path));
    const fromStream = (await getArrow(`/api/v1/datasets/digits/arrow?columns=label&filter=${encodeURIComponent("split = 'test'")}`)).table;
    expect(fromFile.numRows).toBe(a.rows);
    expect(fromFile.numRows).toBe(fromStream?.numRows);
    expect(Array.from(fromFile.getChild('label')?.toArray() ?? [])).toEqual(Array.from(fromStream?.getChild('label')?.toArray() ?? []));
    // The same scan of the same version is the same file; another version is another file.
    expect((await ref(`?columns=label&filter=${encodeURIComponent("split = 'test'")}`)).path).toBe(a.path);
    const v1 = await ref(`?columns=label&filter=${encodeURIComponent("split = 'test'")}&version=1`);
    expect(v1.path).not.toBe(a.path);
    expect(v1.version).toBe(1);
    await task.release();
  });

  it('refuses bad uploads without writing anything', async () => {
    const before = (await api(server.url, 'GET', '/api/v1/datasets/digits')).body.version;
    expect((await put('/api/v1/datasets/digits/arrow?mode=create', ipc(mnistLike(3)))).body.error.code).toBe('DATASET_EXISTS');
    const garbage = await put('/api/v1/datasets/digits/arrow?mode=append', Buffer.from('this is not arrow'));
    expect(garbage.status).toBe(400);
    const truncated = ipc(mnistLike(50)).subarray(0, 20_000);
    expect((await put('/api/v1/datasets/digits/arrow?mode=append', truncated)).status).toBe(400);
    const other = new arrow.Table({ x: arrow.vectorFromArray([1, 2, 3], new arrow.Int32()) });
    const mismatch = await put('/api/v1/datasets/digits/arrow?mode=append', ipc(other));
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.error.code).toBe('INVALID_REQUEST');
    expect((await put('/api/v1/datasets/digits/arrow', '{"a":1}', 'application/json')).status).toBe(415);
    expect((await put('/api/v1/datasets/digits/arrow?mode=merge', ipc(mnistLike(1)))).status).toBe(400);
    expect((await api(server.url, 'GET', '/api/v1/datasets/digits')).body.version).toBe(before);
    expect((await api(server.url, 'GET', '/health')).status).toBe(200);
  });

  it('deletes a dataset and every version of it, and its local snapshots', async () => {
    await put('/api/v1/datasets/scratch/arrow', ipc(mnistLike(5)));
    const task = await heldTask();
    const r = await request(`${server.url}/api/v1/datasets/scratch/arrow`, { headers: task.headers });
    const { path } = (await r.body.json()) as { path: string };
    expect(existsSync(path)).toBe(true);
    await task.release();
    expect((await api(server.url, 'DELETE', '/api/v1/datasets/scratch')).status).toBe(204);
    expect((await api(server.url, 'GET', '/api/v1/datasets/scratch')).status).toBe(404);
    expect(existsSync(path)).toBe(false);
    expect((await api(server.url, 'DELETE', '/api/v1/datasets/scratch')).body.error.code).toBe('DATASET_NOT_FOUND');
  });
});

describe('models', () => {
  const modelUpload = (files: Record<string, Buffer>, metrics: object, params: object) => {
    const names = Object.keys(files);
    const schema = new arrow.Schema(
      [new arrow.Field('file', new arrow.Utf8()), new arrow.Field('content_type', new arrow.Utf8(), true), new arrow.Field('data', new arrow.LargeBinary())],
      new Map([
        ['lakeray.metrics', JSON.stringify(metrics)],
        ['lakeray.params', JSON.stringify(params)],
      ]),
    );
    const t = new arrow.Table({
      file: arrow.vectorFromArray(names, new arrow.Utf8()),
      content_type: arrow.vectorFromArray(names.map((n) => (n.endsWith('.onnx') ? 'application/onnx' : null)), new arrow.Utf8()),
      data: arrow.vectorFromArray(Object.values(files).map((b) => new Uint8Array(b)), new arrow.LargeBinary()),
    });
    return ipc(new arrow.Table(schema, t.batches.map((b) => new arrow.RecordBatch(schema, b.data))));
  };

  it('stores files, metrics and params, and serves each file', async () => {
    const onnx = Buffer.alloc(70_000, 7);
    const r = await put('/api/v1/models/tiny/arrow', modelUpload({ 'weights.pt': Buffer.from('weights'), 'model.onnx': onnx }, { accuracy: 0.9 }, { epochs: 1 }));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const m = await api(server.url, 'GET', '/api/v1/models/tiny');
    expect(m.status).toBe(200);
    expect(m.body.metrics).toEqual({ accuracy: 0.9 });
    expect(m.body.params).toEqual({ epochs: 1 });
    expect(m.body.files).toEqual(
      expect.arrayContaining([
        { file: 'weights.pt', content_type: null, size: 7 },
        { file: 'model.onnx', content_type: 'application/onnx', size: 70_000 },
      ]),
    );
    const f = await request(`${server.url}/api/v1/models/tiny/files/model.onnx`);
    expect(f.statusCode).toBe(200);
    expect(f.headers['content-type']).toBe('application/onnx');
    expect(Buffer.from(await f.body.arrayBuffer()).equals(onnx)).toBe(true);
    expect((await api(server.url, 'GET', '/api/v1/models/tiny/files/nope.bin')).body.error.code).toBe('MODEL_NOT_FOUND');
    const list = await api(server.url, 'GET', '/api/v1/models');
    expect(list.body.map((x: { id: string }) => x.id)).toContain('tiny');
    expect((await api(server.url, 'GET', '/api/v1/models/nope')).body.error.code).toBe('MODEL_NOT_FOUND');
  });

  it('refuses a model upload without files or with bad metadata', async () => {
    const noData = ipc(new arrow.Table({ file: arrow.vectorFromArray(['a'], new arrow.Utf8()) }));
    expect((await put('/api/v1/models/bad/arrow', noData)).status).toBe(400);
    expect((await api(server.url, 'GET', '/api/v1/models/bad')).status).toBe(404);
    expect((await api(server.url, 'DELETE', '/api/v1/models/tiny')).status).toBe(204);
  });
});
