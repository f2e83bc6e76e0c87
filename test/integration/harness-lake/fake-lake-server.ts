/**
 * An in-memory stand-in for the platform's lake endpoints, for the harness lake clients'
 * tests (runtimes/python/lakeray/lake.py, runtimes/node/lake.mjs):
 *
 *   GET {api}/api/v1/{datasets|models}/{name}/arrow?columns=a,b&filter=<sql>&version=<n|tag>
 *   PUT {api}/api/v1/{datasets|models}/{name}/arrow?mode=create|overwrite|append
 *
 * Bodies are Arrow IPC streams; errors are `{"error": {"code", "message"}}`. Model reads get
 * `metrics`, `params` and `lineage` JSON string columns, as the real server adds them. The
 * filter language is a small subset of SQL: `col <op> literal [AND …]` with = != <> < <= > >=.
 * Every request is recorded (task header, authorization, chunked upload) for assertions.
 *
 * Run directly for manual benchmarks: `npx tsx test/integration/harness-lake/fake-lake-server.ts [port]`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import arrow, { type Table } from '../../../src/lake/arrow.ts';

const ARROW_STREAM = 'application/vnd.apache.arrow.stream';

interface Version {
  version: number;
  table: Table;
  /** The table as one IPC stream, sent as is for a plain scan. */
  bytes: Uint8Array;
  task: string | null;
}

export interface RecordedRequest {
  method: string;
  kind: string;
  name: string;
  query: Record<string, string>;
  task: string | null;
  authorization: string | null;
  chunked: boolean;
  bytes: number;
}

export interface FakeLakeOptions {
  /** Require `Authorization: Bearer <token>`. */
  token?: string;
  /** Send scans with chunked transfer encoding (default) or with a Content-Length. */
  chunkedResponses?: boolean;
  /** Write size of a chunked scan response (default 1 MiB). */
  responseChunkBytes?: number;
}

export interface FakeLake {
  url: string;
  requests: RecordedRequest[];
  /** Stored versions, by `datasets/<name>` or `models/<name>`, oldest first. */
  tables: Map<string, Version[]>;
  /** Put a table in directly (for read tests). */
  seed(kind: 'datasets' | 'models', name: string, table: Table): number;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Literal = string | number | boolean;
interface Cond {
  column: string;
  op: string;
  value: Literal;
}

const CONDITION = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=|==|!=|<>|<=|>=|<|>)\s*('(?:[^']|'')*'|-?\d+(?:\.\d+)?|true|false)\s*$/i;

export const parseFilter = (filter: string): Cond[] =>
  filter.split(/\s+AND\s+/i).map((part) => {
    const m = CONDITION.exec(part);
    if (m === null) throw new HttpError(400, 'INVALID_REQUEST', `invalid filter: cannot parse "${part.trim()}"`);
    const [, column, op, raw] = m as unknown as [string, string, string, string];
    let value: Literal;
    if (raw.startsWith("'")) value = raw.slice(1, -1).replaceAll("''", "'");
    else if (/^(true|false)$/i.test(raw)) value = raw.toLowerCase() === 'true';
    else value = Number(raw);
    return { column, op, value };
  });

const compare = (a: unknown, op: string, b: Literal): boolean => {
  const x = typeof a === 'bigint' ? Number(a) : a;
  switch (op) {
    case '=':
    case '==':
      return x === b;
    case '!=':
    case '<>':
      return x !== b;
    case '<':
      return (x as number) < (b as number);
    case '<=':
      return (x as number) <= (b as number);
    case '>':
      return (x as number) > (b as number);
    default:
      return (x as number) >= (b as number);
  }
};

/** The rows matching the conditions, as slices of contiguous runs (zero-copy). */
const filterTable = (table: Table, conds: Cond[]): Table => {
  const columns = conds.map((c) => {
    const col = table.getChild(c.column);
    if (col === null) throw new HttpError(400, 'INVALID_REQUEST', `invalid filter: no column "${c.column}"`);
    return col;
  });
  const parts: Table[] = [];
  let start = -1;
  for (let i = 0; i <= table.numRows; i++) {
    const keep = i < table.numRows && conds.every((c, j) => compare(columns[j]!.get(i), c.op, c.value));
    if (keep && start < 0) start = i;
    if (!keep && start >= 0) {
      parts.push(table.slice(start, i));
      start = -1;
    }
  }
  if (parts.length === 0) return table.slice(0, 0);
  return parts[0]!.concat(...parts.slice(1));
};

const utf8Column = (values: string[]) => arrow.vectorFromArray(values, new arrow.Utf8());

const readBody = (req: http.IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

const sendJson = (res: http.ServerResponse, status: number, body: unknown): void => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
};

export const startFakeLake = async (opts: FakeLakeOptions = {}): Promise<FakeLake> => {
  const tables = new Map<string, Version[]>();
  const requests: RecordedRequest[] = [];
  const chunkBytes = opts.responseChunkBytes ?? 1 << 20;

  const store = (kind: string, name: string, table: Table, task: string | null): Version => {
    const key = `${kind}/${name}`;
    const versions = tables.get(key) ?? [];
    const v: Version = { version: versions.length + 1, table, bytes: arrow.tableToIPC(table, 'stream'), task };
    versions.push(v);
    tables.set(key, versions);
    return v;
  };

  const notFound = (kind: string, name: string) =>
    new HttpError(404, kind === 'models' ? 'MODEL_NOT_FOUND' : 'DATASET_NOT_FOUND', `${kind === 'models' ? 'model' : 'dataset'} "${name}" not found`);

  const sendArrow = async (res: http.ServerResponse, bytes: Uint8Array, version: number): Promise<void> => {
    const headers: http.OutgoingHttpHeaders = { 'content-type': ARROW_STREAM, 'x-lakeray-version': String(version) };
    if (opts.chunkedResponses === false) {
      res.writeHead(200, { ...headers, 'content-length': bytes.byteLength });
      res.end(bytes);
      return;
    }
    res.writeHead(200, headers);
    for (let off = 0; off < bytes.byteLength; off += chunkBytes) {
      if (!res.write(bytes.subarray(off, off + chunkBytes))) await new Promise((r) => res.once('drain', r));
    }
    res.end();
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://lake');
    const m = /^\/api\/v1\/(datasets|models)\/([^/]+)\/arrow$/.exec(url.pathname);
    if (m === null) throw new HttpError(404, 'NOT_FOUND', `no route ${req.method} ${url.pathname}`);
    const kind = m[1]!;
    const name = decodeURIComponent(m[2]!);
    const query = Object.fromEntries(url.searchParams);
    const task = (req.headers['x-lakeray-task'] as string | undefined) ?? null;
    const authorization = req.headers.authorization ?? null;
    const record: RecordedRequest = {
      method: req.method ?? '', kind, name, query, task, authorization,
      chunked: req.headers['transfer-encoding'] === 'chunked', bytes: 0,
    };
    requests.push(record);
    if (opts.token !== undefined && authorization !== `Bearer ${opts.token}`) {
      await readBody(req);
      throw new HttpError(401, 'UNAUTHORIZED', 'a valid task token is required');
    }
    const key = `${kind}/${name}`;

    if (req.method === 'GET') {
      const versions = tables.get(key);
      if (versions === undefined || versions.length === 0) throw notFound(kind, name);
      let v = versions.at(-1)!;
      if (query.version !== undefined) {
        const found = versions.find((x) => String(x.version) === query.version);
        if (found === undefined) throw new HttpError(404, 'VERSION_NOT_FOUND', `${name} has no version ${query.version}`);
        v = found;
      }
      let table = v.table;
      let plain = true;
      if (query.filter) {
        table = filterTable(table, parseFilter(query.filter));
        plain = false;
      }
      if (kind === 'models') {
        const meta = table.schema.metadata;
        const n = table.numRows;
        const lineage = JSON.stringify({ task_id: v.task, version: v.version });
        const extra = new arrow.Table({
          metrics: utf8Column(Array(n).fill(meta.get('lakeray.metrics') ?? '{}')),
          params: utf8Column(Array(n).fill(meta.get('lakeray.params') ?? '{}')),
          lineage: utf8Column(Array(n).fill(lineage)),
        });
        table = table.assign(extra);
        plain = false;
      }
      if (query.columns) {
        const cols = query.columns.split(',');
        for (const c of cols) {
          if (table.getChild(c) === null) throw new HttpError(400, 'INVALID_REQUEST', `no column "${c}" in ${name}`);
        }
        table = table.select(cols);
        plain = false;
      }
      await sendArrow(res, plain ? v.bytes : arrow.tableToIPC(table, 'stream'), v.version);
      return;
    }

    if (req.method === 'PUT') {
      const body = await readBody(req);
      record.bytes = body.byteLength;
      if ((req.headers['content-type'] ?? '') !== ARROW_STREAM) {
        throw new HttpError(415, 'INVALID_REQUEST', `expected Content-Type ${ARROW_STREAM}`);
      }
      const mode = query.mode ?? 'overwrite';
      if (!['create', 'overwrite', 'append'].includes(mode)) throw new HttpError(400, 'INVALID_REQUEST', `bad mode "${mode}"`);
      let table: Table;
      try {
        table = arrow.tableFromIPC(body);
      } catch (err) {
        throw new HttpError(400, 'INVALID_REQUEST', `the body is not an Arrow IPC stream: ${(err as Error).message}`);
      }
      if (kind === 'models') {
        for (const c of ['file', 'content_type', 'data']) {
          if (table.getChild(c) === null) throw new HttpError(400, 'INVALID_REQUEST', `a model needs a "${c}" column`);
        }
      }
      const existing = tables.get(key)?.at(-1);
      if (existing !== undefined && mode === 'create') throw new HttpError(409, 'ALREADY_EXISTS', `${name} exists`);
      if (existing !== undefined && mode === 'append') {
        if (String(existing.table.schema.fields) !== String(table.schema.fields)) {
          throw new HttpError(400, 'INVALID_REQUEST', `appended data does not match the schema of ${name}`);
        }
        table = existing.table.concat(table);
      }
      const v = store(kind, name, table, task);
      sendJson(res, 200, { name, version: v.version, num_rows: table.numRows });
      return;
    }
    throw new HttpError(405, 'INVALID_REQUEST', `method ${req.method} not allowed`);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) sendJson(res, err.status, { error: { code: err.code, message: err.message } });
      else sendJson(res, 500, { error: { code: 'INTERNAL', message: String(err) } });
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(Number(process.env.FAKE_LAKE_PORT ?? 0), '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    tables,
    seed: (kind, name, table) => store(kind, name, table, null).version,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv[2] !== undefined) process.env.FAKE_LAKE_PORT = process.argv[2];
  const lake = await startFakeLake({ chunkedResponses: process.env.FAKE_LAKE_CHUNKED !== '0' });
  console.log(lake.url);
}
