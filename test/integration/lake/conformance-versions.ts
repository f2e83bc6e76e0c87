/**
 * Lake conformance, versions: history, time travel by number and by tag, tags, and scans
 * pinned to the version they started on.
 */
import { expect, it } from 'vitest';
import arrow from '../../../src/lake/arrow.ts';
import type { LakeContext } from './conformance.ts';
import { collect, column, failureOf, points } from './fixtures.ts';

export function versionConformance(ctx: LakeContext): void {
  /** pts: v1 = 3 rows, v2 = 5 rows, v3 = 2 rows (overwritten). */
  async function threeVersions(): Promise<void> {
    await ctx.lake.write('datasets', 'pts', points(3), 'create');
    await ctx.lake.write('datasets', 'pts', points(2, 3), 'append');
    await ctx.lake.write('datasets', 'pts', points(2, 100), 'overwrite');
  }

  it('lists versions oldest first with row counts, times and tags', async () => {
    const before = Date.now();
    await threeVersions();
    await ctx.lake.tag('datasets', 'pts', 'first', 1);
    await ctx.lake.tag('datasets', 'pts', 'also_first', 1);
    const versions = await ctx.lake.versions('datasets', 'pts');
    expect(versions.map((v) => [v.version, v.num_rows])).toEqual([[1, 3], [2, 5], [3, 2]]);
    expect(versions[0]?.tags.sort()).toEqual(['also_first', 'first']);
    expect(versions[1]?.tags).toEqual([]);
    expect(versions[0]!.timestamp).toBeGreaterThanOrEqual(before - 1000);
    expect(versions[2]!.timestamp).toBeGreaterThanOrEqual(versions[0]!.timestamp);
    const info = await ctx.lake.describe('datasets', 'pts');
    expect(info).toMatchObject({ version: 3, num_rows: 2, tags: { first: 1, also_first: 1 } });
    expect(info.created_at).toBe(versions[0]!.timestamp);
    expect(info.updated_at).toBe(versions[2]!.timestamp);
  });

  it('reads an older version by number and by tag, without moving the latest', async () => {
    await threeVersions();
    await ctx.lake.tag('datasets', 'pts', 'v2', 2);
    const v1 = await ctx.lake.rows('datasets', 'pts', { offset: 0, limit: 10, version: 1 });
    expect(v1).toMatchObject({ total: 3, version: 1 });
    expect(column(v1.table, 'id')).toEqual([0, 1, 2]);
    const tagged = await ctx.lake.rows('datasets', 'pts', { offset: 0, limit: 10, version: 'v2', filter: 'id >= 1' });
    expect(tagged).toMatchObject({ total: 4, version: 2 });
    const scan = await ctx.lake.scan('datasets', 'pts', { version: 'v2', columns: ['id'] });
    expect(scan.version).toBe(2);
    expect(column(new arrow.Table(await collect(scan.batches)), 'id')).toEqual([0, 1, 2, 3, 4]);
    const latest = await ctx.lake.rows('datasets', 'pts', { offset: 0, limit: 10 });
    expect(latest).toMatchObject({ total: 2, version: 3 });
    expect(column(latest.table, 'id')).toEqual([100, 101]);
  });

  it('answers VERSION_NOT_FOUND and TAG_NOT_FOUND', async () => {
    await threeVersions();
    for (const version of [4, 0, -1, 1.5]) {
      expect(await failureOf(ctx.lake.rows('datasets', 'pts', { offset: 0, limit: 1, version })), `version ${version}`).toBe('VERSION_NOT_FOUND');
    }
    expect(await failureOf(ctx.lake.scan('datasets', 'pts', { version: 99 }))).toBe('VERSION_NOT_FOUND');
    await expect(ctx.lake.rows('datasets', 'pts', { offset: 0, limit: 1, version: 'nope' })).rejects.toMatchObject({ kind: 'TAG_NOT_FOUND', message: 'dataset "pts" has no tag "nope"' });
    expect(await failureOf(ctx.lake.scan('datasets', 'pts', { version: 'nope' }))).toBe('TAG_NOT_FOUND');
    expect(await failureOf(ctx.lake.tag('datasets', 'pts', 'future', 7))).toBe('VERSION_NOT_FOUND');
    expect(await failureOf(ctx.lake.untag('datasets', 'pts', 'nope'))).toBe('TAG_NOT_FOUND');
    expect(await failureOf(ctx.lake.rows('datasets', 'pts', { offset: 0, limit: 1, version: 'not/a tag' }))).toBe('TAG_NOT_FOUND');
  });

  it('rejects a tag name that cannot be stored with BAD_DATA', async () => {
    await ctx.lake.write('datasets', 'pts', points(1), 'create');
    await expect(ctx.lake.tag('datasets', 'pts', 'not/a tag', 1)).rejects.toMatchObject({ kind: 'BAD_DATA', message: expect.stringContaining('not/a tag') });
    await ctx.lake.tag('datasets', 'pts', 'release-1.0_rc', 1);
    expect((await ctx.lake.describe('datasets', 'pts')).tags).toEqual({ 'release-1.0_rc': 1 });
  });

  it('moves a tag to another version and removes it', async () => {
    await threeVersions();
    await ctx.lake.tag('datasets', 'pts', 'best', 1);
    await ctx.lake.tag('datasets', 'pts', 'best', 2);
    expect((await ctx.lake.describe('datasets', 'pts')).tags).toEqual({ best: 2 });
    expect((await ctx.lake.rows('datasets', 'pts', { offset: 0, limit: 1, version: 'best' })).version).toBe(2);
    await ctx.lake.untag('datasets', 'pts', 'best');
    expect((await ctx.lake.describe('datasets', 'pts')).tags).toEqual({});
    expect(await failureOf(ctx.lake.rows('datasets', 'pts', { offset: 0, limit: 1, version: 'best' }))).toBe('TAG_NOT_FOUND');
  });

  it('keeps tags and history across an overwrite', async () => {
    await ctx.lake.write('datasets', 'pts', points(3), 'create');
    await ctx.lake.tag('datasets', 'pts', 'first', 1);
    await ctx.lake.write('datasets', 'pts', points(1, 50), 'overwrite');
    expect((await ctx.lake.describe('datasets', 'pts')).tags).toEqual({ first: 1 });
    expect((await ctx.lake.rows('datasets', 'pts', { offset: 0, limit: 5, version: 'first' })).total).toBe(3);
  });

  it('keeps a scan on the version it started with while writes land', async () => {
    await ctx.lake.write('datasets', 'pts', points(2000), 'create');
    const scan = await ctx.lake.scan('datasets', 'pts', { columns: ['id'] });
    await ctx.lake.write('datasets', 'pts', points(500, 2000), 'append');
    await ctx.lake.write('datasets', 'pts', points(5, 9000), 'overwrite');
    const ids = column(new arrow.Table(await collect(scan.batches)), 'id');
    expect(scan.version).toBe(1);
    expect(ids).toHaveLength(2000);
    expect(ids[1999]).toBe(1999);
    expect((await ctx.lake.rows('datasets', 'pts', { offset: 0, limit: 1 })).version).toBe(3);
  });
}
