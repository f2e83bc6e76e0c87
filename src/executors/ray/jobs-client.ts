/**
 * A typed client of the Ray Jobs REST API (the dashboard, default port 8265), exactly as
 * contracts/CONTRACTS.md §1 describes Ray 2.58 — read it before changing anything here:
 * - requests go through undici's `request`, never the global `fetch`: fetch always sends
 *   `sec-fetch-mode: cors`, and Ray answers 405 to POST/PUT/DELETE that look like a browser;
 * - paths are exact (`POST /api/jobs/` has a trailing slash);
 * - an unknown field in a submission is a 400, so the body is built from the known fields only;
 *   `entrypoint_memory` must be an integer (a float is a 400 too);
 * - a duplicate `submission_id` is a 500 whose text says "Please use a different
 *   submission_id": for us that means the job exists, so `submit` attaches to it
 *   (`created: false`) and never makes a second job — the retry after a lost answer is safe;
 * - error bodies are text/plain tracebacks, kept on the RayApiError;
 * - DELETE works on terminal jobs only (else 500, kind `not_terminal`); logs come back whole.
 * Every call has a deadline (`timeoutMs`; uploads `uploadTimeoutMs`). With Ray token auth on,
 * `token` goes out as `Authorization: Bearer`.
 */
import { Agent, request } from 'undici';
import { RayApiError, kindOfStatus, rayTextSummary } from './ray-api-error.ts';

export type RayJobStatus = 'PENDING' | 'RUNNING' | 'STOPPED' | 'SUCCEEDED' | 'FAILED';
const TERMINAL: ReadonlySet<RayJobStatus> = new Set(['STOPPED', 'SUCCEEDED', 'FAILED']);
export const isTerminalJobStatus = (s: RayJobStatus): boolean => TERMINAL.has(s);

/** JobSubmitRequest of Ray's job/common.py; only these keys are ever sent. */
export interface RaySubmitRequest {
  entrypoint: string;
  submission_id?: string;
  runtime_env?: Record<string, unknown>;
  metadata?: Record<string, string>;
  entrypoint_num_cpus?: number;
  entrypoint_num_gpus?: number;
  /** bytes, an integer */
  entrypoint_memory?: number;
  entrypoint_resources?: Record<string, number>;
  /** Ray ≥ 2.48 only: older heads answer 400 to it */
  entrypoint_label_selector?: Record<string, string>;
}
const SUBMIT_FIELDS = [
  'entrypoint', 'submission_id', 'runtime_env', 'metadata', 'entrypoint_num_cpus', 'entrypoint_num_gpus',
  'entrypoint_memory', 'entrypoint_resources', 'entrypoint_label_selector',
] as const satisfies readonly (keyof RaySubmitRequest)[];

export interface RayJobDetails {
  type: 'SUBMISSION' | 'DRIVER';
  /** the Ray core driver id (hex), NOT the submission id; null until the driver starts */
  job_id: string | null;
  submission_id: string | null;
  driver_info: { id: string; node_ip_address: string; pid: string } | null;
  status: RayJobStatus;
  entrypoint: string;
  message: string | null;
  error_type: string | null;
  /** epoch milliseconds */
  start_time: number | null;
  end_time: number | null;
  metadata: Record<string, string> | null;
  runtime_env: Record<string, unknown> | null;
  driver_agent_http_address: string | null;
  driver_node_id: string | null;
  driver_exit_code: number | null;
}

export interface RayVersion {
  version: string;
  ray_version: string;
  ray_commit: string;
  session_name: string;
}

export interface SubmitResult {
  submission_id: string;
  /** false: a job with this submission id already existed and we attached to it */
  created: boolean;
}

/** A node as Ray's state API lists it (`GET /api/v0/nodes`). */
export interface RayNode {
  node_id: string;
  state: 'ALIVE' | 'DEAD' | string;
  is_head_node: boolean;
  /** logical resources: CPU, GPU, memory (bytes), object_store_memory, node:<ip>, custom names */
  resources_total: Record<string, number>;
}

export interface RayJobsClientOptions {
  /** the dashboard's base URL, e.g. http://127.0.0.1:8265 */
  address: string;
  /** Ray token auth (RAY_AUTH_MODE=token), sent as `Authorization: Bearer <token>` */
  token?: string;
  /** deadline of each call, connect to last byte (default 10 s) */
  timeoutMs?: number;
  /** deadline of a package upload (default 120 s: up to 100 MiB) */
  uploadTimeoutMs?: number;
  /** TCP connect deadline (default 3 s) */
  connectTimeoutMs?: number;
}

const DUPLICATE_SUBMISSION = 'Please use a different submission_id';
type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export class RayJobsClient {
  readonly address: string;
  private readonly agent: Agent;
  private readonly timeoutMs: number;
  private readonly uploadTimeoutMs: number;
  private readonly headers: Record<string, string>;

  constructor(opts: RayJobsClientOptions) {
    const url = new URL(opts.address);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`Ray address must be http(s): ${opts.address}`);
    this.address = url.origin + url.pathname.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.uploadTimeoutMs = opts.uploadTimeoutMs ?? 120_000;
    this.agent = new Agent({ connect: { timeout: opts.connectTimeoutMs ?? 3_000 } });
    // No browser-looking header (User-Agent "Mozilla…", Origin, Referer, Sec-Fetch-*): 405.
    this.headers = { 'user-agent': 'lakeray', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) };
  }

  async version(): Promise<RayVersion> {
    return this.json<RayVersion>('GET', '/api/version');
  }

  /** Submit a job; with a submission id that Ray already knows, attach to that job instead. */
  async submit(req: RaySubmitRequest): Promise<SubmitResult> {
    const body = submitBody(req);
    const res = await this.call('POST', '/api/jobs/', { body: JSON.stringify(body), contentType: 'application/json' });
    if (res.status === 500 && req.submission_id !== undefined && res.text.includes(DUPLICATE_SUBMISSION)) {
      return { submission_id: req.submission_id, created: false };
    }
    const out = this.parse<{ submission_id?: unknown }>(this.ok(res, 'POST /api/jobs/'), 'POST /api/jobs/');
    if (typeof out.submission_id !== 'string') throw new RayApiError('server', 'Ray accepted the job but sent no submission_id', res.status, res.text);
    return { submission_id: out.submission_id, created: true };
  }

  /** The job, or null when Ray does not know it (never submitted, deleted, or a new head). */
  async get(id: string): Promise<RayJobDetails | null> {
    const res = await this.call('GET', `/api/jobs/${encodeURIComponent(id)}`);
    if (res.status === 404) return null;
    return this.parse<RayJobDetails>(this.ok(res, 'GET job'), 'GET job');
  }

  /** Every job Ray knows, submissions first then drivers; no order, no paging. */
  async list(): Promise<RayJobDetails[]> {
    return this.json<RayJobDetails[]>('GET', '/api/jobs/');
  }

  /** Ask Ray to stop the job (SIGTERM, SIGKILL after RAY_JOB_STOP_WAIT_TIME_S); false: it had already ended. */
  async stop(id: string): Promise<boolean> {
    return (await this.json<{ stopped: boolean }>('POST', `/api/jobs/${encodeURIComponent(id)}/stop`)).stopped;
  }

  /** Forget a terminal job (its logs go with it); a job still running is a `not_terminal` error. */
  async delete(id: string): Promise<boolean> {
    return (await this.json<{ deleted: boolean }>('DELETE', `/api/jobs/${encodeURIComponent(id)}`)).deleted;
  }

  /** The job's whole log so far ("" before its driver starts). */
  async logs(id: string): Promise<string> {
    return (await this.json<{ logs: string }>('GET', `/api/jobs/${encodeURIComponent(id)}/logs`)).logs;
  }

  /** The cluster's nodes, dead ones included (the state API keeps them for a while). */
  async nodes(): Promise<RayNode[]> {
    const out = await this.json<{ data?: { result?: { result?: RayNode[] } } }>('GET', '/api/v0/nodes?limit=10000');
    const nodes = out.data?.result?.result;
    if (!Array.isArray(nodes)) throw new RayApiError('server', 'Ray GET /api/v0/nodes: no node list in the answer');
    return nodes;
  }

  /** True when the head holds `gcs://<name>`; the check also pins it there for ~10 min (Ray's temporary reference). */
  async packageExists(name: string): Promise<boolean> {
    const res = await this.call('GET', `/api/packages/gcs/${encodeURIComponent(name)}`);
    if (res.status === 404) return false;
    this.ok(res, 'GET package');
    return true;
  }

  /** Store a zip as `gcs://<name>` (Ray's limit: 100 MiB per request). */
  async uploadPackage(name: string, zip: Uint8Array): Promise<void> {
    const res = await this.call('PUT', `/api/packages/gcs/${encodeURIComponent(name)}`, {
      body: zip,
      contentType: 'application/zip',
      timeoutMs: this.uploadTimeoutMs,
    });
    this.ok(res, 'PUT package');
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async json<T>(method: Method, path: string): Promise<T> {
    const what = `${method} ${path}`;
    return this.parse<T>(this.ok(await this.call(method, path), what), what);
  }

  private ok(res: { status: number; text: string }, what: string): string {
    if (res.status >= 200 && res.status < 300) return res.text;
    const kind = kindOfStatus(res.status, res.text);
    throw new RayApiError(kind, `Ray ${what}: ${res.status} ${rayTextSummary(res.text)}`, res.status, res.text.slice(0, 8_000));
  }

  private parse<T>(text: string, what: string): T {
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new RayApiError('server', `Ray ${what}: answer is not JSON: ${text.slice(0, 200)}`, 200, text.slice(0, 8_000), { cause: err });
    }
  }

  private async call(
    method: Method,
    path: string,
    opts: { body?: string | Uint8Array; contentType?: string; timeoutMs?: number } = {},
  ): Promise<{ status: number; text: string }> {
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    try {
      const res = await request(this.address + path, {
        method,
        dispatcher: this.agent,
        headers: opts.contentType ? { ...this.headers, 'content-type': opts.contentType } : this.headers,
        body: opts.body,
        signal: AbortSignal.timeout(timeoutMs),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      return { status: res.statusCode, text: await res.body.text() };
    } catch (err) {
      throw transportError(err, `${method} ${path}`, timeoutMs, this.address);
    }
  }
}

function submitBody(req: RaySubmitRequest): Record<string, unknown> {
  const invalid = (why: string) => new RayApiError('invalid_request', `Ray job submission refused before sending: ${why}`);
  if (typeof req.entrypoint !== 'string' || req.entrypoint.trim() === '') throw invalid('entrypoint is empty');
  const m = req.entrypoint_memory;
  if (m !== undefined && !(Number.isSafeInteger(m) && m >= 0)) throw invalid(`entrypoint_memory must be a whole number of bytes, got ${m}`);
  for (const k of ['entrypoint_num_cpus', 'entrypoint_num_gpus'] as const) {
    const v = req[k];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw invalid(`${k} must be a number ≥ 0, got ${v}`);
  }
  for (const [k, v] of Object.entries(req.entrypoint_resources ?? {})) {
    if (!(Number.isFinite(v) && v >= 0)) throw invalid(`entrypoint_resources.${k} must be a number ≥ 0, got ${v}`);
  }
  for (const [k, v] of Object.entries(req.metadata ?? {})) {
    if (typeof v !== 'string') throw invalid(`metadata.${k} must be a string`);
  }
  const body: Record<string, unknown> = {};
  for (const k of SUBMIT_FIELDS) if (req[k] !== undefined && req[k] !== null) body[k] = req[k];
  return body;
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ETIMEDOUT',
  'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT',
]);

function transportError(err: unknown, what: string, timeoutMs: number, address: string): RayApiError {
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string } };
  if (e?.name === 'TimeoutError' || e?.code === 'UND_ERR_HEADERS_TIMEOUT' || e?.code === 'UND_ERR_BODY_TIMEOUT') {
    return new RayApiError('timeout', `Ray ${what}: no answer from ${address} within ${timeoutMs} ms`, undefined, undefined, { cause: err });
  }
  const code = e?.code ?? e?.cause?.code ?? 'unknown';
  const why = UNREACHABLE_CODES.has(code) ? code : `${code} ${e?.message ?? String(err)}`;
  return new RayApiError('unreachable', `Ray ${what}: cannot reach ${address} (${why})`, undefined, undefined, { cause: err });
}
