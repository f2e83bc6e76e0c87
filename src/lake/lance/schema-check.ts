/**
 * Whether a batch may be appended to a table. LanceDB itself casts what it can (it appends
 * Float64 data to an Int32 column without a word) and fills missing columns with nulls, so
 * the lake checks first: same column names, same readable types, no nulls in a non-nullable
 * column. String and LargeString, and a dictionary and its value type, count as the same.
 */
import arrow from '../arrow.ts';
import type { DataType, Schema, Table } from '../arrow.ts';
import { readableType } from '../types.ts';

const valueType = (t: DataType): string => readableType(arrow.DataType.isDictionary(t) ? t.dictionary : t);

/** What keeps `data` from being appended to a table with `schema`, or undefined when nothing does. */
export function appendMismatch(schema: Schema, data: Table): string | undefined {
  const problems: string[] = [];
  const want = new Map(schema.fields.map((f) => [f.name, f]));
  const have = new Map(data.schema.fields.map((f) => [f.name, f]));
  for (const f of data.schema.fields) {
    const target = want.get(f.name);
    if (!target) problems.push(`column "${f.name}" is not in the table`);
    else if (valueType(f.type) !== valueType(target.type)) problems.push(`column "${f.name}" is ${readableType(f.type)}, the table has ${readableType(target.type)}`);
    else if (!target.nullable && (data.getChild(f.name)?.nullCount ?? 0) > 0) problems.push(`column "${f.name}" has nulls but the table's is not nullable`);
  }
  for (const f of schema.fields) if (!have.has(f.name)) problems.push(`column "${f.name}" (${readableType(f.type)}) is missing`);
  return problems.length ? problems.join('; ') : undefined;
}
