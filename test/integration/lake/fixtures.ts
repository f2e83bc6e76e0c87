/**
 * Arrow tables for the lake conformance suite, built through src/lake/arrow.ts (the copy of
 * apache-arrow LanceDB accepts), and small helpers to read results back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import arrow from '../../../src/lake/arrow.ts';
import type { DataType, Table } from '../../../src/lake/arrow.ts';
import type { Lake } from '../../../src/lake/lake.ts';

const A = arrow;

/** Opens a lake on a root directory; called more than once per root to get a second instance. */
export type OpenLake = (root: string) => Promise<Lake>;

export const DIM = 4;
const f32 = new A.Field('item', new A.Float32(), true);

/** Builds a table from named columns, each an Arrow type and its JS values. */
export function tableOf(columns: Record<string, [DataType, unknown[]]>): Table {
  const vectors = Object.fromEntries(Object.entries(columns).map(([name, [type, values]]) => [name, A.vectorFromArray(values, type)]));
  return new A.Table(vectors);
}

/** `n` rows of a small "points" dataset: id (Int64) from `start`, label = id % 10, split, a 4-d vector. */
export function points(n: number, start = 0): Table {
  const ids = Array.from({ length: n }, (_, i) => start + i);
  return tableOf({
    id: [new A.Int64(), ids.map(BigInt)],
    label: [new A.Int32(), ids.map((i) => i % 10)],
    split: [new A.Utf8(), ids.map((i) => (i % 5 === 0 ? 'test' : 'train'))],
    vector: [new A.FixedSizeList(DIM, f32), ids.map((i) => Array.from({ length: DIM }, (_, j) => i + j / 8))],
  });
}

/** One row of every type whose readable name the suite checks. */
export function everyType(): { table: Table; expected: Record<string, string> } {
  const table = tableOf({
    i8: [new A.Int8(), [1]],
    i64: [new A.Int64(), [1n]],
    u16: [new A.Uint16(), [1]],
    f16: [new A.Float16(), [1.5]],
    f32: [new A.Float32(), [1.5]],
    f64: [new A.Float64(), [1.5]],
    flag: [new A.Bool(), [true]],
    text: [new A.Utf8(), ['a']],
    big_text: [new A.LargeUtf8(), ['a']],
    bytes: [new A.Binary(), [new Uint8Array([1, 2])]],
    big_bytes: [new A.LargeBinary(), [new Uint8Array([1, 2])]],
    list: [new A.List(f32), [[1, 2]]],
    embedding: [new A.FixedSizeList(784, f32), [Array.from({ length: 784 }, (_, i) => i)]],
    point: [new A.Struct([new A.Field('a', new A.Int64(), true), new A.Field('b', new A.Utf8(), true)]), [{ a: 1n, b: 'x' }]],
    at: [new A.TimestampMillisecond(), [Date.UTC(2024, 0, 1)]],
    day: [new A.DateDay(), [new Date(Date.UTC(2024, 0, 1))]],
    category: [new A.Dictionary(new A.Utf8(), new A.Int32()), ['cat']],
  });
  const expected = {
    i8: 'Int8',
    i64: 'Int64',
    u16: 'UInt16',
    f16: 'Float16',
    f32: 'Float32',
    f64: 'Float64',
    flag: 'Bool',
    text: 'String',
    big_text: 'String',
    bytes: 'Binary',
    big_bytes: 'LargeBinary',
    list: 'List[Float32]',
    embedding: 'List[Float32, 784]',
    point: 'Struct{a: Int64, b: String}',
    at: 'Timestamp[ms]',
    day: 'Date32',
    category: 'Dictionary[Int32, String]',
  };
  return { table, expected };
}

/** The values of one column as plain JS (bigints become numbers). */
export function column(table: Table, name: string): unknown[] {
  const child = table.getChild(name);
  if (!child) throw new Error(`no column ${name} in ${table.schema.fields.map((f) => f.name).join(', ')}`);
  return [...child].map((v) => (typeof v === 'bigint' ? Number(v) : v));
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** Fresh lake roots under one temp directory, made on first use (so skipped suites leave nothing) and removed by cleanup(). */
export function tempRoots(prefix: string): { next(): string; cleanup(): void } {
  let dir: string | undefined;
  let n = 0;
  return {
    next: () => join((dir ??= mkdtempSync(join(tmpdir(), `lakeray-lake-${prefix}-`))), `lake-${++n}`),
    cleanup: () => dir && rmSync(dir, { recursive: true, force: true }),
  };
}

/** Resolves to the LakeError kind a promise rejects with (or 'resolved' / the error's name). */
export async function failureOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return (err as { kind?: string }).kind ?? (err as Error).name;
  }
}
