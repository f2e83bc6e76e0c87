/**
 * Lake conformance, reads: describe, rows (paging, columns, filters, totals), scan, and the
 * errors a caller's mistake gets.
 */
import { expect, it } from 'vitest';
import arrow from '../../../src/lake/arrow.ts';
import type { LakeContext } from './conformance.ts';
import { collect, column, DIM, everyType, failureOf, points, tableOf } from './fixtures.ts';

export function readConformance(ctx: LakeContext): void {
  it('describes a table with readable column types, rows, size, version and times', async () => {
    const { table, expected } = everyType();
    const before = Date.now();
    await ctx.lake.write('datasets', 'types', table, 'create');
    const info = await ctx.lake.describe('datasets', 'types');
    expect(Object.fromEntries(info.columns.map((c) => [c.name, c.type]))).toEqual(expected);
    expect(info.columns.map((c) => c.name)).toEqual(Object.keys(expected));
    expect(info.columns.every((c) => c.nullable)).toBe(true);
    expect(info).toMatchObject({ kind: 'datasets', name: 'types', num_rows: 1, version: 1, tags: {} });
    expect(info.uri).toContain('types');
    expect(info.size_bytes).toBeGreaterThan(784 * 4);
    expect(info.created_at).toBeGreaterThanOrEqual(before - 1000);
    expect(info.updated_at).toBeGreaterThanOrEqual(info.created_at);
    expect(info.updated_at).toBeLessThanOrEqual(Date.now() + 1000);
  });

  it('pages through rows with offset and limit; total counts every row', async () => {
    await ctx.lake.write('datasets', 'pts', points(25), 'create');
    const page = await ctx.lake.rows('datasets', 'pts', { offset: 10, limit: 5 });
    expect(column(page.table, 'id')).toEqual([10, 11, 12, 13, 14]);
    expect(page).toMatchObject({ total: 25, version: 1 });
    expect(page.table.schema.fields.map((f) => f.name)).toEqual(['id', 'label', 'split', 'vector']);
    const tail = await ctx.lake.rows('datasets', 'pts', { offset: 20, limit: 10 });
    expect(column(tail.table, 'id')).toEqual([20, 21, 22, 23, 24]);
  });

  it('returns an empty page with the schema past the end, and for limit 0', async () => {
    await ctx.lake.write('datasets', 'pts', points(5), 'create');
    for (const opts of [{ offset: 100, limit: 10 }, { offset: 0, limit: 0 }]) {
      const page = await ctx.lake.rows('datasets', 'pts', opts);
      expect(page.table.numRows).toBe(0);
      expect(page.table.schema.fields.map((f) => f.name)).toEqual(['id', 'label', 'split', 'vector']);
      expect(page.total).toBe(5);
    }
    const some = await ctx.lake.rows('datasets', 'pts', { offset: 100, limit: 10, columns: ['split'] });
    expect(some.table.schema.fields.map((f) => f.name)).toEqual(['split']);
  });

  it('returns the requested columns in the requested order', async () => {
    await ctx.lake.write('datasets', 'pts', points(3), 'create');
    const page = await ctx.lake.rows('datasets', 'pts', { offset: 0, limit: 3, columns: ['vector', 'id'] });
    expect(page.table.schema.fields.map((f) => f.name)).toEqual(['vector', 'id']);
    expect(column(page.table, 'id')).toEqual([0, 1, 2]);
  });

  it('filters rows with SQL; total counts the matches', async () => {
    await ctx.lake.write('datasets', 'pts', points(25), 'create');
    const page = await ctx.lake.rows('datasets', 'pts', { offset: 1, limit: 1, filter: 'label = 3' });
    expect(column(page.table, 'id')).toEqual([13]);
    expect(page.total).toBe(3);
    const both = await ctx.lake.rows('datasets', 'pts', { offset: 0, limit: 10, filter: "split = 'test' AND label = 0" });
    expect(column(both.table, 'id')).toEqual([0, 10, 20]);
    expect((await ctx.lake.rows('datasets', 'pts', { offset: 0, limit: 1, filter: '  ' })).total).toBe(25);
    const none = await ctx.lake.rows('datasets', 'pts', { offset: 0, limit: 10, filter: 'id > 1000' });
    expect(none.total).toBe(0);
    expect(none.table.schema.fields).toHaveLength(4);
  });

  it('round-trips float32 vectors bit for bit', async () => {
    const n = 50;
    const values = Float32Array.from({ length: n * DIM }, () => Math.random() * 2 - 1);
    const vectors = Array.from({ length: n }, (_, i) => Array.from(values.subarray(i * DIM, (i + 1) * DIM)));
    const f32 = new arrow.Field('item', new arrow.Float32(), true);
    await ctx.lake.write('datasets', 'vec', tableOf({ vector: [new arrow.FixedSizeList(DIM, f32), vectors] }), 'create');
    const page = await ctx.lake.rows('datasets', 'vec', { offset: 0, limit: n });
    expect(String(page.table.schema.fields[0]?.type)).toBe('FixedSizeList[4]<Float32>');
    const back = Float32Array.from(column(page.table, 'vector').flatMap((v) => [...(v as Iterable<number>)]));
    expect(Buffer.from(back.buffer).equals(Buffer.from(values.buffer))).toBe(true);
  });

  it('streams a scan as record batches, with columns and a filter', async () => {
    await ctx.lake.write('datasets', 'pts', points(30), 'create');
    const all = await ctx.lake.scan('datasets', 'pts', {});
    expect(all.version).toBe(1);
    expect(all.schema.fields.map((f) => f.name)).toEqual(['id', 'label', 'split', 'vector']);
    const batches = await collect(all.batches);
    expect(batches.reduce((n, b) => n + b.numRows, 0)).toBe(30);
    const some = await ctx.lake.scan('datasets', 'pts', { columns: ['label', 'id'], filter: 'label = 7' });
    expect(some.schema.fields.map((f) => f.name)).toEqual(['label', 'id']);
    const ids = new arrow.Table(await collect(some.batches));
    expect(column(ids, 'id')).toEqual([7, 17, 27]);
    const empty = await ctx.lake.scan('datasets', 'pts', { columns: ['split'], filter: 'id < 0' });
    expect(empty.schema.fields.map((f) => f.name)).toEqual(['split']);
    expect(await collect(empty.batches)).toEqual([]);
  });

  it('rejects a bad filter with BAD_FILTER, from rows and from scan before any batch', async () => {
    await ctx.lake.write('datasets', 'pts', points(5), 'create');
    for (const filter of ['label = = 3', "split = 'open", 'nope > 1', "label = 'abc'", 'nofn(id) = 1']) {
      const err = await ctx.lake.rows('datasets', 'pts', { offset: 0, limit: 5, filter }).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'LakeError', kind: 'BAD_FILTER' });
      expect((err as Error).message).toContain(filter);
      expect((err as Error).message).not.toMatch(/\.rs:\d+|Caused by|GenericFailure/);
      expect(await failureOf(ctx.lake.scan('datasets', 'pts', { filter }))).toBe('BAD_FILTER');
    }
  });

  it('rejects an unknown column with BAD_COLUMN naming it', async () => {
    await ctx.lake.write('datasets', 'pts', points(5), 'create');
    const err = await ctx.lake.rows('datasets', 'pts', { offset: 0, limit: 5, columns: ['id', 'nope'] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'BAD_COLUMN' });
    expect((err as Error).message).toContain('"nope"');
    expect(await failureOf(ctx.lake.scan('datasets', 'pts', { columns: ['nope'] }))).toBe('BAD_COLUMN');
    expect(await failureOf(ctx.lake.rows('datasets', 'pts', { offset: 0, limit: 5, columns: ['nope'], filter: 'id > 1' }))).toBe('BAD_COLUMN');
    expect(await failureOf(ctx.lake.rows('datasets', 'pts', { offset: 0, limit: 5, columns: ['id', 'id'] }))).toBe('BAD_COLUMN');
  });

  it('answers NOT_FOUND for a table that does not exist, naming it', async () => {
    await expect(ctx.lake.describe('datasets', 'ghost')).rejects.toMatchObject({ kind: 'NOT_FOUND', message: 'dataset "ghost" does not exist' });
    await expect(ctx.lake.describe('models', 'ghost')).rejects.toMatchObject({ kind: 'NOT_FOUND', message: 'model "ghost" does not exist' });
    expect(await failureOf(ctx.lake.rows('datasets', 'ghost', { offset: 0, limit: 1 }))).toBe('NOT_FOUND');
    expect(await failureOf(ctx.lake.scan('datasets', 'ghost', {}))).toBe('NOT_FOUND');
    expect(await failureOf(ctx.lake.versions('datasets', 'ghost'))).toBe('NOT_FOUND');
    expect(await failureOf(ctx.lake.tag('datasets', 'ghost', 't', 1))).toBe('NOT_FOUND');
    expect(await failureOf(ctx.lake.untag('datasets', 'ghost', 't'))).toBe('NOT_FOUND');
    expect(await failureOf(ctx.lake.delete('datasets', 'ghost'))).toBe('NOT_FOUND');
    expect(await ctx.lake.exists('datasets', 'ghost')).toBe(false);
  });

  it('lists each kind sorted by name; an empty lake lists nothing', async () => {
    expect(await ctx.lake.list('datasets')).toEqual([]);
    expect(await ctx.lake.list('models')).toEqual([]);
    for (const name of ['b_set', 'a_set', 'C_set']) await ctx.lake.write('datasets', name, points(2), 'create');
    await ctx.lake.write('models', 'net', points(1), 'create');
    const datasets = await ctx.lake.list('datasets');
    expect(datasets.map((d) => d.name)).toEqual(['C_set', 'a_set', 'b_set']);
    expect(datasets[0]).toMatchObject({ kind: 'datasets', num_rows: 2, version: 1 });
    expect((await ctx.lake.list('models')).map((m) => [m.kind, m.name])).toEqual([['models', 'net']]);
    expect(await ctx.lake.exists('models', 'a_set')).toBe(false);
  });
}
