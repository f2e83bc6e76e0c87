/**
 * Local Arrow snapshots of lake scans: one file per (table, version, columns, filter), made
 * once even when asked for concurrently, evicted least-recently-used past the budget, and
 * dropped with their table.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import arrow from '../../../src/lake/arrow.ts';
import { LanceLake } from '../../../src/lake/lance/lance-lake.ts';
import { SnapshotCache } from '../../../src/lake/snapshot-cache.ts';

let dir: string;
let lake: LanceLake;

const table = (n: number, from = 0) =>
  new arrow.Table({
    id: arrow.vectorFromArray(
      Array.from({ length: n }, (_, i) => BigInt(from + i)),
      new arrow.Int64(),
    ),
    v: arrow.vectorFromArray(
      Array.from({ length: n }, (_, i) => (from + i) / 2),
      new arrow.Float64(),
    ),
  });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lakeray-snap-'));
  lake = await LanceLake.open(join(dir, 'lake'));
  await lake.write('datasets', 't', table(1000), 'create');
});

afterAll(async () => {
  await lake.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SnapshotCache', () => {
  it('writes a scan once per version and serves the same file after', async () => {
    const cache = new SnapshotCache(lake, join(dir, 'snap1'), 1e9);
    const [a, b] = await Promise.all([cache.get('datasets', 't', { filter: 'id < 10' }), cache.get('datasets', 't', { filter: 'id < 10' })]);
    expect(a.path).toBe(b.path);
    expect(a).toMatchObject({ version: 1, rows: 10 });
    const t = arrow.tableFromIPC(readFileSync(a.path));
    expect(Array.from(t.getChild('id')?.toArray() ?? []).map(Number)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect((await cache.get('datasets', 't', { filter: 'id < 10' })).path).toBe(a.path);
    expect((await cache.get('datasets', 't', { columns: ['v'], filter: 'id < 10' })).path).not.toBe(a.path);

    await lake.write('datasets', 't', table(5, 1000), 'append');
    const c = await cache.get('datasets', 't', { filter: 'id < 10' });
    expect(c.version).toBe(2);
    expect(c.path).not.toBe(a.path);
    expect((await cache.get('datasets', 't', { filter: 'id < 10', version: 1 })).path).toBe(a.path);
  });

  it('an empty scan is still a valid file with the schema', async () => {
    const cache = new SnapshotCache(lake, join(dir, 'snap2'), 1e9);
    const s = await cache.get('datasets', 't', { filter: 'id < 0' });
    const t = arrow.tableFromIPC(readFileSync(s.path));
    expect(t.numRows).toBe(0);
    expect(t.schema.fields.map((f) => f.name)).toEqual(['id', 'v']);
  });

  it('evicts the least recently used past its budget and forgets a deleted table', async () => {
    const cache = new SnapshotCache(lake, join(dir, 'snap3'), 1);
    const a = await cache.get('datasets', 't', { filter: 'id < 100' });
    const b = await cache.get('datasets', 't', { filter: 'id < 200' });
    expect(existsSync(a.path)).toBe(false);
    expect(existsSync(b.path)).toBe(true);
    cache.forget('datasets', 't');
    expect(existsSync(b.path)).toBe(false);
  });

  it('starts empty: files of a previous run are removed', async () => {
    const first = new SnapshotCache(lake, join(dir, 'snap4'), 1e9);
    const s = await first.get('datasets', 't', {});
    new SnapshotCache(lake, join(dir, 'snap4'), 1e9);
    expect(existsSync(s.path)).toBe(false);
  });
});
