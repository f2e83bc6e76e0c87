/**
 * Lake conformance, writes: create / append / overwrite, schema checks on append, delete,
 * and what another instance on the same root (another process) sees.
 */
import { expect, it } from 'vitest';
import arrow from '../../../src/lake/arrow.ts';
import type { DataType } from '../../../src/lake/arrow.ts';
import type { LakeContext } from './conformance.ts';
import { collect, column, failureOf, points, tableOf } from './fixtures.ts';

export function writeConformance(ctx: LakeContext): void {
  it('creates a table once; a second create is ALREADY_EXISTS and changes nothing', async () => {
    expect(await ctx.lake.write('datasets', 'pts', points(4), 'create')).toEqual({ version: 1, num_rows: 4 });
    const err = await ctx.lake.write('datasets', 'pts', points(9), 'create').catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'ALREADY_EXISTS', message: 'dataset "pts" already exists' });
    expect(await ctx.lake.describe('datasets', 'pts')).toMatchObject({ version: 1, num_rows: 4 });
  });

  it('appends as a new version, creating the table when missing', async () => {
    expect(await ctx.lake.write('datasets', 'pts', points(3), 'append')).toEqual({ version: 1, num_rows: 3 });
    expect(await ctx.lake.write('datasets', 'pts', points(2, 3), 'append')).toEqual({ version: 2, num_rows: 5 });
    const page = await ctx.lake.rows('datasets', 'pts', { offset: 0, limit: 10 });
    expect(column(page.table, 'id')).toEqual([0, 1, 2, 3, 4]);
  });

  it('rejects an append whose schema differs with BAD_DATA naming the difference', async () => {
    await ctx.lake.write('datasets', 'pts', points(3), 'create');
    const ids: [DataType, unknown[]] = [new arrow.Int64(), [7n]];
    const cases: [string, ReturnType<typeof tableOf>, RegExp][] = [
      ['wrong type', tableOf({ id: ids, label: [new arrow.Float64(), [1.5]], split: [new arrow.Utf8(), ['x']], vector: [new arrow.FixedSizeList(4, new arrow.Field('item', new arrow.Float32(), true)), [[1, 2, 3, 4]]] }), /"label" is Float64.*Int32/],
      ['missing column', tableOf({ id: [...ids] }), /"label" \(Int32\) is missing/],
      ['extra column', points(1).assign(tableOf({ extra: [new arrow.Int8(), [1]] })), /"extra" is not in the table/],
      ['wrong vector size', tableOf({ id: ids, label: [new arrow.Int32(), [1]], split: [new arrow.Utf8(), ['x']], vector: [new arrow.FixedSizeList(3, new arrow.Field('item', new arrow.Float32(), true)), [[1, 2, 3]]] }), /"vector" is List\[Float32, 3\].*List\[Float32, 4\]/],
    ];
    for (const [what, data, message] of cases) {
      const err = await ctx.lake.write('datasets', 'pts', data, 'append').catch((e: unknown) => e);
      expect(err, what).toMatchObject({ kind: 'BAD_DATA' });
      expect((err as Error).message, what).toMatch(message);
    }
    expect(await ctx.lake.describe('datasets', 'pts')).toMatchObject({ version: 1, num_rows: 3 });
  });

  it('rejects data without columns, or with a column twice, with BAD_DATA', async () => {
    expect(await failureOf(ctx.lake.write('datasets', 'empty', new arrow.Table(), 'create'))).toBe('BAD_DATA');
    const twice = new arrow.Schema([new arrow.Field('a', new arrow.Int32(), true), new arrow.Field('a', new arrow.Int32(), true)]);
    await expect(ctx.lake.write('datasets', 'twice', new arrow.Table(twice), 'create')).rejects.toMatchObject({ kind: 'BAD_DATA', message: expect.stringContaining('"a" appears twice') });
    expect(await ctx.lake.exists('datasets', 'twice')).toBe(false);
  });

  it('writes an empty table that has a schema', async () => {
    const empty = new arrow.Table(points(1).schema);
    expect(await ctx.lake.write('datasets', 'none', empty, 'create')).toEqual({ version: 1, num_rows: 0 });
    expect((await ctx.lake.describe('datasets', 'none')).columns).toHaveLength(4);
  });

  it('overwrites as a new version, keeping the old one readable; creates when missing', async () => {
    expect(await ctx.lake.write('models', 'm', points(2), 'overwrite')).toEqual({ version: 1, num_rows: 2 });
    const other = tableOf({ weight: [new arrow.Float64(), [0.5, 0.25, 0.125]] });
    expect(await ctx.lake.write('models', 'm', other, 'overwrite')).toEqual({ version: 2, num_rows: 3 });
    const info = await ctx.lake.describe('models', 'm');
    expect(info.columns).toEqual([{ name: 'weight', type: 'Float64', nullable: true }]);
    const old = await ctx.lake.rows('models', 'm', { offset: 0, limit: 10, version: 1 });
    expect(column(old.table, 'id')).toEqual([0, 1]);
  });

  it('shows a write to the next read of the same instance', async () => {
    await ctx.lake.write('datasets', 'pts', points(3), 'create');
    expect((await ctx.lake.rows('datasets', 'pts', { offset: 0, limit: 1 })).total).toBe(3);
    await ctx.lake.write('datasets', 'pts', points(4, 3), 'append');
    expect(await ctx.lake.rows('datasets', 'pts', { offset: 0, limit: 1 })).toMatchObject({ total: 7, version: 2 });
    expect(await ctx.lake.describe('datasets', 'pts')).toMatchObject({ num_rows: 7, version: 2 });
    const scan = await ctx.lake.scan('datasets', 'pts', {});
    expect((await collect(scan.batches)).reduce((n, b) => n + b.numRows, 0)).toBe(7);
  });

  it('shows what another instance on the same root writes and deletes', async () => {
    await ctx.lake.write('datasets', 'pts', points(3), 'create');
    expect((await ctx.lake.rows('datasets', 'pts', { offset: 0, limit: 1 })).total).toBe(3);
    const other = await ctx.open();
    await other.write('datasets', 'pts', points(2, 3), 'append');
    expect(await ctx.lake.rows('datasets', 'pts', { offset: 0, limit: 1 })).toMatchObject({ total: 5, version: 2 });
    await other.write('datasets', 'fresh', points(1), 'create');
    expect((await ctx.lake.list('datasets')).map((d) => d.name)).toEqual(['fresh', 'pts']);
    await other.delete('datasets', 'pts');
    expect(await ctx.lake.exists('datasets', 'pts')).toBe(false);
    expect(await failureOf(ctx.lake.rows('datasets', 'pts', { offset: 0, limit: 1 }))).toBe('NOT_FOUND');
    await other.write('datasets', 'pts', points(6), 'create');
    expect(await ctx.lake.rows('datasets', 'pts', { offset: 0, limit: 1 })).toMatchObject({ total: 6, version: 1 });
  });

  it('serializes concurrent writes to one table without losing any', async () => {
    await ctx.lake.write('datasets', 'pts', points(10), 'create');
    const other = await ctx.open();
    const writes = Array.from({ length: 8 }, (_, i) => (i % 3 === 2 ? other : ctx.lake).write('datasets', 'pts', points(10, 10 * (i + 1)), 'append'));
    const results = await Promise.all(writes);
    expect(new Set(results.map((r) => r.version)).size).toBe(8);
    const info = await ctx.lake.describe('datasets', 'pts');
    expect(info).toMatchObject({ num_rows: 90, version: 9 });
    const ids = column((await ctx.lake.rows('datasets', 'pts', { offset: 0, limit: 100, columns: ['id'] })).table, 'id');
    expect(new Set(ids).size).toBe(90);
  });

  it('deletes a table and every version; the name can be used again', async () => {
    await ctx.lake.write('datasets', 'pts', points(3), 'create');
    await ctx.lake.write('datasets', 'pts', points(3), 'append');
    await ctx.lake.delete('datasets', 'pts');
    expect(await ctx.lake.exists('datasets', 'pts')).toBe(false);
    expect(await failureOf(ctx.lake.describe('datasets', 'pts'))).toBe('NOT_FOUND');
    expect(await failureOf(ctx.lake.delete('datasets', 'pts'))).toBe('NOT_FOUND');
    expect(await ctx.lake.list('datasets')).toEqual([]);
    expect(await ctx.lake.write('datasets', 'pts', points(1), 'create')).toEqual({ version: 1, num_rows: 1 });
    expect((await ctx.lake.versions('datasets', 'pts')).map((v) => v.version)).toEqual([1]);
  });

  it('keeps datasets and models apart', async () => {
    await ctx.lake.write('datasets', 'same', points(2), 'create');
    await ctx.lake.write('models', 'same', points(5), 'create');
    expect((await ctx.lake.describe('datasets', 'same')).num_rows).toBe(2);
    expect((await ctx.lake.describe('models', 'same')).num_rows).toBe(5);
    await ctx.lake.delete('models', 'same');
    expect(await ctx.lake.exists('datasets', 'same')).toBe(true);
  });
}
