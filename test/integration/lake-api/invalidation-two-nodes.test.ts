/**
 * Deleting a lake table invalidates every node's caches: two Lakeray servers (in this process)
 * over one lake directory, one PostgreSQL store and one Redis. Node B caches a snapshot (and
 * table handles) of a table; node A deletes it and makes a new table under the same name (its
 * version is 1 again); B then reads the new table's rows, not the old ones it had cached.
 */
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { afterAll, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import arrow from '../../../src/lake/arrow.ts';
import { startServer, type RunningServer } from '../../../src/main.ts';
import { usePostgres } from '../../helpers/postgres-server.ts';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server.ts';
import { tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';

const ARROW = 'application/vnd.apache.arrow.stream';
const ipc = (rows: number): Buffer => Buffer.from(arrow.tableToIPC(arrow.tableFromArrays({ x: Float64Array.from({ length: rows }, (_, i) => i) }), 'stream'));
const pg = usePostgres();
let redis: RedisServer | undefined;
const servers: RunningServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
  await redis?.stop();
});

const rowsOf = async (body: AsyncIterable<Uint8Array>): Promise<number> => {
  const chunks: Uint8Array[] = [];
  for await (const c of body) chunks.push(c);
  return arrow.tableFromIPC(Buffer.concat(chunks)).numRows;
};

it('a table deleted on one node is dropped from every node’s caches', { timeout: 120_000 }, async () => {
  redis = await startRedisServer();
  const url = await (await pg()).createDatabase();
  const shared = tempDir('lakeray-invalidate-');
  const node = async (name: string) => {
    const config = parseConfig(
      {
        state_dir: join(shared, name),
        store: { kind: 'postgres', url, pool_size: 4 },
        events: { kind: 'redis', url: redis!.url, stream: 'invalidate-test' },
        lake: { root: join(shared, 'lake') },
        data_roots: [join(shared, 'data')],
      },
      shared,
      {},
    );
    const s = await startServer({ config, port: 0, logLevel: 'silent', role: 'api' });
    servers.push(s);
    return s;
  };
  const [a, b] = [await node('a'), await node('b')];
  const probe = new Redis(redis.url);
  await until('both nodes to listen for invalidations', async () => {
    const [, n] = (await probe.pubsub('NUMSUB', 'invalidate-test:lake')) as [string, number];
    return n >= 2;
  });
  probe.disconnect();

  const put = async (rows: number) => {
    const r = await request(`${a.url}/api/v1/datasets/digits/arrow?mode=create`, { method: 'PUT', body: ipc(rows), headers: { 'content-type': ARROW } });
    expect(r.statusCode, await r.body.text()).toBe(200);
  };
  await put(10);
  const cached = await b.lake.readArrowFile('datasets', 'digits', {});
  expect(cached).toMatchObject({ version: 1, rows: 10 });
  expect(await rowsOf((await b.lake.readArrow('datasets', 'digits', { version: '1' })).body)).toBe(10);

  const del = await request(`${a.url}/api/v1/datasets/digits`, { method: 'DELETE' });
  expect(del.statusCode).toBe(204);
  await put(3); // the same name, version 1 again
  const fresh = await until('node B to see the new table', async () => {
    const snap = await b.lake.readArrowFile('datasets', 'digits', {});
    return snap?.rows === 3 ? snap : null;
  }, 10_000);
  expect(fresh).toMatchObject({ version: 1, rows: 3 });
  expect(await rowsOf((await b.lake.readArrow('datasets', 'digits', { version: '1' })).body)).toBe(3);
});
