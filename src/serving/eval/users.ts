/**
 * Simulated users against one deployment, each a closed loop (send, wait for the answer,
 * send again) for a fixed time:
 * - request mode: POST /api/v1/deployments/{name}/predict with a one-row JSON body;
 * - session mode: open a session, stream chunks over its WebSocket one at a time, end with
 *   EOF and delete it; a dropped socket is recorded and the user opens a new session.
 * Every request (or chunk) becomes a RequestRecord. A refusal carrying Retry-After makes the
 * user wait as a well-behaved client would (at most 1 s, so the phase keeps its load shape).
 * Requests still in flight at the end are awaited, so the phase's duration is measured, not assumed.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import WebSocket from 'ws';
import type { RequestRecord } from './metrics.ts';
import type { EvalMode } from './summary.ts';

export interface LoadTarget {
  /** Server base URL, e.g. http://127.0.0.1:8000 (a path prefix is kept). */
  baseUrl: string;
  deployment: string;
  /** Sent with every request (the API key). */
  headers: Record<string, string>;
}

export interface UsersRun {
  target: LoadTarget;
  mode: EvalMode;
  users: number;
  durationMs: number;
  /** request mode: predict bodies; session mode: chunks (Buffer = binary frame). Users rotate through them. */
  payloads: readonly (string | Buffer)[];
  signal?: AbortSignal;
  /** Each record as it is made (the progress bar counts them). */
  onRecord?: (r: RequestRecord) => void;
}

export interface UsersResult {
  records: RequestRecord[];
  /** From the first request sent to the last answer received. */
  elapsedMs: number;
}

const MAX_BACKOFF_MS = 1000;

export async function runUsers(run: UsersRun): Promise<UsersResult> {
  const dispatcher = new Agent({ connections: run.users, keepAliveTimeout: 10_000 });
  const records: RequestRecord[] = [];
  const t0 = performance.now();
  const end = t0 + run.durationMs;
  const record = (startedAt: number, error: string | null) => {
    const r = { start_ms: round(startedAt - t0), latency_ms: round(performance.now() - startedAt), error };
    records.push(r);
    run.onRecord?.(r);
  };
  const user = run.mode === 'request' ? requestUser : sessionUser;
  try {
    await Promise.all(Array.from({ length: run.users }, (_, i) => user({ run, i, end, record, dispatcher })));
  } finally {
    await dispatcher.close();
  }
  return { records, elapsedMs: performance.now() - t0 };
}

const round = (v: number) => Math.round(v * 1000) / 1000;

interface UserCtx {
  run: UsersRun;
  i: number;
  end: number;
  record: (startedAt: number, error: string | null) => void;
  dispatcher: Agent;
}

const live = (u: UserCtx) => performance.now() < u.end && !u.run.signal?.aborted;

function deploymentUrl(t: LoadTarget, suffix: string): string {
  return `${t.baseUrl.replace(/\/+$/, '')}/api/v1/deployments/${encodeURIComponent(t.deployment)}${suffix}`;
}

/** The API's error code from a non-2xx body, else HTTP_<status>. */
export function errorCodeOf(status: number, text: string): string {
  try {
    const code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
    if (typeof code === 'string' && code) return code;
  } catch {
    // not the API's error document
  }
  return `HTTP_${status}`;
}

async function backoff(u: UserCtx, retryAfter: string | string[] | undefined): Promise<void> {
  const s = Number(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
  const ms = Number.isFinite(s) && s > 0 ? Math.min(s * 1000, MAX_BACKOFF_MS) : 0;
  const left = u.end - performance.now();
  if (ms > 0 && left > 0) await sleep(Math.min(ms, left), undefined, { signal: u.run.signal }).catch(() => undefined);
}

async function requestUser(u: UserCtx): Promise<void> {
  const url = deploymentUrl(u.run.target, '/predict');
  const headers = { ...u.run.target.headers, 'content-type': 'application/json', accept: 'application/json' };
  for (let n = u.i; live(u); n++) {
    const body = u.run.payloads[n % u.run.payloads.length]!;
    const started = performance.now();
    try {
      const res = await request(url, { method: 'POST', headers, body, dispatcher: u.dispatcher, signal: u.run.signal });
      const text = await res.body.text();
      u.record(started, res.statusCode < 300 ? null : errorCodeOf(res.statusCode, text));
      if (res.statusCode >= 300) await backoff(u, res.headers['retry-after']);
    } catch {
      if (u.run.signal?.aborted) return;
      u.record(started, 'NETWORK_ERROR');
      await backoff(u, '0.1');
    }
  }
}

async function sessionUser(u: UserCtx): Promise<void> {
  const t = u.run.target;
  const headers = { ...t.headers, 'content-type': 'application/json', accept: 'application/json' };
  for (let n = u.i; live(u); ) {
    const started = performance.now();
    let sessionId: string;
    try {
      const res = await request(deploymentUrl(t, '/sessions'), {
        method: 'POST',
        headers,
        body: JSON.stringify({ client_id: `eval-user-${u.i + 1}` }),
        dispatcher: u.dispatcher,
        signal: u.run.signal,
      });
      const text = await res.body.text();
      if (res.statusCode >= 300) {
        u.record(started, errorCodeOf(res.statusCode, text));
        await backoff(u, res.headers['retry-after'] ?? '0.1');
        continue;
      }
      sessionId = String((JSON.parse(text) as { session_id: unknown }).session_id);
    } catch {
      if (u.run.signal?.aborted) return;
      u.record(started, 'NETWORK_ERROR');
      await backoff(u, '0.1');
      continue;
    }
    n = await streamSession(u, sessionId, n);
    await request(deploymentUrl(t, `/sessions/${encodeURIComponent(sessionId)}`), { method: 'DELETE', headers: t.headers, dispatcher: u.dispatcher })
      .then((r) => r.body.dump())
      .catch(() => undefined); // best effort: an ended session may already be gone
  }
}

/** Streams chunks until the time is up (then EOF) or the socket drops; returns the next payload index. */
async function streamSession(u: UserCtx, sessionId: string, n: number): Promise<number> {
  const url = deploymentUrl(u.run.target, `/sessions/${encodeURIComponent(sessionId)}/stream`).replace(/^http/, 'ws');
  const ws = new WebSocket(url, { headers: u.run.target.headers });
  const inbox = new Inbox(ws);
  const stop = () => ws.terminate();
  u.run.signal?.addEventListener('abort', stop, { once: true });
  try {
    if (!(await inbox.opened())) {
      u.record(performance.now(), 'WS_CLOSED');
      return n;
    }
    while (live(u)) {
      const started = performance.now();
      ws.send(u.run.payloads[n++ % u.run.payloads.length]!);
      const msg = await inbox.next();
      if (msg === null) {
        u.record(started, 'WS_CLOSED');
        return n;
      }
      const { error, event } = msg as { error?: { code?: unknown }; event?: unknown };
      if (event === 'ended') {
        // The server ended the session (deleted, reaped): this chunk has no answer; open another.
        u.record(started, 'SESSION_ENDED');
        return n;
      }
      u.record(started, error ? String(error.code ?? 'WS_ERROR') : null);
    }
    ws.send('EOF');
    // The eof event confirms every chunk was answered; a close instead is fine at the end.
    while ((await inbox.next(5000)) !== null && !inbox.sawEof);
    return n;
  } finally {
    u.run.signal?.removeEventListener('abort', stop);
    ws.terminate();
  }
}

/** The socket's JSON messages in order, awaited one at a time; null once it is closed (or a wait timed out). */
class Inbox {
  private readonly queue: unknown[] = [];
  private waiter: ((m: unknown) => void) | null = null;
  private closed = false;
  sawEof = false;

  constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      let msg: unknown = { error: { code: 'WS_BAD_MESSAGE' } };
      if (!isBinary)
        try {
          msg = JSON.parse(data.toString('utf8'));
        } catch {
          // keep WS_BAD_MESSAGE
        }
      if ((msg as { event?: unknown }).event === 'eof') this.sawEof = true;
      this.push(msg);
    });
    ws.on('close', () => {
      this.closed = true;
      this.push(null);
    });
    ws.on('error', () => undefined); // 'close' follows and is what counts
  }

  opened(): Promise<boolean> {
    if (this.ws.readyState === WebSocket.OPEN) return Promise.resolve(true);
    return new Promise((resolve) => {
      this.ws.once('open', () => resolve(true));
      this.ws.once('close', () => resolve(false));
    });
  }

  next(timeoutMs = 60_000): Promise<unknown> {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        resolve(null);
      }, timeoutMs);
      this.waiter = (m) => {
        clearTimeout(timer);
        resolve(m);
      };
    });
  }

  private push(msg: unknown): void {
    if (msg === null && !this.waiter) return; // the close is seen through `closed`
    const w = this.waiter;
    this.waiter = null;
    if (w) w(msg);
    else this.queue.push(msg);
  }
}
