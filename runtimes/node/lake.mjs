/**
 * Lake I/O for JS/TS scripts: the datasets and models of the Lakeray lake as Arrow tables,
 * over the platform's HTTP API (`LAKERAY_API_URL`), with node:http:
 *
 *   GET {api}/api/v1/{datasets|models}/{name}/arrow?columns=a,b&filter=<sql>&version=<n|tag>
 *   PUT {api}/api/v1/{datasets|models}/{name}/arrow?mode=create|overwrite|append
 *
 * Every request carries `X-Lakeray-Task: <task id>` (the server records what a task read, for
 * lineage) and `Authorization: Bearer <LAKERAY_TASK_TOKEN>` when a token is set.
 *
 * Reached through the task's ctx (`ctx.readDataset`, `ctx.writeDataset`, `ctx.writeModel`,
 * `ctx.readModel`), or with `createLakeClient()` outside a task. apache-arrow (its ESM build,
 * the one a script's own `import 'apache-arrow'` gets) is loaded on first use.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';

export const ARROW_STREAM = 'application/vnd.apache.arrow.stream';
const WRITE_MODES = ['create', 'overwrite', 'append'];
const ERROR_BODY_LIMIT = 1 << 20;
const DEFAULT_TIMEOUT_MS = 600_000;
const CONTENT_TYPES = {
  '.pt': 'application/octet-stream', '.pth': 'application/octet-stream', '.bin': 'application/octet-stream',
  '.onnx': 'application/octet-stream', '.safetensors': 'application/octet-stream', '.json': 'application/json',
  '.txt': 'text/plain', '.yaml': 'application/yaml', '.yml': 'application/yaml',
};
const STATUS_CODES = { 400: 'INVALID_REQUEST', 401: 'UNAUTHORIZED', 403: 'FORBIDDEN', 409: 'CONFLICT', 413: 'PAYLOAD_TOO_LARGE' };

/**
 * A lake request failed. `code` is the platform's error code (DATASET_NOT_FOUND,
 * MODEL_NOT_FOUND, INVALID_REQUEST, …) or LAKE_UNAVAILABLE (no API URL / unreachable) or
 * BAD_RESPONSE; `status` is the HTTP status when there was one.
 */
export class LakeError extends Error {
  constructor(code, message, status) {
    super(`${code}: ${message}`);
    this.name = 'LakeError';
    this.code = code;
    this.status = status;
    this.detail = message;
  }
}

let arrowPromise;
/** apache-arrow, imported once, on first use. */
export const loadArrow = () => (arrowPromise ??= import('apache-arrow'));

/** A lake name from a task's input/output; `lance_storage/models/x.lance` is taken as `x`. */
export const lakeName = (value, what = 'dataset') => {
  if (value === null || value === undefined || value === '') {
    throw new LakeError('INVALID_REQUEST', `no ${what} name given, and the task has no default for it`);
  }
  let name = String(value);
  const stripped = name.replace(/\/+$/, '');
  if (stripped.endsWith('.lance')) name = path.basename(stripped).slice(0, -'.lance'.length);
  if (name === '' || name.includes('/') || name.includes('\\') || name === '.' || name === '..') {
    throw new LakeError('INVALID_REQUEST', `"${value}" is not a ${what} name of the lake (a name such as mnist_clean)`);
  }
  return name;
};

/** JSON without NaN/Infinity (they become null) and with BigInts as numbers. */
const toJson = (value) =>
  JSON.stringify(value ?? {}, (_k, v) => {
    if (typeof v === 'bigint') return Number(v);
    if (typeof v === 'number' && !Number.isFinite(v)) return null;
    return v;
  });

const parseJson = (text, fallback) => {
  if (typeof text !== 'string' || text === '') return fallback;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

const asBytes = (value) => {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return null;
};

/** The chunks of a response as one Uint8Array starting at offset 0 (Arrow views need aligned offsets). */
const collect = async (res, limit = Infinity) => {
  const chunks = [];
  let total = 0;
  for await (const chunk of res) {
    chunks.push(chunk);
    total += chunk.byteLength;
    if (total >= limit) break;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
};

export class LakeClient {
  /**
   * @param {{apiUrl?: string, taskId?: string, token?: string, env?: Record<string,string>, signal?: AbortSignal, timeoutMs?: number}} [opts]
   *   apiUrl/taskId/token default to LAKERAY_API_URL / LAKERAY_TASK_ID / LAKERAY_TASK_TOKEN of
   *   `env`, then of process.env.
   */
  constructor(opts = {}) {
    const env = opts.env ?? {};
    const setting = (value, key) => value ?? (env[key] || process.env[key] || undefined);
    this.apiUrl = setting(opts.apiUrl, 'LAKERAY_API_URL');
    this.taskId = setting(opts.taskId, 'LAKERAY_TASK_ID');
    this.token = setting(opts.token, 'LAKERAY_TASK_TOKEN');
    this.signal = opts.signal;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    /** name → version of every dataset/model this client read. */
    this.versionsRead = {};
  }

  #url(kind, name, query) {
    if (!this.apiUrl) {
      throw new LakeError('LAKE_UNAVAILABLE', 'LAKERAY_API_URL is not set: lake I/O works inside a Lakeray task (or set LAKERAY_API_URL)');
    }
    let base;
    try {
      base = new URL(this.apiUrl);
    } catch {
      throw new LakeError('LAKE_UNAVAILABLE', `LAKERAY_API_URL "${this.apiUrl}" is not a URL`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new LakeError('LAKE_UNAVAILABLE', `LAKERAY_API_URL "${this.apiUrl}" is not an http(s) URL`);
    }
    const url = new URL(`${base.pathname.replace(/\/+$/, '')}/api/v1/${kind}/${encodeURIComponent(name)}/arrow`, base);
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
    }
    return url;
  }

  #headers(extra) {
    const headers = { accept: `${ARROW_STREAM}, application/json`, ...extra };
    if (this.taskId) headers['x-lakeray-task'] = String(this.taskId);
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    return headers;
  }

  /** One request; resolves with the response (any status), rejects with LakeError when unreachable. */
  #request(method, url, headers, body, doing) {
    return new Promise((resolve, reject) => {
      const mod = url.protocol === 'https:' ? https : http;
      const req = mod.request(url, { method, headers, agent: false, signal: this.signal, timeout: this.timeoutMs }, resolve);
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (err) => {
        if (err?.name === 'AbortError') reject(err);
        else reject(new LakeError('LAKE_UNAVAILABLE', `${doing}: cannot reach the Lakeray API at ${this.apiUrl} (${err?.message ?? err})`));
      });
      req.end(body);
    });
  }

  async #error(res, kind, name) {
    let code;
    let message;
    let raw = '';
    try {
      raw = Buffer.from(await collect(res, ERROR_BODY_LIMIT)).toString('utf8');
      const body = JSON.parse(raw);
      const err = body?.error;
      if (err && typeof err === 'object') {
        code = err.code;
        message = err.message;
      } else if (body && typeof body === 'object') {
        code = body.code;
        message = body.message ?? (typeof err === 'string' ? err : undefined);
      }
    } catch {
      message = raw.trim().slice(0, 500) || undefined;
    }
    if (typeof code !== 'string' || code === '') {
      code = res.statusCode === 404 ? (kind === 'models' ? 'MODEL_NOT_FOUND' : 'DATASET_NOT_FOUND') : STATUS_CODES[res.statusCode] ?? `HTTP_${res.statusCode}`;
    }
    return new LakeError(code, message ? String(message) : `${kind}/${name}: HTTP ${res.statusCode}`, res.statusCode);
  }

  async #readTable(kind, name, { columns, filter, version } = {}) {
    const arrow = await loadArrow();
    const cols = typeof columns === 'string' ? [columns] : columns;
    const url = this.#url(kind, name, { columns: cols?.join(','), filter, version });
    const doing = `reading ${kind.slice(0, -1)} "${name}"`;
    const res = await this.#request('GET', url, this.#headers(), undefined, doing);
    if (res.statusCode >= 300) throw await this.#error(res, kind, name);
    const type = String(res.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== '' && type !== ARROW_STREAM) {
      res.resume();
      throw new LakeError('BAD_RESPONSE', `${doing}: expected ${ARROW_STREAM}, got ${type}`, res.statusCode);
    }
    const header = res.headers['x-lakeray-version'];
    const got = header === undefined ? null : Number.isNaN(Number(header)) ? String(header) : Number(header);
    if (got !== null) this.versionsRead[name] = got;
    let bytes;
    try {
      bytes = await collect(res);
    } catch (err) {
      if (err?.name === 'AbortError') throw err;
      throw new LakeError('LAKE_UNAVAILABLE', `${doing}: the connection broke (${err?.message ?? err})`);
    }
    try {
      return { table: arrow.tableFromIPC(bytes), version: got };
    } catch (err) {
      throw new LakeError('BAD_RESPONSE', `${doing}: the response is not a whole Arrow stream (${err?.message ?? err})`);
    }
  }

  async #write(kind, name, bytes, mode) {
    if (!WRITE_MODES.includes(mode)) throw new TypeError(`mode must be one of ${WRITE_MODES.join(', ')}, not "${mode}"`);
    const url = this.#url(kind, name, { mode });
    const doing = `writing ${kind.slice(0, -1)} "${name}"`;
    const headers = this.#headers({ 'content-type': ARROW_STREAM, 'content-length': String(bytes.byteLength) });
    const res = await this.#request('PUT', url, headers, bytes, doing);
    if (res.statusCode >= 300) throw await this.#error(res, kind, name);
    const text = Buffer.from(await collect(res)).toString('utf8');
    try {
      return text === '' ? {} : JSON.parse(text);
    } catch {
      throw new LakeError('BAD_RESPONSE', `${doing}: the server's answer is not JSON: ${text.slice(0, 200)}`);
    }
  }

  /**
   * A dataset as an apache-arrow Table: all of it, or some `columns`, the rows matching a SQL
   * `filter`, a `version` (number or tag). The version read is in `versionsRead[name]`.
   */
  async readDataset(name, opts = {}) {
    return (await this.#readTable('datasets', lakeName(name), opts)).table;
  }

  /**
   * Write a new version of a dataset. `data`: an apache-arrow Table, an array of RecordBatches,
   * an object of columns (arrays / typed arrays, as tableFromArrays takes), or Arrow IPC stream
   * bytes (Uint8Array). Returns the server's `{name, version, num_rows}`.
   */
  async writeDataset(data, { name, mode = 'overwrite' } = {}) {
    return this.#write('datasets', lakeName(name), await ipcBytes(data), mode);
  }

  /**
   * Store a model: `files` maps a file name to its bytes (Uint8Array/Buffer/ArrayBuffer), a
   * path to read, or `{data, contentType}`; `metrics` and `params` are JSON objects.
   */
  async writeModel({ name, files, metrics = {}, params = {}, mode = 'overwrite' } = {}) {
    const arrow = await loadArrow();
    name = lakeName(name, 'model');
    const entries = Object.entries(files ?? {});
    if (entries.length === 0) throw new TypeError("writeModel needs at least one file, e.g. files: { 'weights.pt': bytes }");
    const names = [];
    const types = [];
    const blobs = [];
    for (const [file, value] of entries) {
      let data = value;
      let contentType;
      if (value && typeof value === 'object' && !ArrayBuffer.isView(value) && !(value instanceof ArrayBuffer) && 'data' in value) {
        data = value.data;
        contentType = value.contentType ?? value.content_type;
      }
      let bytes = asBytes(data);
      if (bytes === null && typeof data === 'string') bytes = new Uint8Array(await fs.readFile(data));
      if (bytes === null) throw new TypeError(`writeModel: file "${file}" must be bytes or a path, not ${typeof data}`);
      names.push(file);
      types.push(contentType ?? CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream');
      blobs.push(bytes);
    }
    const columns = new arrow.Table({
      file: arrow.vectorFromArray(names, new arrow.Utf8()),
      content_type: arrow.vectorFromArray(types, new arrow.Utf8()),
      data: arrow.vectorFromArray(blobs, new arrow.LargeBinary()),
    });
    const metadata = new Map([
      ['lakeray.metrics', toJson(metrics)],
      ['lakeray.params', toJson(params)],
    ]);
    const schema = new arrow.Schema(columns.schema.fields, metadata);
    const table = new arrow.Table(schema, columns.batches.map((b) => new arrow.RecordBatch(schema, b.data)));
    return this.#write('models', name, arrow.tableToIPC(table, 'stream'), mode);
  }

  /** `{name, version, files: {file: Uint8Array}, contentTypes, metrics, params, lineage}`. */
  async readModel(name, { version } = {}) {
    name = lakeName(name, 'model');
    const { table, version: got } = await this.#readTable('models', name, { version });
    const file = table.getChild('file');
    const data = table.getChild('data');
    if (file === null || data === null) {
      throw new LakeError('BAD_RESPONSE', `model "${name}" has no file/data columns (columns: ${table.schema.fields.map((f) => f.name).join(', ')})`);
    }
    const ctype = table.getChild('content_type');
    const files = {};
    const contentTypes = {};
    for (let i = 0; i < table.numRows; i++) {
      files[file.get(i)] = data.get(i);
      if (ctype !== null) contentTypes[file.get(i)] = ctype.get(i);
    }
    const meta = table.schema.metadata;
    const field = (column, key) => {
      const col = table.getChild(column);
      if (col !== null && table.numRows > 0 && col.get(0) != null) return parseJson(String(col.get(0)), {});
      return parseJson(meta.get(key), {});
    };
    return {
      name,
      version: got,
      files,
      contentTypes,
      metrics: field('metrics', 'lakeray.metrics'),
      params: field('params', 'lakeray.params'),
      lineage: field('lineage', 'lakeray.lineage'),
    };
  }
}

/** Arrow IPC stream bytes of what writeDataset accepts. */
const ipcBytes = async (data) => {
  const bytes = asBytes(data);
  if (bytes !== null) return bytes;
  const arrow = await loadArrow();
  if (data instanceof arrow.Table) return arrow.tableToIPC(data, 'stream');
  if (Array.isArray(data) && data.length > 0 && data.every((b) => b instanceof arrow.RecordBatch)) {
    return arrow.tableToIPC(new arrow.Table(data), 'stream');
  }
  if (data && typeof data === 'object' && 'schema' in data && 'batches' in data) {
    throw new TypeError(
      'writeDataset got a Table from another copy of apache-arrow: pass tableToIPC(table, "stream") bytes instead',
    );
  }
  if (data && typeof data === 'object' && !Array.isArray(data)) return arrow.tableToIPC(arrow.tableFromArrays(data), 'stream');
  throw new TypeError('writeDataset takes an apache-arrow Table, an array of RecordBatches, an object of columns or IPC bytes');
};

export const createLakeClient = (opts) => new LakeClient(opts);
