/** `lakeray datasets …` and `lakeray models …` against a real server with a temp lake. */
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import arrow, { type Table } from '../../../src/lake/arrow.ts';
import { startServer, type RunningServer } from '../../../src/main.ts';
import { tempDir } from '../../helpers/server-process.ts';
import { FakeApi } from './fake-api.ts';
import { runCli } from './harness.ts';

let server: RunningServer;

const upload = async (kind: string, name: string, table: Table<any>) => {
  const r = await request(`${server.url}/api/v1/${kind}/${name}/arrow`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.apache.arrow.stream' },
    body: Buffer.from(arrow.tableToIPC(table, 'stream')),
  });
  expect(r.statusCode, await r.body.text()).toBe(200);
};

beforeAll(async () => {
  const dir = tempDir('lakeray-cli-lake-');
  const config = parseConfig({ state_dir: join(dir, 'state'), lake: { root: join(dir, 'lake') }, script_roots: [dir], data_roots: [join(dir, 'data')] }, dir, {});
  server = await startServer({ config, port: 0, logLevel: 'silent' });
  await upload(
    'datasets',
    'points',
    new arrow.Table({
      x: arrow.vectorFromArray([1.5, 2.5, 3.5], new arrow.Float64()),
      tag: arrow.vectorFromArray(['a', 'b', 'c'], new arrow.Utf8()),
      vec: arrow.vectorFromArray(
        [Array.from({ length: 20 }, (_, i) => i), Array.from({ length: 20 }, () => 1), Array.from({ length: 20 }, () => 2)],
        new arrow.List(new arrow.Field('item', new arrow.Float32(), true)),
      ),
    }),
  );
  const schema = new arrow.Schema([new arrow.Field('file', new arrow.Utf8()), new arrow.Field('data', new arrow.Binary())], new Map([['lakeray.metrics', '{"accuracy":0.91}']]));
  const files = new arrow.Table({ file: arrow.vectorFromArray(['model.onnx'], new arrow.Utf8()), data: arrow.vectorFromArray([new Uint8Array(2048)], new arrow.Binary()) });
  await upload('models', 'clf', new arrow.Table(schema, files.batches.map((b) => new arrow.RecordBatch(schema, b.data))));
});

afterAll(async () => {
  await server?.close();
});

describe('lakeray datasets / models', () => {
  it('lists datasets as a table and as JSON', async () => {
    const r = await runCli(['--url', server.url, 'datasets', 'ls']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^NAME\s+ROWS\s+SIZE\s+VERSION\s+UPDATED\s+SCHEMA/);
    expect(r.out).toMatch(/points\s+3\s+[\d.]+ KiB\s+1\s/);
    expect(r.out).toContain('vec: List[Float32]');
    const j = await runCli(['--url', server.url, '--json', 'datasets', 'ls']);
    expect(JSON.parse(j.out)).toMatchObject([{ id: 'points', num_rows: 3 }]); // the API's own shape: a bare array
  });

  it('follows the list\'s pages (Link rel="next") to the end', async () => {
    const fake = await new FakeApi().start();
    try {
      const at = '2026-01-01T00:00:00.000Z';
      fake.datasets = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id, path: `/lake/${id}.lance`, schema: { x: 'Int64' }, num_rows: 1, size_bytes: 10, version: 1, updated_at: at, tags: {} }));
      const j = await runCli(['--url', fake.url, '--json', 'datasets', 'ls']);
      expect(j.code, j.err).toBe(0);
      expect(JSON.parse(j.out).map((d: { id: string }) => d.id)).toEqual(['a', 'b', 'c', 'd', 'e']);
      expect(fake.requests.map((r) => r.url)).toEqual(['/api/v1/datasets?limit=1000', '/api/v1/datasets?offset=2&limit=2', '/api/v1/datasets?offset=4&limit=2']);
    } finally {
      await fake.stop();
    }
  });

  it('shows a dataset and pages its rows with large cells summarized', async () => {
    const show = await runCli(['--url', server.url, 'datasets', 'show', 'points']);
    expect(show.code).toBe(0);
    expect(show.out).toContain('Dataset points');
    expect(show.out).toContain('x: Float64');
    const rows = await runCli(['--url', server.url, 'datasets', 'rows', 'points', '--filter', 'x > 2', '--limit', '1']);
    expect(rows.code, rows.err).toBe(0);
    expect(rows.out).toMatch(/X\s+TAG\s+VEC/);
    expect(rows.out).toContain('<List[Float32] 1…1>');
    expect(rows.out).toContain('rows 1–1 of 2 (version 1)');
  });

  it('shows a model with its files and metrics', async () => {
    const r = await runCli(['--url', server.url, 'models', 'show', 'clf']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('model.onnx  2.0 KiB');
    expect(r.out).toContain('"accuracy":0.91');
    expect((await runCli(['--url', server.url, 'models', 'ls'])).out).toContain('clf');
  });

  it('reports a missing table as the API error and deletes', async () => {
    const missing = await runCli(['--url', server.url, 'datasets', 'show', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.err).toBe('error DATASET_NOT_FOUND: dataset "nope" does not exist\n');
    expect((await runCli(['--url', server.url, 'models', 'rm', 'clf'])).out).toBe('deleted model clf\n');
    expect((await runCli(['--url', server.url, 'datasets', 'rm', 'points'])).out).toBe('deleted dataset points\n');
    expect((await runCli(['--url', server.url, 'datasets', 'ls'])).out).toBe('no datasets\n');
  });
});
