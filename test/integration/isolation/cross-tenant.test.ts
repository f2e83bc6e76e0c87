/**
 * The tenant-isolation suite (issue 15 §2): on a real server with API keys (auth: keys),
 * tenant A makes one of every object (a finished task with an artifact, a running task, a
 * running service, a dataset with a tag, a model with a file, an uploaded image); tenant B, an admin of its own
 * tenant, then tries every route of the OpenAPI document with A's ids in every path parameter,
 * and a WebSocket `all` subscription while A works. B must never see A's data (no marker of A
 * in any answer), never get a 403 that confirms an object exists, never a 5xx, and none of its
 * writes may change A's objects. Every error message B saw must name no server path.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import arrow from '../../../src/lake/arrow.ts';
import { createKey } from '../../helpers/keys.ts';
import { ROOT } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';
import { operations, valueOf } from '../../fuzz/openapi-arbitraries.ts';
import { ARROW, ipc, startIsolationServer, type IsolationServer } from './fixture.ts';

const MARKER = `acme-marker-${Math.random().toString(36).slice(2, 10)}`;
const COLUMN = `acme_col_${Math.random().toString(36).slice(2, 8)}`;
let iso: IsolationServer;
let url: string;
let keyA: string;
let keyB: string;
const a = { done: '', held: '', service: '', upload: '' };
let releaseHeld: () => void = () => {};

type Answer = { status: number; text: string };
const call = async (key: string, method: string, path: string, body?: Buffer | string, contentType?: string, accept?: string): Promise<Answer> => {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  if (contentType) headers['content-type'] = contentType;
  if (accept) headers.accept = accept;
  const r = await request(`${url}${path}`, { method: method as 'GET', headers, body, signal: AbortSignal.timeout(10_000) });
  // A stream (SSE) that B may legitimately open is read for a moment, then dropped.
  if (String(r.headers['content-type'] ?? '').startsWith('text/event-stream')) {
    let text = '';
    const stop = setTimeout(() => r.body.destroy(), 1000);
    try {
      for await (const chunk of r.body) text += chunk;
    } catch {
      // destroyed: what came is what we check
    }
    clearTimeout(stop);
    return { status: r.statusCode, text };
  }
  return { status: r.statusCode, text: await r.body.text() };
};
const ok = (r: Answer, what: string) => expect(r.status, `${what}: ${r.text}`).toBeLessThan(300);

const modelIpc = (): Buffer => {
  const file = arrow.vectorFromArray(['weights.bin'], new arrow.Utf8());
  const data = arrow.vectorFromArray([new TextEncoder().encode(MARKER)], new arrow.Binary());
  return Buffer.from(arrow.tableToIPC(new arrow.Table({ file, data }), 'stream'));
};

beforeAll(async () => {
  iso = await startIsolationServer({
    // No rate limit: a 429 would stand in for the route's own answer, and every route must answer.
    auth: { mode: 'keys', rate_limit: null },
    script_roots: [join(import.meta.dirname, 'scripts'), join(ROOT, 'test/fixtures/scripts/services')],
  });
  url = iso.server.url;
  const db = join(iso.dir, 'state', 'lakeray.db');
  keyA = await createKey(db, { tenant: 'acme', role: 'admin' });
  keyB = await createKey(db, { tenant: 'globex', role: 'admin' });

  const submit = async (body: object) => {
    const r = await call(keyA, 'POST', '/api/v1/tasks', JSON.stringify(body), 'application/json');
    ok(r, 'submit');
    return JSON.parse(r.text).id as string;
  };
  const status = async (id: string) => JSON.parse((await call(keyA, 'GET', `/api/v1/tasks/${id}`)).text).status as string;
  a.done = await submit({ script: 'acme_artifact.py', params: { marker: MARKER } });
  const release = join(iso.dir, 'release-held');
  a.held = await submit({ script: 'waits.py', params: { release, marker: MARKER } });
  releaseHeld = () => writeFileSync(release, '');
  a.service = await submit({ script: 'http_service.py', service: { startup_timeout_s: 60 }, params: { marker: MARKER } });
  await until('A\'s tasks to reach their states', async () => (await status(a.done)) === 'completed' && (await status(a.held)) === 'running' && (await status(a.service)) === 'running', 60_000);
  await until('A\'s service to answer', async () => (await call(keyA, 'GET', `/api/v1/services/${a.service}/health`)).status === 200, 60_000);

  const table = arrow.tableFromArrays({ [COLUMN]: Float64Array.from([1, 2, 3]) });
  ok(await call(keyA, 'PUT', '/api/v1/datasets/acme_digits/arrow', Buffer.from(arrow.tableToIPC(table, 'stream')), ARROW), 'dataset');
  ok(await call(keyA, 'POST', '/api/v1/datasets/acme_digits/tags', JSON.stringify({ tag: 'gold', version: 1 }), 'application/json'), 'tag');
  ok(await call(keyA, 'PUT', '/api/v1/models/acme_model/arrow', modelIpc(), ARROW), 'model');
  // An image (PNG magic, then the marker): its bytes in an answer to B would be a leak.
  const form = new FormData();
  const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(MARKER)]);
  form.append('file', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'acme.png');
  const up = await fetch(`${url}/api/v1/uploads`, { method: 'POST', headers: { authorization: `Bearer ${keyA}` }, body: form });
  expect(up.status).toBe(201);
  a.upload = ((await up.json()) as { id: string }).id;
}, 180_000);

afterAll(async () => {
  releaseHeld();
  await iso?.close();
});

/** What A sees of its own objects: B's requests must leave it exactly so. */
const snapshotOfA = async () => {
  const get = async (path: string) => {
    const r = await call(keyA, 'GET', path);
    return { status: r.status, body: r.status === 200 ? JSON.parse(r.text) : r.text };
  };
  const task = async (id: string) => ((t) => ({ status: t.body.status, id: t.body.id }))(await get(`/api/v1/tasks/${id}`));
  const table = async (kind: string, name: string) => ((t) => ({ version: t.body.version, rows: t.body.num_rows, tags: t.body.tags }))(await get(`/api/v1/${kind}/${name}`));
  return {
    done: await task(a.done),
    held: await task(a.held),
    service: await task(a.service),
    artifact: (await call(keyA, 'GET', `/api/v1/tasks/${a.done}/artifacts/out.txt`)).text,
    dataset: await table('datasets', 'acme_digits'),
    model: await table('models', 'acme_model'),
    listed: (await get('/api/v1/tasks?limit=100')).body.tasks.map((t: { id: string }) => t.id).sort(),
    upload: (await call(keyA, 'GET', `/api/v1/uploads/${a.upload}`)).text,
  };
};

describe('tenant isolation', () => {
  it('tenant B, trying every route with A\'s ids, reads nothing of A\'s and changes nothing', async () => {
    const before = await snapshotOfA();
    expect(before.artifact).toContain(MARKER);
    expect(before.upload).toContain(MARKER);
    const doc = JSON.parse((await call(keyB, 'GET', '/docs/json')).text);
    const ops = operations(doc).filter((op) => !op.path.startsWith('/docs'));
    // Every object of A, as the path parameters that name it (the rest take its id too).
    const objects: Record<string, string>[] = [
      { id: a.done, name: 'out.txt' },
      { id: a.held },
      { id: a.service, '*': 'health' },
      { id: 'acme_digits', tag: 'gold' },
      { id: 'acme_model', file: 'weights.bin' },
      { id: a.done, name: 'acme', session_id: a.done },
      { id: a.upload },
    ];
    const seen: { op: string; status: number; text: string }[] = [];
    let tried = 0;
    for (const op of ops) {
      const pathParams = op.params.filter((p) => p.in === 'path');
      for (const object of pathParams.length === 0 ? [{}] : objects) {
        const path = pathParams.reduce((p, param) => p.replace(`{${param.name}}`, encodeURIComponent(object[param.name] ?? object.id ?? 'x')), op.path);
        const query = op.params.filter((p) => p.in === 'query' && p.required).map((p) => `${p.name}=${encodeURIComponent(String(fc.sample(valueOf(doc, p.schema, false), { numRuns: 1, seed: 7 })[0]))}`);
        const target = query.length > 0 ? `${path}?${query.join('&')}` : path;
        const json = op.body === null ? undefined : JSON.stringify(fc.sample(valueOf(doc, op.body, false), { numRuns: 1, seed: 7 })[0]);
        const arrowBody = op.contentTypes.includes(ARROW) || (op.method === 'PUT' && op.path.endsWith('/arrow'));
        const body = json ?? (arrowBody ? ipc(2) : undefined);
        const type = json !== undefined ? 'application/json' : arrowBody ? ARROW : undefined;
        for (const accept of op.path.endsWith('/events') ? [undefined, 'text/event-stream'] : [undefined]) {
          const r = await call(keyB, op.method, target, body, type, accept);
          tried += 1;
          seen.push({ op: `${op.method} ${target}${accept ? ' (SSE)' : ''}`, status: r.status, text: r.text });
        }
      }
    }
    const leaks = seen.filter((s) => s.text.includes(MARKER) || s.text.includes(COLUMN) || s.text.includes(a.held) && s.status < 300 && !s.op.includes(a.held));
    const forbidden = seen.filter((s) => s.status === 403);
    const errors5xx = seen.filter((s) => s.status >= 500 && s.status !== 503);
    // A's task ids in a task or service route: never a success. (A lake route with A's names
    // is B's own namespace: B may make its own `acme_digits`; A's snapshot below shows it is not A's.)
    const reachedA = seen.filter((s) => s.status < 300 && [a.done, a.held, a.service, a.upload].some((id) => new RegExp(`^[A-Z]+ /api/v1/(tasks|services|uploads)/${id}`).test(s.op)));
    console.log(`isolation: ${ops.length} routes, ${objects.length} objects of A, ${tried} requests by B; cross-tenant reads ${leaks.length + reachedA.length}, 403s ${forbidden.length}; statuses ${JSON.stringify(Object.fromEntries([...new Set(seen.map((x) => x.status))].sort().map((st) => [st, seen.filter((x) => x.status === st).length])))}`);
    expect(leaks.map((s) => s.op)).toEqual([]);
    expect(reachedA.map((s) => `${s.op} → ${s.status}`)).toEqual([]);
    expect(forbidden.map((s) => `${s.op}: ${s.text}`)).toEqual([]);
    expect(errors5xx.map((s) => `${s.op} → ${s.status}: ${s.text.slice(0, 200)}`)).toEqual([]);
    // No write of B reached A: A's objects are as they were.
    expect(await snapshotOfA()).toEqual(before);
    // No error message B got names a server path (state dir, lake, data or script roots).
    const messages = seen.filter((s) => s.status >= 400).map((s) => s.text);
    expect(messages.filter((m) => m.includes(iso.dir) || m.includes(ROOT))).toEqual([]);
    expect(tried).toBeGreaterThan(100);
  }, 300_000);

  it('path errors name what the client sent, never the state dir, the lake or the script and data roots', async () => {
    const bad = [
      { script: '../../../etc/passwd.py' },
      { script: 'no_such_script.py' },
      { script: 'waits.py', input: '/etc/passwd' },
      { script: 'waits.py', input: '../../outside.csv' },
      { script: 'waits.py', output: '/var/tmp/out.csv' },
      { script: 'waits.py', input: 'missing_dir/file.csv' },
    ];
    const answers: Answer[] = [];
    for (const body of bad) answers.push(await call(keyA, 'POST', '/api/v1/tasks', JSON.stringify(body), 'application/json'));
    answers.push(await call(keyA, 'GET', `/api/v1/datasets/acme_digits/rows?filter=${encodeURIComponent('nope = 1')}`));
    answers.push(await call(keyA, 'GET', '/api/v1/datasets/acme_digits/rows?version=99'));
    answers.push(await call(keyA, 'GET', '/api/v1/models/acme_model/files/nope.bin'));
    answers.push(await call(keyA, 'PUT', '/api/v1/datasets/acme_digits/arrow?mode=append', ipc(2), ARROW)); // another schema
    answers.push(await call(keyA, 'PUT', '/api/v1/datasets/acme_digits/arrow', Buffer.from('not arrow'), ARROW));
    const errors = answers.filter((r) => r.status >= 400);
    expect(errors.length).toBeGreaterThanOrEqual(answers.length - 1);
    expect(errors.filter((r) => r.text.includes(iso.dir) || r.text.includes(ROOT) || r.text.includes(import.meta.dirname))).toEqual([]);
  });

  it("deleting a table is in its tenant's audit log, not in another's", async () => {
    ok(await call(keyA, 'PUT', '/api/v1/datasets/acme_scratch/arrow', ipc(2), ARROW), 'scratch');
    expect((await call(keyA, 'DELETE', '/api/v1/datasets/acme_scratch')).status).toBe(204);
    const auditOf = async (key: string) => JSON.parse((await call(key, 'GET', '/api/v1/audit?limit=100')).text).entries as { action: string; target: string }[];
    expect((await auditOf(keyA)).some((e) => e.action === 'datasets.delete' && e.target === 'acme_scratch')).toBe(true);
    expect((await auditOf(keyB)).some((e) => e.target === 'acme_scratch')).toBe(false);
  });

  it("B's WebSocket `all` feed carries none of A's events, and A's task ids are unknown to it", async () => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/api/v1/ws?access_token=${encodeURIComponent(keyB)}`);
    const frames: string[] = [];
    ws.on('message', (data) => frames.push(String(data)));
    await new Promise((res, rej) => (ws.once('open', res), ws.once('error', rej)));
    ws.send(JSON.stringify({ op: 'subscribe', all: true }));
    ws.send(JSON.stringify({ op: 'subscribe', tasks: [a.done, a.held] }));
    await until('B to be subscribed', async () => frames.some((f) => f.includes('"all":true')), 10_000);
    // A works meanwhile: a task runs from start to end.
    const r = await call(keyA, 'POST', '/api/v1/tasks', JSON.stringify({ script: 'acme_artifact.py', params: { marker: MARKER } }), 'application/json');
    const id = JSON.parse(r.text).id as string;
    await until('A\'s task to end', async () => JSON.parse((await call(keyA, 'GET', `/api/v1/tasks/${id}`)).text).status === 'completed', 60_000);
    await new Promise((res) => setTimeout(res, 500));
    ws.close();
    expect(frames.filter((f) => f.includes(MARKER) || f.includes(id) || f.includes('"type":"event"'))).toEqual([]);
  }, 120_000);
});
