/**
 * Readable names for Arrow types, as shown by `describe` and compared by `append`:
 * Int64, UInt8, Float32, String, List[Float32], List[Float32, 784] (fixed size),
 * Struct{a: Int64, b: String}, Timestamp[ms, UTC], Dictionary[Int32, String]…
 */
import arrow from './arrow.ts';
import type { DataType, Field, Schema } from './arrow.ts';
import type { ColumnInfo } from './lake.ts';

const { Type } = arrow;
const TIME_UNITS = ['s', 'ms', 'us', 'ns'] as const;
const FLOAT_BITS = [16, 32, 64] as const;
const INTERVAL_UNITS = ['YearMonth', 'DayTime', 'MonthDayNano'] as const;

const unit = (u: number): string => TIME_UNITS[u] ?? String(u);
const fieldTypes = (children: readonly Field[]): string => children.map((f) => readableType(f.type)).join(', ');

export function readableType(type: DataType): string {
  const t = type as any;
  switch (type.typeId) {
    case Type.Null:
      return 'Null';
    case Type.Bool:
      return 'Bool';
    case Type.Int:
      return `${t.isSigned ? 'Int' : 'UInt'}${t.bitWidth}`;
    case Type.Float:
      return `Float${FLOAT_BITS[t.precision] ?? '?'}`;
    case Type.Utf8:
    case Type.LargeUtf8:
      return 'String';
    case Type.Binary:
      return 'Binary';
    case Type.LargeBinary:
      return 'LargeBinary';
    case Type.FixedSizeBinary:
      return `FixedSizeBinary[${t.byteWidth}]`;
    case Type.Decimal:
      return `Decimal[${t.precision}, ${t.scale}]`;
    case Type.Date:
      return t.unit === arrow.DateUnit.DAY ? 'Date32' : 'Date64';
    case Type.Time:
      return `Time[${unit(t.unit)}]`;
    case Type.Timestamp:
      return t.timezone ? `Timestamp[${unit(t.unit)}, ${t.timezone}]` : `Timestamp[${unit(t.unit)}]`;
    case Type.Duration:
      return `Duration[${unit(t.unit)}]`;
    case Type.Interval:
      return `Interval[${INTERVAL_UNITS[t.unit] ?? t.unit}]`;
    case Type.List:
      return `List[${fieldTypes(t.children)}]`;
    case Type.FixedSizeList:
      return `List[${fieldTypes(t.children)}, ${t.listSize}]`;
    case Type.Struct:
      return `Struct{${(t.children as Field[]).map((f) => `${f.name}: ${readableType(f.type)}`).join(', ')}}`;
    case Type.Map: {
      const entries = t.children[0]?.type?.children as Field[] | undefined;
      return `Map[${entries ? fieldTypes(entries) : '?'}]`;
    }
    case Type.Union:
      return `Union[${(t.children as Field[]).map((f) => readableType(f.type)).join(' | ')}]`;
    case Type.Dictionary:
      return `Dictionary[${readableType(t.indices)}, ${readableType(t.dictionary)}]`;
    default:
      return String(type);
  }
}

export function columnsOf(schema: Schema): ColumnInfo[] {
  return schema.fields.map((f) => ({ name: f.name, type: readableType(f.type), nullable: f.nullable }));
}
