/**
 * The tensor frame Lakeray and its Ray Serve application exchange (runtimes/serving/ray_serve_app.py):
 * a 4-byte little-endian header length, a JSON header
 * `{"tensors": [{"name", "dtype", "shape", "offset", "bytes"}]}`, then the data, which starts
 * at the first multiple of 8 after the header; each tensor's `offset` counts from there and is
 * a multiple of 8 too, so both sides view the bytes as typed arrays without copying them.
 */
import { DTYPES, type DType, type Tensor, type TensorData, type TensorMap } from '../types.ts';

const ARRAY_OF: Record<DType, { new (buf: ArrayBuffer, offset: number, length: number): TensorData; BYTES_PER_ELEMENT: number }> = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

const align8 = (n: number): number => (n + 7) & ~7;

interface FrameEntry {
  name: string;
  dtype: DType;
  shape: number[];
  offset: number;
  bytes: number;
}

export function encodeFrame(tensors: TensorMap): Buffer {
  const entries: FrameEntry[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    entries.push({ name, dtype: t.dtype, shape: t.shape, offset, bytes: t.data.byteLength });
    offset += align8(t.data.byteLength);
  }
  const header = Buffer.from(JSON.stringify({ tensors: entries }));
  const base = align8(4 + header.length);
  const frame = Buffer.alloc(base + offset);
  frame.writeUInt32LE(header.length, 0);
  header.copy(frame, 4);
  entries.forEach((e, i) => {
    const data = Object.values(tensors)[i]!.data;
    frame.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), base + e.offset);
  });
  return frame;
}

/** The tensors of a frame; throws a plain Error naming what is wrong with it. */
export function decodeFrame(frame: Uint8Array): TensorMap {
  if (frame.byteLength < 4) throw new Error(`a tensor frame has at least 4 bytes, got ${frame.byteLength}`);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const headerLen = view.getUint32(0, true);
  if (4 + headerLen > frame.byteLength) throw new Error(`the frame's header (${headerLen} bytes) runs past its end`);
  const { tensors } = JSON.parse(Buffer.from(frame.buffer, frame.byteOffset + 4, headerLen).toString('utf8')) as { tensors: FrameEntry[] };
  const base = align8(4 + headerLen);
  // One aligned copy: the frame itself may sit at any offset of a pooled buffer.
  const data = new Uint8Array(frame.byteLength - base);
  data.set(frame.subarray(base));
  const out: TensorMap = {};
  for (const e of tensors) {
    if (!DTYPES.includes(e.dtype)) throw new Error(`tensor "${e.name}": unknown dtype ${e.dtype}`);
    const Ctor = ARRAY_OF[e.dtype];
    if (e.offset + e.bytes > data.byteLength) throw new Error(`tensor "${e.name}" runs past the frame's end`);
    const t: Tensor = { dtype: e.dtype, shape: e.shape, data: new Ctor(data.buffer, e.offset, e.bytes / Ctor.BYTES_PER_ELEMENT) };
    out[e.name] = t;
  }
  return out;
}
