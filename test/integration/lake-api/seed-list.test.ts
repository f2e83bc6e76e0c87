/**
 * `GET /api/v1/datasets` and `/api/v1/models` answer seed 004 §4.2's shape — a bare JSON array
 * of `{id, path, schema, num_rows}` — so a client written from the seed works; paging is in the
 * query (`offset`, `limit`) and a `Link: <…>; rel="next"` header. Real server, real LanceDB.
 */
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import arrow from '../../../src/lake/arrow.ts';
import { startServer, type RunningServer } from '../../../src/main.ts';
import { tempDir } from '../../helpers/server-process.ts';

let server: RunningServer;

const get = async (path: string) => {
  const r = await request(`${server.url}${path}`);
  return { status: r.statusCode, link: r.headers.link, body: (await r.body.json()) as any };
};

beforeAll(async () => {
  const dir = tempDir('lakeray-seed-list-');
  const config = parseConfig({ state_dir: join(dir, 'state'), lake: { root: join(dir, 'lake') }, script_roots: [dir], data_roots: [join(dir, 'data')] }, dir, {});
  server = await startServer({ config, port: 0, logLevel: 'silent' });
  for (const name of ['mnist_clean', 'b_set', 'a_set']) {
    const table = new arrow.Table({
      label: arrow.vectorFromArray([1n, 2n, 3n], new arrow.Int64()),
      split: arrow.vectorFromArray(['train', 'train', 'test'], new arrow.Utf8()),
    });
    const r = await request(`${server.url}/api/v1/datasets/${name}/arrow`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.apache.arrow.stream' },
      body: Buffer.from(arrow.tableToIPC(table, 'stream')),
    });
    expect(r.statusCode, await r.body.text()).toBe(200);
  }
});

afterAll(async () => {
  await server?.close();
});

describe('seed 004 §4.2 list shape', () => {
  it('GET /api/v1/datasets is a bare array of {id, path, schema, num_rows}, sorted by name', async () => {
    const r = await get('/api/v1/datasets');
    expect(r.status).toBe(200);
    expect(Array.isArray(r.body)).toBe(true);
    expect(r.link).toBeUndefined(); // everything fit on one page
    expect(r.body.map((d: { id: string }) => d.id)).toEqual(['a_set', 'b_set', 'mnist_clean']);
    const mnist = r.body[2];
    expect(mnist).toMatchObject({ id: 'mnist_clean', schema: { label: 'Int64', split: 'String' }, num_rows: 3 });
    expect(mnist.path).toMatch(/datasets\/mnist_clean\.lance$/);
  });

  it('pages with offset and limit, linking the next page until the last', async () => {
    const first = await get('/api/v1/datasets?limit=2');
    expect(first.body.map((d: { id: string }) => d.id)).toEqual(['a_set', 'b_set']);
    expect(first.link).toBe('</api/v1/datasets?offset=2&limit=2>; rel="next"');
    const next = await get(/<([^>]+)>/.exec(String(first.link))![1]!);
    expect(next.body.map((d: { id: string }) => d.id)).toEqual(['mnist_clean']);
    expect(next.link).toBeUndefined();
    expect((await get('/api/v1/datasets?offset=3')).body).toEqual([]);
  });

  it('GET /api/v1/models is the same shape (an empty array when there are none)', async () => {
    const r = await get('/api/v1/models');
    expect(r.status).toBe(200);
    expect(r.body).toEqual([]);
  });

  it('refuses bad paging with 400 INVALID_REQUEST', async () => {
    for (const q of ['limit=0', 'limit=1001', 'offset=-1', 'limit=x', 'page=2']) {
      const r = await get(`/api/v1/datasets?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.error.code, q).toBe('INVALID_REQUEST');
    }
  });
});
