/**
 * LanceLake: the shared conformance suite, plus what only the Lance layout has: where tables
 * live on disk, which directory entries count as tables, roots given as URIs, and a sanity
 * run on an MNIST-sized table whose timings are printed, not asserted.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import arrow from '../../../src/lake/arrow.ts';
import { cleanMessage } from '../../../src/lake/lance/errors.ts';
import { LanceLake } from '../../../src/lake/lance/lance-lake.ts';
import { locate } from '../../../src/lake/lance/location.ts';
import { lakeConformance } from './conformance.ts';
import { points, tempRoots } from './fixtures.ts';

lakeConformance('lance', (root) => LanceLake.open(root));

describe('LanceLake specifics', () => {
  const roots = tempRoots('lance');
  afterAll(() => roots.cleanup());

  it('stores tables as <root>/<kind>/<name>.lance and lists only those', async () => {
    const root = roots.next();
    const lake = await LanceLake.open(root);
    await lake.write('datasets', 'pts', points(2), 'create');
    await lake.write('models', 'net', points(1), 'create');
    expect(readdirSync(join(root, 'datasets'))).toEqual(['pts.lance']);
    expect(readdirSync(join(root, 'models'))).toEqual(['net.lance']);
    expect((await lake.describe('datasets', 'pts')).uri).toBe(join(root, 'datasets', 'pts.lance'));
    mkdirSync(join(root, 'datasets', 'notes'));
    writeFileSync(join(root, 'datasets', 'readme.txt'), 'x');
    mkdirSync(join(root, 'datasets', 'bad name.lance'));
    mkdirSync(join(root, '_lakeray'));
    expect((await lake.list('datasets')).map((d) => d.name)).toEqual(['pts']);
    await lake.close();
  });

  it('rejects an invalid table name with a plain error (callers validate names first)', async () => {
    const lake = await LanceLake.open(roots.next());
    await expect(lake.write('datasets', '../escape', points(1), 'create')).rejects.toThrow(TypeError);
    await expect(lake.describe('datasets', 'a b')).rejects.toThrow(/invalid table name/);
    await lake.close();
  });

  it('accepts file:// and object-store roots', () => {
    expect(locate('s3://bucket/lake/').tableUri('models', 'net')).toBe('s3://bucket/lake/models/net.lance');
    expect(locate('s3://bucket/lake').localDir).toBeUndefined();
    expect(locate('file:///tmp/lake').tableUri('datasets', 'x')).toBe('/tmp/lake/datasets/x.lance');
    expect(locate('relative/lake').localDir).toMatch(/^\/.*relative\/lake$/);
  });

  it('cleans LanceDB messages of Rust locations and cause chains', () => {
    const raw =
      "lance error: Ref is invalid: Ref characters must be either alphanumeric, '.', '-' or '_', /usr/local/cargo/registry/src/lance-12.0.0/src/dataset/refs.rs:12:5  Caused by: Ref is invalid";
    expect(cleanMessage(raw)).toBe("Ref is invalid: Ref characters must be either alphanumeric, '.', '-' or '_'");
  });

  it('writes, pages and scans a 70,000 × 784 float32 table (timings printed)', async () => {
    const n = 70_000;
    const dim = 784;
    const values = new Float32Array(n * dim);
    for (let i = 0; i < values.length; i++) values[i] = i % 5 === 0 ? ((i * 7919) % 256) / 255 : 0;
    const item = new arrow.Field('item', new arrow.Float32(), true);
    const type = new arrow.FixedSizeList(dim, item);
    const vector = arrow.makeData({ type, length: n, child: arrow.makeData({ type: new arrow.Float32(), length: n * dim, data: values }) });
    const label = arrow.makeData({ type: new arrow.Int64(), length: n, data: BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 10)) });
    const schema = new arrow.Schema([new arrow.Field('image', type, true), new arrow.Field('label', new arrow.Int64(), true)]);
    const batch = new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(schema.fields), length: n, children: [vector, label] }));
    const lake = await LanceLake.open(roots.next());

    let t0 = performance.now();
    expect(await lake.write('datasets', 'mnist', new arrow.Table([batch]), 'create')).toEqual({ version: 1, num_rows: n });
    const writeS = (performance.now() - t0) / 1000;

    const latencies: number[] = [];
    for (let i = 0; i < 220; i++) {
      const offset = (i * 7919) % (n - 100);
      t0 = performance.now();
      const page = await lake.rows('datasets', 'mnist', { offset, limit: 100 });
      if (i >= 20) latencies.push(performance.now() - t0);
      expect(page.table.numRows).toBe(100);
      if (i === 0) {
        const first = page.table.getChild('image')?.get(0) as { toArray(): Float32Array };
        expect(Buffer.from(first.toArray().buffer, first.toArray().byteOffset, dim * 4).equals(Buffer.from(values.buffer, offset * dim * 4, dim * 4))).toBe(true);
      }
    }
    latencies.sort((a, b) => a - b);
    const pct = (p: number): string => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!.toFixed(2);

    t0 = performance.now();
    const scan = await lake.scan('datasets', 'mnist', {});
    let rows = 0;
    let bytes = 0;
    for await (const b of scan.batches) {
      rows += b.numRows;
      bytes += b.data.children.reduce((s, c) => s + (c.children[0]?.values.byteLength ?? c.values.byteLength), 0);
    }
    const scanS = (performance.now() - t0) / 1000;
    expect(rows).toBe(n);
    console.log(
      `[lance perf] write 70k×784: ${writeS.toFixed(2)} s; 100-row page p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms; ` +
        `scan ${(bytes / 1e6).toFixed(0)} MB in ${scanS.toFixed(2)} s = ${(bytes / 1e6 / scanS).toFixed(0)} MB/s`,
    );
    await lake.close();
  }, 60_000);
});
