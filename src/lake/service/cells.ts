/**
 * Turns Arrow rows into JSON for previews. Small cells come out as they are; large ones
 * (vectors, long lists, binaries, long strings) are summarized unless the caller expands
 * their column: a page of 100 MNIST rows is a few kilobytes, not 300 kB of floats.
 */
import arrow, { type DataType, type Table } from '../arrow.ts';

const { Type } = arrow;

/** Lists up to this long are shown whole. */
const SMALL_LIST = 16;
/** Strings longer than this are cut in previews. */
const LONG_STRING = 1024;
/** Values of a summarized list shown as its head. */
const HEAD = 8;

export type Cell = null | boolean | number | string | Cell[] | { [k: string]: Cell };

const int64 = (v: bigint): number | string => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString());

const num = (v: unknown): number | string | null => {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return int64(v);
  const n = v as number;
  return Number.isFinite(n) ? n : String(n);
};

const isNumeric = (t: DataType): boolean => t.typeId === Type.Int || t.typeId === Type.Float || t.typeId === Type.Decimal;

/** Summary of a numeric list: length, min, max, mean and its first values. */
const summarizeNumbers = (values: ArrayLike<number | bigint>, type: string): Cell => {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  const n = values.length;
  for (let i = 0; i < n; i++) {
    const x = Number(values[i]);
    if (x < min) min = x;
    if (x > max) max = x;
    sum += x;
  }
  const head: Cell[] = [];
  for (let i = 0; i < Math.min(HEAD, n); i++) head.push(num(values[i]));
  return { $summary: type, length: n, min: n ? num(min) : null, max: n ? num(max) : null, mean: n ? num(sum / n) : null, head };
};

const base64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

export function renderCell(value: unknown, type: DataType, typeName: string, expand: boolean): Cell {
  if (value === null || value === undefined) return null;
  switch (type.typeId) {
    case Type.Int:
    case Type.Float:
    case Type.Decimal:
      return num(value);
    case Type.Bool:
      return Boolean(value);
    case Type.Utf8:
    case Type.LargeUtf8: {
      const s = value as string;
      if (expand || s.length <= LONG_STRING) return s;
      return { $summary: 'String', length: s.length, head: s.slice(0, 200) };
    }
    case Type.Binary:
    case Type.LargeBinary:
    case Type.FixedSizeBinary: {
      const b = value as Uint8Array;
      return expand ? { $binary: base64(b), bytes: b.byteLength } : { $summary: typeName, bytes: b.byteLength };
    }
    case Type.Timestamp:
    case Type.Date: {
      const ms = typeof value === 'bigint' ? Number(value) : (value as number);
      return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
    }
    case Type.List:
    case Type.FixedSizeList: {
      const child = (type as { children: { type: DataType }[] }).children[0]?.type as DataType;
      const vec = value as { length: number; toArray(): ArrayLike<unknown>; get(i: number): unknown };
      if (isNumeric(child) && (expand || vec.length > SMALL_LIST)) {
        const values = vec.toArray() as ArrayLike<number | bigint>;
        if (expand) return Array.from(values, (x) => num(x));
        return summarizeNumbers(values, typeName);
      }
      if (!expand && vec.length > SMALL_LIST) return { $summary: typeName, length: vec.length };
      const out: Cell[] = [];
      for (let i = 0; i < vec.length; i++) out.push(renderCell(vec.get(i), child, '', expand));
      return out;
    }
    case Type.Struct: {
      const out: Record<string, Cell> = {};
      const row = value as Record<string, unknown>;
      for (const f of (type as { children: { name: string; type: DataType }[] }).children) out[f.name] = renderCell(row[f.name], f.type, '', expand);
      return out;
    }
    case Type.Dictionary:
      return renderCell(value, (type as unknown as { dictionary: DataType }).dictionary, typeName, expand);
    default:
      return typeof value === 'bigint' ? int64(value) : String(value);
  }
}

/** Rows of `table` as JSON objects; `typeNames` are the readable column types (for summaries). */
export function renderRows(table: Table, typeNames: ReadonlyMap<string, string>, expand: ReadonlySet<string>): Record<string, Cell>[] {
  const fields = table.schema.fields;
  const columns = fields.map((f, i) => ({ name: f.name, type: f.type as DataType, vector: table.getChildAt(i), typeName: typeNames.get(f.name) ?? String(f.type), expand: expand.has(f.name) }));
  const rows: Record<string, Cell>[] = [];
  for (let r = 0; r < table.numRows; r++) {
    const row: Record<string, Cell> = {};
    for (const c of columns) row[c.name] = renderCell(c.vector?.get(r), c.type, c.typeName, c.expand);
    rows.push(row);
  }
  return rows;
}
