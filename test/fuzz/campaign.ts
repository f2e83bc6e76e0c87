/**
 * The fuzzing campaign: `requests` requests generated from the live server's OpenAPI document
 * (openapi-arbitraries.ts), `concurrency` at a time, against one server. Counts what the issue
 * asks for: 5xx answers and hangs (no answer headers within `timeoutMs`, or a body that stops
 * flowing). Streams (SSE) count as answered once their headers arrive. Deterministic for a
 * seed: the same seed replays the same requests (given the same ids).
 *
 * One 503 is the API's contract, not a server error, and is counted apart (`not_ready`): a
 * request through the service proxy to a service task that runs but has not passed its health
 * check yet is answered 503 SERVICE_NOT_READY with Retry-After (docs/api.md, "Service
 * tasks"). The campaign makes such services itself: a generated cancel of a deployment's
 * replica makes the deployment start another, and generated requests reach the new one while
 * it starts. Only that code with that header is set apart; any other 503 is a failure.
 */
import fc from 'fast-check';
import { Agent, request } from 'undici';
import { operations, requestFor, type FuzzRequest } from './openapi-arbitraries.ts';

export interface CampaignOptions {
  url: string;
  requests: number;
  seed: number;
  concurrency?: number;
  timeoutMs?: number;
  /** Real ids to aim at (refreshed every chunk: DELETEs remove some). */
  ids: () => Promise<string[]>;
  log?: (line: string) => void;
}

export interface CampaignResult {
  requests: number;
  status_5xx: number;
  /** 503 SERVICE_NOT_READY with Retry-After: a service task that is starting (see above). */
  not_ready: number;
  hangs: number;
  /** Connections the server closed without an answer (e.g. a body over the limit). */
  connection_errors: number;
  by_status: Record<string, number>;
  by_kind: Record<string, number>;
  /** The first few 5xx answers and hangs, to reproduce. */
  failures: { request: Omit<FuzzRequest, 'body'> & { body?: string }; status: number | 'hang' | 'connection'; answer: string }[];
  seconds: number;
  seed: number;
}

const CHUNK = 500;

/** The service proxy's 503 for a starting service (a HEAD answer has no body: its path tells). */
const notReady = (req: FuzzRequest, text: string): boolean => {
  if (req.method === 'HEAD') return req.path.startsWith('/api/v1/services/');
  try {
    return (JSON.parse(text) as { error?: { code?: string } }).error?.code === 'SERVICE_NOT_READY';
  } catch {
    return false;
  }
};
const MAX_BODY = 1 << 20;

export async function runCampaign(opts: CampaignOptions): Promise<CampaignResult> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const doc = (await (await request(`${opts.url}/docs/json`)).body.json()) as Record<string, unknown>;
  const ops = operations(doc);
  if (ops.length === 0) throw new Error('the OpenAPI document lists no operations');
  const agent = new Agent({ connections: opts.concurrency ?? 8, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const result: CampaignResult = { requests: 0, status_5xx: 0, not_ready: 0, hangs: 0, connection_errors: 0, by_status: {}, by_kind: {}, failures: [], seconds: 0, seed: opts.seed };
  const started = performance.now();
  const note = (req: FuzzRequest, status: CampaignResult['failures'][number]['status'], answer: string) => {
    if (result.failures.length < 20) result.failures.push({ request: { ...req, body: req.body === undefined ? undefined : String(req.body).slice(0, 300) }, status, answer: answer.slice(0, 500) });
  };
  const send = async (req: FuzzRequest): Promise<void> => {
    result.by_kind[req.kind] = (result.by_kind[req.kind] ?? 0) + 1;
    try {
      const res = await request(`${opts.url}${req.path}`, { method: req.method as 'GET', headers: req.headers, body: req.body, dispatcher: agent });
      result.by_status[res.statusCode] = (result.by_status[res.statusCode] ?? 0) + 1;
      let text = '';
      if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) res.body.destroy();
      else {
        for await (const chunk of res.body) {
          if (text.length < 2000) text += String(chunk);
          if (text.length > MAX_BODY) break;
        }
      }
      if (res.statusCode === 503 && res.headers['retry-after'] !== undefined && notReady(req, text)) result.not_ready += 1;
      else if (res.statusCode >= 500) {
        result.status_5xx += 1;
        note(req, res.statusCode, text);
      }
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
        result.hangs += 1;
        note(req, 'hang', code);
      } else {
        result.connection_errors += 1;
        note(req, 'connection', `${code} ${(err as Error).message}`);
      }
    }
    result.requests += 1;
  };
  try {
    for (let offset = 0; offset < opts.requests; offset += CHUNK) {
      const ids = await opts.ids();
      const arb = fc.constantFrom(...ops).chain((op) => requestFor(doc, op, ids));
      const batch = fc.sample(arb, { numRuns: Math.min(CHUNK, opts.requests - offset), seed: opts.seed + offset });
      let next = 0;
      await Promise.all(
        Array.from({ length: opts.concurrency ?? 8 }, async () => {
          while (next < batch.length) await send(batch[next++]!);
        }),
      );
      opts.log?.(`${result.requests} requests: ${result.status_5xx} × 5xx, ${result.hangs} hangs, ${result.connection_errors} connection errors`);
    }
  } finally {
    await agent.close();
  }
  result.seconds = (performance.now() - started) / 1000;
  return result;
}
