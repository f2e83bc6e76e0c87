/**
 * Typed HTTP client for the task API (/api/v1/tasks…) over undici `request`. Non-2xx answers
 * become ApiError with the server's `{"error":{"code","message"}}`; network failures become
 * CliError with a hint, so verbs never see a raw socket error.
 */
import { request } from 'undici';
import { ApiError, CliError } from './errors.ts';
import { SseParser, type SseMessage } from './sse.ts';

export type TaskStatus = 'pending' | 'running' | 'cancelling' | 'completed' | 'failed' | 'cancelled';
export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled']);

/** Time fields arrive as ISO strings (the contract); epoch ms is tolerated. */
export type ApiTime = string | number | null;

export interface ResourcesJson {
  cpu?: number;
  memory_mb?: number;
  gpu?: number;
  custom?: Record<string, number>;
}

export interface ProgressJson {
  fraction: number;
  message: string | null;
  step?: number;
  total?: number;
  eta_s?: number | null;
}

export interface TaskJson {
  id: string;
  name: string;
  script: string;
  input: string | null;
  output: string | null;
  params: Record<string, unknown>;
  executor: string;
  pool: string | null;
  resources: ResourcesJson;
  priority: number;
  timeout_s: number | null;
  status: TaskStatus;
  attempt: number;
  created_at: ApiTime;
  started_at: ApiTime;
  finished_at: ApiTime;
  completed_at: ApiTime;
  progress: ProgressJson | null;
  result: unknown;
  error: { code: string; message: string } | null;
  queue_position?: number | null;
  /** Seq of the newest event when the snapshot was taken (the server sends it; not in the minimal contract). */
  last_seq?: number;
  tenant: string;
  labels: Record<string, string>;
}

export interface SubmitBody {
  name?: string;
  script: string;
  input?: string;
  output?: string;
  params?: Record<string, unknown>;
  executor?: string;
  pool?: string;
  resources?: ResourcesJson;
  priority?: number;
  timeout_s?: number;
  max_attempts?: number;
  labels?: Record<string, string>;
  service?: { health_path?: string; restart?: 'on-failure' | 'always' | 'never'; max_restarts?: number; startup_timeout_s?: number };
}

export interface ListQuery {
  status?: string[];
  name?: string;
  executor?: string;
  cursor?: string;
  limit?: number;
}

export interface TaskPage {
  tasks: TaskJson[];
  next_cursor: string | null;
}

export interface LogLine {
  seq: number;
  ts: ApiTime;
  stream: string;
  message: string;
}

export interface LogPage {
  lines: LogLine[];
  next_seq: number;
}

export interface TaskEventJson {
  task_id: string;
  tenant: string;
  seq: number;
  type: string;
  ts: ApiTime;
  data: Record<string, unknown>;
}

export type LakeKind = 'datasets' | 'models';

export interface LakeTableJson {
  id: string;
  kind: LakeKind;
  path: string;
  schema: Record<string, string>;
  num_rows: number;
  size_bytes: number;
  version: number;
  created_at: ApiTime;
  updated_at: ApiTime;
  tags: Record<string, number>;
  lineage?: { version: number; task_id: string; script: string; params: Record<string, unknown>; inputs: { kind: string; name: string; version: number }[] }[];
  files?: { file: string; content_type: string | null; size: number }[];
  metrics?: Record<string, unknown>;
  params?: Record<string, unknown>;
}

export interface LakeRowsJson {
  version: number;
  offset: number;
  limit: number;
  total: number;
  columns: { name: string; type: string }[];
  rows: Record<string, unknown>[];
}

/** A serving deployment (docs/serving.md), as far as the CLI reads it. */
export interface DeploymentJson {
  name: string;
  model: string;
  model_version: number;
  status: string;
  last_error: string | null;
  replicas: { min: number; max: number; idle_timeout_s: number };
}

type Query = Record<string, string | number | undefined>;

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EHOSTUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET']);

export class ApiClient {
  private readonly base: string;

  constructor(
    baseUrl: string,
    private readonly opts: { apiKey?: string | undefined } = {},
  ) {
    // Keep any path prefix (a proxy mounting the API under /lakeray): no `new URL(path, base)`.
    this.base = baseUrl.replace(/\/+$/, '');
  }

  submit(body: SubmitBody): Promise<TaskJson> {
    return this.call('POST', '/api/v1/tasks', { body });
  }

  list(q: ListQuery = {}): Promise<TaskPage> {
    const query = { status: q.status?.join(','), name: q.name, executor: q.executor, cursor: q.cursor, limit: q.limit };
    return this.call('GET', '/api/v1/tasks', { query });
  }

  get(id: string): Promise<TaskJson> {
    return this.call('GET', `/api/v1/tasks/${encodeURIComponent(id)}`);
  }

  cancel(id: string): Promise<TaskJson> {
    return this.call('POST', `/api/v1/tasks/${encodeURIComponent(id)}/cancel`);
  }

  async remove(id: string): Promise<void> {
    await this.call('DELETE', `/api/v1/tasks/${encodeURIComponent(id)}`);
  }

  /** Every dataset or model of the lake: GET /api/v1/datasets|models, page after page (Link rel="next"). */
  async lakeList(kind: LakeKind): Promise<LakeTableJson[]> {
    const all: LakeTableJson[] = [];
    const seen = new Set<string>();
    for (let path: string | null = `/api/v1/${kind}?limit=1000`; path !== null && !seen.has(path); ) {
      seen.add(path);
      const res = await this.send('GET', path, {});
      all.push(...(await this.json<LakeTableJson[]>('GET', path, res)));
      path = nextPage(res.headers.link, this.base);
    }
    return all;
  }

  lakeGet(kind: LakeKind, name: string): Promise<LakeTableJson> {
    return this.call('GET', `/api/v1/${kind}/${encodeURIComponent(name)}`);
  }

  lakeRows(kind: LakeKind, name: string, q: { offset?: number; limit?: number; columns?: string; filter?: string; version?: string }): Promise<LakeRowsJson> {
    return this.call('GET', `/api/v1/${kind}/${encodeURIComponent(name)}/rows`, { query: q });
  }

  lakeVersions(kind: LakeKind, name: string): Promise<{ versions: { version: number; timestamp: string; num_rows: number; tags: string[] }[] }> {
    return this.call('GET', `/api/v1/${kind}/${encodeURIComponent(name)}/versions`);
  }

  async lakeDelete(kind: LakeKind, name: string): Promise<void> {
    await this.call('DELETE', `/api/v1/${kind}/${encodeURIComponent(name)}`);
  }

  async deployments(): Promise<DeploymentJson[]> {
    return (await this.call<{ items: DeploymentJson[] }>('GET', '/api/v1/deployments')).items;
  }

  createDeployment(body: Record<string, unknown>): Promise<DeploymentJson> {
    return this.call('POST', '/api/v1/deployments', { body });
  }

  async deleteDeployment(name: string): Promise<void> {
    await this.call('DELETE', `/api/v1/deployments/${encodeURIComponent(name)}`);
  }

  /** The tenant of this client's key (keyless on loopback: `default`), as the eval reports list names it. */
  async evalReportsTenant(): Promise<string> {
    return (await this.call<{ tenant: string }>('GET', '/api/v1/eval/reports')).tenant;
  }

  /** The caller's running service tasks and their state (starting, ready, restarting). */
  services(): Promise<{ services: { task_id: string; name: string; state: string; url: string }[] }> {
    return this.call('GET', '/api/v1/services');
  }

  logs(id: string, after?: number): Promise<LogPage> {
    return this.call('GET', `/api/v1/tasks/${encodeURIComponent(id)}/logs`, { query: { after } });
  }

  /**
   * Opens the task's SSE stream and yields complete messages until the server ends it or
   * the connection drops (the iterator then throws). `lastEventId` resumes after that seq;
   * it is sent as the standard Last-Event-ID header and as `?after=` for servers that only
   * read the query.
   */
  async *events(id: string, lastEventId?: number, signal?: AbortSignal, onOpen?: () => void): AsyncGenerator<SseMessage> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (lastEventId !== undefined) headers['last-event-id'] = String(lastEventId);
    const path = `/api/v1/tasks/${encodeURIComponent(id)}/events`;
    const res = await this.send('GET', path, { query: { after: lastEventId }, headers, signal, stream: true });
    if (res.statusCode >= 300) throw toApiError(res.statusCode, await res.body.text());
    onOpen?.();
    const parser = new SseParser();
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body) {
        yield* parser.push(decoder.decode(chunk as Buffer, { stream: true }));
      }
    } catch (e) {
      throw this.networkError(e);
    } finally {
      // Leaving the loop early (terminal event, Ctrl-C) must not leave the socket streaming.
      if (!res.body.destroyed) res.body.destroy();
    }
  }

  private async call<T>(method: string, path: string, o: { query?: Query; body?: unknown } = {}): Promise<T> {
    return this.json<T>(method, path, await this.send(method, path, o));
  }

  private async json<T>(method: string, path: string, res: Awaited<ReturnType<ApiClient['send']>>): Promise<T> {
    const text = await res.body.text();
    if (res.statusCode >= 300) throw toApiError(res.statusCode, text);
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CliError('BAD_RESPONSE', `${method} ${path} returned non-JSON (HTTP ${res.statusCode})`);
    }
  }

  private async send(
    method: string,
    path: string,
    o: { query?: Query; body?: unknown; headers?: Record<string, string>; signal?: AbortSignal | undefined; stream?: boolean },
  ) {
    const headers: Record<string, string> = { accept: 'application/json', ...o.headers };
    if (this.opts.apiKey) headers.authorization = `Bearer ${this.opts.apiKey}`;
    let body: string | undefined;
    if (o.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(o.body);
    }
    try {
      return await request(this.base + path + queryString(o.query), {
        method: method as 'GET',
        headers,
        body,
        signal: o.signal,
        // An event stream may be quiet for a long time while a task waits in the queue.
        bodyTimeout: o.stream ? 0 : 300_000,
      });
    } catch (e) {
      throw this.networkError(e);
    }
  }

  /** Maps socket-level failures to a CliError; aborts and other errors pass through. */
  networkError(e: unknown): unknown {
    if (e instanceof CliError || (e as Error)?.name === 'AbortError') return e;
    const code = errorCode(e);
    if (code === 'ECONNREFUSED')
      return new CliError(
        'CONNECTION_REFUSED',
        `cannot connect to the Lakeray server at ${this.base}`,
        1,
        'is the server running? start it with `lakeray up` (or point --url / LAKERAY_URL at it)',
      );
    if (code && CONNECT_CODES.has(code)) return new CliError('CONNECTION_FAILED', `${this.base}: ${code} ${(e as Error).message}`);
    return e;
  }
}

/** Finds a socket error code on undici errors, their `cause`, or AggregateError members. */
function errorCode(e: unknown): string | undefined {
  const err = e as { code?: string; cause?: unknown; errors?: unknown[] } | undefined;
  if (!err || typeof err !== 'object') return undefined;
  if (err.code && err.code !== 'UND_ERR_SOCKET') return err.code;
  const nested = errorCode(err.cause) ?? err.errors?.map(errorCode).find(Boolean);
  return nested ?? err.code;
}

function toApiError(status: number, text: string): ApiError {
  try {
    const doc = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (doc.error?.code) return new ApiError(status, doc.error.code, doc.error.message ?? '');
  } catch {
    // not JSON: fall through to a generic error carrying the status
  }
  return new ApiError(status, `HTTP_${status}`, text.slice(0, 200) || `HTTP ${status}`);
}

/** The path and query of a Link header's rel="next" target on this server, or null. */
export function nextPage(link: string | string[] | undefined, base: string): string | null {
  for (const part of [link ?? []].flat().join(',').split(',')) {
    const m = /^\s*<([^>]*)>\s*;.*\brel="?next"?/.exec(part);
    if (!m?.[1]) continue;
    const url = new URL(m[1], base);
    return url.origin === new URL(base).origin ? url.pathname + url.search : null;
  }
  return null;
}

function queryString(q: Query | undefined): string {
  if (!q) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : '';
}
