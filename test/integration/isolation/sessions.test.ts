/**
 * Streaming sessions, seed 003's routes and evaluation reports per tenant (issue 15 §2), on a
 * real server with API keys: tenants acme (A) and globex (B) each deploy the GRU fixture under
 * the same name `gru` (real onnxruntime replicas). B tries every session, seed 003 and eval
 * report route with A's session ids and report ids: each is a 404 as if nothing were there,
 * A's sessions and settings stay as they were, and B's own routes act on B's deployment only.
 * `lakeray eval serve` with A's key writes a report only A lists.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import { pathToFileURL } from 'node:url';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { main } from '../../../src/cli/index.ts';
import { createKey } from '../../helpers/keys.ts';
import { until } from '../../helpers/until.ts';
import { startIsolationServer, type IsolationServer } from './fixture.ts';

const FIXTURES = join(import.meta.dirname, '../../fixtures/serving');
let iso: IsolationServer;
let url: string;
const key = { a: '', aViewer: '', b: '', operator: '' };

type Answer = { status: number; text: string; json: () => Record<string, unknown> };
const call = async (bearer: string | null, method: string, path: string, body?: unknown): Promise<Answer> => {
  const headers: Record<string, string> = bearer === null ? {} : { authorization: `Bearer ${bearer}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await request(`${url}${path}`, { method: method as 'GET', headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(20_000) });
  const text = await r.body.text();
  return { status: r.statusCode, text, json: () => JSON.parse(text) as Record<string, unknown> };
};
const expectCode = (r: Answer, status: number, code: string) => {
  expect(r.status, r.text).toBe(status);
  expect((r.json().error as { code: string }).code).toBe(code);
};

/** Opens a session WebSocket; sends one GRU row and resolves with the first message (or the refusal). */
const streamOne = (path: string, headers: Record<string, string> = {}): Promise<{ message?: Record<string, unknown>; close?: number; status?: number }> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}${path}`, { headers });
    let message: Record<string, unknown> | undefined;
    const timer = setTimeout(() => reject(new Error(`no answer on ${path}`)), 20_000);
    ws.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      resolve({ status: res.statusCode });
    });
    ws.on('open', () => ws.send(new Float32Array(28).fill(0.5), { binary: true }));
    ws.on('message', (data) => {
      message ??= JSON.parse(String(data)) as Record<string, unknown>;
      if ('outputs' in message) ws.close(1000);
    });
    ws.on('close', (code) => {
      clearTimeout(timer);
      resolve({ message, close: code });
    });
    ws.on('error', () => undefined);
  });

beforeAll(async () => {
  iso = await startIsolationServer({ auth: { mode: 'keys' } });
  url = iso.server.url;
  const db = join(iso.dir, 'state', 'lakeray.db');
  key.a = await createKey(db, { tenant: 'acme', role: 'admin' });
  key.aViewer = await createKey(db, { tenant: 'acme', role: 'viewer' });
  key.b = await createKey(db, { tenant: 'globex', role: 'admin' });
  key.operator = await createKey(db, { tenant: 'default', role: 'admin' });
  const { createLakeClient } = await import(pathToFileURL(join(import.meta.dirname, '../../../runtimes/node/lake.mjs')).href);
  const gru = readFileSync(join(FIXTURES, 'gru_rows.onnx'));
  for (const bearer of [key.a, key.b]) {
    await createLakeClient({ apiUrl: url, token: bearer }).writeModel({ name: 'gru', files: { 'model.onnx': gru }, params: { serving: { state: [{ input: 'h0', output: 'hn' }], chunk_input: 'x', chunks: 28 } } });
    const created = await call(bearer, 'POST', '/api/v1/deployments', { name: 'gru', model: 'gru', max_batch_size: 8, batch_timeout_ms: 2 });
    expect(created.status, created.text).toBe(201);
  }
  for (const bearer of [key.a, key.b])
    await until('gru ready', async () => ((await call(bearer, 'GET', '/api/v1/deployments/gru')).json().status === 'ready' ? true : null), 120_000, 200);
}, 240_000);

afterAll(async () => {
  await iso?.close();
}, 60_000);

describe('sessions and seed 003 per tenant', () => {
  let viaApi = '';
  let viaInit = '';

  it("A's sessions stream for A (key in the header or ?access_token=)", async () => {
    const opened = await call(key.a, 'POST', '/api/v1/deployments/gru/sessions', { client_id: 'acme-user' });
    expect(opened.status, opened.text).toBe(201);
    viaApi = opened.json().session_id as string;
    const init = await call(key.a, 'POST', '/init', { client_id: 'acme-browser' });
    expect(init.status, init.text).toBe(200);
    viaInit = init.json().session_id as string;

    const byHeader = await streamOne(`/api/v1/deployments/gru/sessions/${viaApi}/stream`, { authorization: `Bearer ${key.a}` });
    expect(byHeader.message).toMatchObject({ seq: 1 });
    const byToken = await streamOne(`/wss/${viaInit}?access_token=${key.a}`);
    expect(byToken.message).toMatchObject({ seq: 1 });
    expect((await call(key.a, 'GET', `/queue_status/${viaInit}`)).json()).toMatchObject({ chunks_done: 1, client_id: 'acme-browser' });
  });

  it("B reaches none of A's sessions: every route is SESSION_NOT_FOUND and A's sessions go on", async () => {
    for (const id of [viaApi, viaInit]) {
      expectCode(await call(key.b, 'GET', `/api/v1/deployments/gru/sessions/${id}`), 404, 'SESSION_NOT_FOUND');
      expectCode(await call(key.b, 'DELETE', `/api/v1/deployments/gru/sessions/${id}`), 404, 'SESSION_NOT_FOUND');
      expectCode(await call(key.b, 'GET', `/queue_status/${id}`), 404, 'SESSION_NOT_FOUND');
      expectCode(await call(key.b, 'POST', '/delete_session', { session_id: id }), 404, 'SESSION_NOT_FOUND');
      for (const path of [`/wss/${id}?access_token=${key.b}`, `/api/v1/deployments/gru/sessions/${id}/stream?access_token=${key.b}`]) {
        const refused = await streamOne(path);
        expect(refused.close, path).toBe(4404);
        expect(refused.message, path).toMatchObject({ error: { code: 'SESSION_NOT_FOUND' } });
      }
    }
    // Untouched: no chunk of B's ran in them, and both are still there.
    expect((await call(key.a, 'GET', `/api/v1/deployments/gru/sessions/${viaApi}`)).json()).toMatchObject({ chunks_done: 1, pending_chunks: 0 });
    expect((await call(key.a, 'GET', `/queue_status/${viaInit}`)).json()).toMatchObject({ chunks_done: 1 });
  });

  it("B's seed 003 routes act on B's deployment: its own sessions, stats and settings", async () => {
    const init = await call(key.b, 'POST', '/init', { client_id: 'globex-browser' });
    expect(init.status, init.text).toBe(200);
    const mine = init.json().session_id as string;
    expect((await streamOne(`/wss/${mine}?access_token=${key.b}`)).message).toMatchObject({ seq: 1 });
    expectCode(await call(key.a, 'GET', `/queue_status/${mine}`), 404, 'SESSION_NOT_FOUND');

    const statsB = (await call(key.b, 'GET', '/ray/stats')).json() as { sessions: { open: number }; requests_total: number };
    const statsA = (await call(key.a, 'GET', '/ray/stats')).json() as { sessions: { open: number }; requests_total: number };
    expect(statsB.sessions.open).toBe(1);
    expect(statsA.sessions.open).toBe(2);
    expect(statsB.requests_total).toBe(1);
    expect(statsA.requests_total).toBe(2);

    const configured = await call(key.b, 'POST', '/ray/configure', { max_batch_size: 3 });
    expect(configured.status, configured.text).toBe(200);
    expect((await call(key.b, 'GET', '/api/v1/deployments/gru')).json().max_batch_size).toBe(3);
    expect((await call(key.a, 'GET', '/api/v1/deployments/gru')).json().max_batch_size).toBe(8);
  });

  it('a viewer reads but never writes; no key is 401', async () => {
    expectCode(await call(key.aViewer, 'POST', '/init', { client_id: 'v' }), 403, 'FORBIDDEN');
    expectCode(await call(key.aViewer, 'POST', '/ray/configure', { max_batch_size: 2 }), 403, 'FORBIDDEN');
    expectCode(await call(key.aViewer, 'POST', '/delete_session', { session_id: viaInit }), 403, 'FORBIDDEN');
    expect((await streamOne(`/wss/${viaInit}?access_token=${key.aViewer}`)).status).toBe(403);
    expect((await call(key.aViewer, 'GET', `/queue_status/${viaInit}`)).status).toBe(200);
    expectCode(await call(null, 'GET', `/queue_status/${viaInit}`), 401, 'UNAUTHORIZED');
    expect((await streamOne(`/wss/${viaInit}`)).status).toBe(401);
  });

  it("B deleting its deployment of the same name ends B's sessions only", async () => {
    expect((await call(key.b, 'DELETE', '/api/v1/deployments/gru')).status).toBe(204);
    expect((await call(key.a, 'GET', `/queue_status/${viaInit}`)).status).toBe(200);
    expect((await call(key.a, 'GET', `/api/v1/deployments/gru/sessions/${viaApi}`)).status).toBe(200);
    expectCode(await call(key.b, 'POST', '/init', {}), 404, 'DEPLOYMENT_NOT_FOUND');
  });
});

describe('evaluation reports per tenant', () => {
  it("lakeray eval serve with A's key writes a report A lists and no other tenant sees", async () => {
    const configPath = join(iso.dir, 'cli.json');
    writeFileSync(configPath, JSON.stringify({ state_dir: join(iso.dir, 'state') }));
    const out = { text: '', isTTY: false, write: (s: string) => ((out.text += s), true) };
    const code = await main(['--url', url, '--config', configPath, 'eval', 'serve', 'gru', '--mode', 'session', '--users', '1', '--duration', '1'], {
      stdout: out,
      stderr: out,
      env: { LAKERAY_API_KEY: key.a },
      cwd: iso.dir,
      signals: new EventEmitter(),
    });
    expect(code, out.text).toBe(0);

    const listA = (await call(key.a, 'GET', '/api/v1/eval/reports')).json() as { tenant: string; items: { id: string }[] };
    expect(listA.tenant).toBe('acme');
    expect(listA.items).toHaveLength(1);
    const id = listA.items[0]!.id;
    expect(readFileSync(join(iso.dir, 'state', 'eval_results', 'tenants', 'acme', id, 'summary.json'), 'utf8')).toContain('"deployment": "gru"');
    expect((await call(key.a, 'GET', `/api/v1/eval/reports/${id}/summary.json`)).status).toBe(200);

    for (const [bearer, tenant] of [[key.b, 'globex'], [key.operator, 'default']] as const) {
      const list = await call(bearer, 'GET', '/api/v1/eval/reports');
      expect(list.json()).toEqual({ tenant, items: [] });
      for (const file of ['summary.json', 'README.md']) expectCode(await call(bearer, 'GET', `/api/v1/eval/reports/${id}/${file}`), 404, 'EVAL_REPORT_NOT_FOUND');
    }
    const seen = (await call(key.a, 'GET', '/api/v1/eval/reports')).text;
    expect(seen).not.toContain(iso.dir);
  }, 120_000);
});
