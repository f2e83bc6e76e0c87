/**
 * The local replica protocol's shared parts (docs/serving.md), used by both the replica script
 * (lakeray-onnx-replica.mjs) and the platform (src/serving/tensor.ts, local/replica-client.ts):
 * the input check against a model's signature, and the /infer frame:
 *
 *   [u32 LE header length][JSON header][zero padding to 8][tensor bytes, each at an 8-aligned offset]
 *   header = {"inputs" | "outputs": [{"name", "dtype", "shape", "offset", "bytes"}]}
 *
 * `offset` counts from the start of the tensor bytes. The 8-byte alignment lets the decoder
 * view every tensor in place (a Float32Array or BigInt64Array needs an aligned offset); when the
 * received buffer itself is not aligned, the tensor is copied instead.
 */

/** Element array of each dtype (bool is one byte per value, as onnxruntime takes it). */
export const ARRAYS = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

const align8 = (n) => (n + 7) & ~7;

export class FrameError extends Error {
  constructor(message) {
    super(message);
    this.name = 'FrameError';
  }
}

/** One frame of `tensors` ({name: {dtype, shape, data}}) under the header key `kind`. */
export const encodeFrame = (tensors, kind = 'inputs') => {
  const entries = [];
  let size = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = t.data.byteLength;
    entries.push({ name, dtype: t.dtype, shape: t.shape, offset: size, bytes });
    size = align8(size + bytes);
  }
  const header = Buffer.from(JSON.stringify({ [kind]: entries }));
  const start = align8(4 + header.length);
  const frame = Buffer.alloc(start + size);
  frame.writeUInt32LE(header.length, 0);
  header.copy(frame, 4);
  for (const e of entries) {
    const data = tensors[e.name].data;
    frame.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), start + e.offset);
  }
  return frame;
};

const checkEntry = (e, size) => {
  const Array_ = ARRAYS[e?.dtype];
  if (typeof e?.name !== 'string' || Array_ === undefined) throw new FrameError(`frame: bad tensor entry ${JSON.stringify(e)}`);
  if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new FrameError(`frame: tensor "${e.name}" has a bad shape`);
  const count = e.shape.reduce((a, b) => a * b, 1);
  if (!Number.isInteger(e.offset) || e.offset < 0 || e.bytes !== count * Array_.BYTES_PER_ELEMENT || e.offset + e.bytes > size) {
    throw new FrameError(`frame: tensor "${e.name}" ${JSON.stringify(e.shape)} ${e.dtype} does not fit its bytes`);
  }
  return Array_;
};

/** The tensors of a frame ({name: {dtype, shape, data}}), viewing `buf` where aligned. */
export const decodeFrame = (buf) => {
  if (buf.length < 4) throw new FrameError('frame: shorter than its header length');
  const headerLength = buf.readUInt32LE(0);
  if (4 + headerLength > buf.length) throw new FrameError('frame: header longer than the frame');
  let header;
  try {
    header = JSON.parse(buf.toString('utf8', 4, 4 + headerLength));
  } catch {
    throw new FrameError('frame: the header is not JSON');
  }
  const list = header?.inputs ?? header?.outputs;
  if (!Array.isArray(list)) throw new FrameError('frame: the header lists no tensors');
  const start = align8(4 + headerLength);
  const size = buf.length - start;
  const tensors = {};
  for (const e of list) {
    const Array_ = checkEntry(e, size);
    const at = buf.byteOffset + start + e.offset;
    const length = e.bytes / Array_.BYTES_PER_ELEMENT;
    const data = at % Array_.BYTES_PER_ELEMENT === 0
      ? new Array_(buf.buffer, at, length)
      : new Array_(buf.buffer.slice(at, at + e.bytes));
    tensors[e.name] = { dtype: e.dtype, shape: e.shape, data };
  }
  return tensors;
};

const product = (dims) => dims.reduce((a, b) => a * b, 1);

/** "[batch, 1, 28, 28]": a symbolic first dim reads "batch". */
export const formatDims = (dims) => `[${dims.map((d, i) => d ?? (i === 0 ? 'batch' : '?')).join(', ')}]`;

const describeInputs = (signature) => signature.inputs.map((s) => `${s.name} ${formatDims(s.shape)} ${s.dtype}`).join(', ');

/**
 * Why `inputs` do not fit the model's signature, or null when they do: exactly its inputs, each
 * with its dtype, rank and fixed dims (symbolic dims take any size ≥ 1), all with the same rows.
 * Messages name the input and what the model expects: `input "x": expected [batch, 28] float32, got [1, 784] float32`.
 */
export const inputProblem = (signature, inputs) => {
  const known = knownInputs(signature);
  for (const name of Object.keys(inputs)) {
    if (!known.has(name)) return `input "${name}": the model has no such input (its inputs: ${describeInputs(signature)})`;
  }
  let rows = null;
  for (const spec of signature.inputs) {
    // Messages are built only for a misfit: this runs on every request and every batch.
    const head = () => `input "${spec.name}": expected ${formatDims(spec.shape)} ${spec.dtype}`;
    const t = inputs[spec.name];
    if (t === undefined) return `${head()}, got nothing (the request lacks this input)`;
    const got = () => `got ${formatDims(t.shape)} ${t.dtype}`;
    const fits = t.dtype === spec.dtype && t.shape.length === spec.shape.length &&
      t.shape.every((d, i) => (typeof spec.shape[i] === 'number' ? d === spec.shape[i] : d >= 1));
    if (!fits) return `${head()}, ${got()}`;
    if (t.data.length !== product(t.shape)) return `${head()}, ${got()} with ${t.data.length} values`;
    if (rows !== null && t.shape[0] !== rows.n) return `${head()}, ${got()}: ${t.shape[0]} rows where input "${rows.from}" has ${rows.n}`;
    rows ??= { n: t.shape[0], from: spec.name };
  }
  return rows === null ? 'the model declares no inputs' : null;
};

/** A signature's input names, once per signature object. */
const inputNames = new WeakMap();
const knownInputs = (signature) => {
  let names = inputNames.get(signature);
  if (names === undefined) inputNames.set(signature, (names = new Set(signature.inputs.map((s) => s.name))));
  return names;
};

/** The rows of inputs that fit (inputProblem is null). */
export const rowsOf = (signature, inputs) => inputs[signature.inputs[0].name].shape[0];

/**
 * The frame channel: after `GET /frames` with `Upgrade: lakeray-frames` the replica's socket
 * carries messages both ways, so a batch costs one write and one read instead of an HTTP
 * request and response (their parsing and headers were most of a single row's round trip):
 *
 *   [u32 LE body length][u32 LE id][u32 LE kind][u32 zero][body]
 *
 * A request (kind REQUEST, body an inputs frame) is answered by one message with its id: OK
 * (an outputs frame), REJECTED (the inputs do not fit the model; utf8 reason) or FAILED
 * (onnxruntime failed; utf8 reason). Answers may come in any order.
 */
export const CHANNEL_UPGRADE = 'lakeray-frames';
export const CHANNEL_PATH = '/frames';
export const KIND = { REQUEST: 0, OK: 1, REJECTED: 2, FAILED: 3 };
const MESSAGE_HEADER = 16;
/** Far above any batch; a larger length means the stream is not this protocol. */
const MAX_MESSAGE_BYTES = 1 << 30;

/** Write one message; cork so header and body leave in one write without copying the body. */
export const writeMessage = (socket, id, kind, body) => {
  const header = Buffer.alloc(MESSAGE_HEADER);
  header.writeUInt32LE(body.length, 0);
  header.writeUInt32LE(id, 4);
  header.writeUInt32LE(kind, 8);
  socket.cork();
  socket.write(header);
  socket.write(body);
  socket.uncork();
};

/** Splits a byte stream into messages; `onMessage({id, kind, body})` for each whole one. */
export class MessageReader {
  constructor(onMessage) {
    this.onMessage = onMessage;
    this.pending = [];
    this.size = 0;
  }

  /** Throws FrameError when the stream cannot be this protocol (the caller drops the socket). */
  push(chunk) {
    if (chunk.length === 0) return;
    this.pending.push(chunk);
    this.size += chunk.length;
    while (this.size >= MESSAGE_HEADER) {
      const buf = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.size);
      const length = buf.readUInt32LE(0);
      if (length > MAX_MESSAGE_BYTES || buf.readUInt32LE(12) !== 0) throw new FrameError('channel: not a lakeray-frames message');
      const end = MESSAGE_HEADER + length;
      if (buf.length < end) {
        this.pending = [buf];
        return;
      }
      const message = { id: buf.readUInt32LE(4), kind: buf.readUInt32LE(8), body: buf.subarray(MESSAGE_HEADER, end) };
      this.pending = end < buf.length ? [buf.subarray(end)] : [];
      this.size = buf.length - end;
      this.onMessage(message);
    }
  }
}
