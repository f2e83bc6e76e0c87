/**
 * Row slicing and concatenation of TensorMaps along dim 0 (pure): the gateway glues the
 * requests of a batch together, then cuts the batch's outputs back per request (or per slice
 * of a request larger than a batch) and glues those slices back in order.
 */
import type { Tensor, TensorData, TensorMap } from '../types.ts';

/** Values per row: the product of every dim after the first. */
const rowWidth = (t: Tensor): number => t.shape.slice(1).reduce((a, b) => a * b, 1);

const rowsOf = (t: Tensor): number => {
  const rows = t.shape[0];
  if (rows === undefined) throw new Error(`a tensor of shape [] has no rows`);
  return rows;
};

/**
 * Rows `start .. start+count` of every tensor. Copies, so a slice outlives the batch it came
 * from without keeping it alive: a session keeps its state slice until its next chunk or its
 * idle timeout, and `subarray` views would pin each batch's whole frame (64 sessions idle after
 * different batches: 75× the state's bytes) for ~0.5–1 µs a slice saved (bench/micro/slice-rows.ts).
 */
export function sliceRows(map: TensorMap, start: number, count: number): TensorMap {
  const out: TensorMap = {};
  for (const [name, t] of Object.entries(map)) {
    const rows = rowsOf(t);
    if (start < 0 || count < 0 || start + count > rows) {
      throw new Error(`"${name}": rows ${start}..${start + count} lie outside its ${rows} rows`);
    }
    const w = rowWidth(t);
    out[name] = { dtype: t.dtype, shape: [count, ...t.shape.slice(1)], data: t.data.slice(start * w, (start + count) * w) };
  }
  return out;
}

/** The tensors of `maps` stacked along dim 0, in order; every map must have the same names, dtypes and row shapes. */
export function concatRows(maps: readonly TensorMap[]): TensorMap {
  const [first] = maps;
  if (first === undefined) throw new Error('nothing to concatenate');
  if (maps.length === 1) return first;
  const out: TensorMap = {};
  for (const [name, head] of Object.entries(first)) {
    const parts = maps.map((m) => {
      const t = m[name];
      if (t === undefined || t.dtype !== head.dtype || t.shape.length !== head.shape.length || t.shape.slice(1).some((d, i) => d !== head.shape[i + 1])) {
        throw new Error(`"${name}": the parts disagree on dtype or row shape`);
      }
      return t;
    });
    const rows = parts.reduce((n, t) => n + rowsOf(t), 0);
    const data = allocLike(head.data, parts.reduce((n, t) => n + t.data.length, 0));
    let at = 0;
    for (const t of parts) {
      setInto(data, t.data, at);
      at += t.data.length;
    }
    out[name] = { dtype: head.dtype, shape: [rows, ...head.shape.slice(1)], data };
  }
  return out;
}

const allocLike = (like: TensorData, length: number): TensorData =>
  new (like.constructor as new (n: number) => TensorData)(length);

const setInto = (target: TensorData, source: TensorData, offset: number): void =>
  (target as Float32Array).set(source as Float32Array, offset);

/** The number of rows every tensor of the map has, or null when they disagree or the map is empty. */
export function commonRows(map: TensorMap): number | null {
  let rows: number | null = null;
  for (const t of Object.values(map)) {
    const r = t.shape[0];
    if (r === undefined || (rows !== null && r !== rows)) return null;
    rows = r;
  }
  return rows;
}
