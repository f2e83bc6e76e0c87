/**
 * The service proxy on the real engine: service tasks run scripts/service.mjs under the local
 * executor's supervisor, and the proxy forwards to it. What is forwarded (method, path as
 * encoded, query, headers, streamed bodies of any type), what comes back (status, headers,
 * streamed body), and the JSON errors of a service starting, restarting or gone.
 */
import http from 'node:http';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceEndpoint } from '../../../src/domain/service.ts';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';
import { listen } from './helpers.ts';
import { CALLER, HOLDER, type Platform, setup } from './platform.ts';

let p: Platform;
let base: string;
let gates: string;
let n = 0;

/** A running service task; with `gated`, it is healthy only once gate(id) opened it. */
const serviceTask = async (gated = false): Promise<{ id: string; gate: string }> => {
  const gate = join(gates, `gate-${n++}`);
  const [r] = await p.engine.submit(CALLER, [{ script: 'service.mjs', service: { startup_timeout_s: 60 }, params: gated ? { gate } : {} }]);
  const id = r!.task.id;
  await p.until(id, (t) => t.status === 'running');
  return { id, gate };
};
const endpoint = (id: string, pred: (e: ServiceEndpoint) => boolean, what: string): Promise<ServiceEndpoint> =>
  until(`service ${id} ${what}`, async () => ((e) => (e && pred(e) ? e : null))(await p.engine.serviceEndpoint(CALLER, id)), 20_000, 10);
const ready = (id: string) => endpoint(id, (e) => e.state === 'ready', 'ready');
/** The echo of a request, as the service saw it. */
const echo = async (r: Awaited<ReturnType<typeof request>>) => (await r.body.json()) as { method: string; url: string; body: string; type: string | null; headers: http.IncomingHttpHeaders };

beforeAll(async () => {
  gates = tempDir('lakeray-api-gates-');
  p = await setup();
  base = `http://${await listen(p.app)}`;
});

afterAll(async () => {
  await p?.close();
});

describe('service proxy', () => {
  it('forwards method, encoded path, query, headers and any body; returns status, headers and body', async () => {
    const { id } = await serviceTask();
    const { port } = await ready(id);
    const r = await request(`${base}/api/v1/services/${id}/a%2Fb/c?q=%20x&q=2`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', 'x-client': '1' },
      body: 'a,b\n1,2\n',
    });
    expect(r.statusCode).toBe(200);
    const seen = await echo(r);
    expect(seen).toMatchObject({ method: 'POST', url: '/a%2Fb/c?q=%20x&q=2', body: 'a,b\n1,2\n', type: 'text/csv' });
    const h = seen.headers;
    expect(h['x-client']).toBe('1');
    expect(h['x-forwarded-prefix']).toBe(`/api/v1/services/${id}`);
    expect(h.host).toBe(`127.0.0.1:${port}`);

    // Headers named by Connection are hop-by-hop: not forwarded (node's client sends them as given).
    const hop = await new Promise<string>((resolve, reject) => {
      const req = http.request(`${base}/api/v1/services/${id}/hop`, { headers: { connection: 'keep-alive, x-hop', 'x-hop': 'secret', 'x-kept': 'yes' } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end();
    });
    const hopHeaders = (JSON.parse(hop) as { headers: http.IncomingHttpHeaders }).headers;
    expect(hopHeaders['x-hop']).toBeUndefined();
    expect(hopHeaders['x-kept']).toBe('yes');

    // Bare /services/{id} is the service's root; a body without a content type passes too.
    const root = await request(`${base}/api/v1/services/${id}`, { method: 'DELETE' });
    expect(await echo(root)).toMatchObject({ method: 'DELETE', url: '/', body: '' });
    const untyped = await request(`${base}/api/v1/services/${id}/raw`, { method: 'PATCH', body: Buffer.from('bytes') });
    expect(await echo(untyped)).toMatchObject({ method: 'PATCH', body: 'bytes' });

    const cookies = await request(`${base}/api/v1/services/${id}/cookies`);
    expect(cookies.statusCode).toBe(201);
    expect(cookies.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(cookies.headers['x-upstream']).toBe('yes');
    expect(cookies.headers['x-drop']).toBeUndefined();
    expect(await cookies.body.text()).toBe('made');

    const empty = await request(`${base}/api/v1/services/${id}/empty`);
    expect(empty.statusCode).toBe(204);
    expect(await empty.body.text()).toBe('');

    const stream = await request(`${base}/api/v1/services/${id}/stream`);
    expect(stream.headers['content-type']).toBe('text/event-stream');
    expect(await stream.body.text()).toBe('data: 0\n\ndata: 1\n\ndata: 2\n\n');
  });

  it('lists running services with their proxy path', async () => {
    const { id } = await serviceTask();
    const { port } = await ready(id);
    const r = await request(`${base}/api/v1/services`);
    const { services } = (await r.body.json()) as { services: { task_id: string; url: string; state: string }[] };
    expect(services.find((s) => s.task_id === id)).toMatchObject({ state: 'ready', port, url: `/api/v1/services/${id}/` });
    // Only running services are listed.
    expect((await p.engine.cancel(CALLER, id)).status).toBe('cancelling');
    await p.until(id, (t) => t.status === 'cancelled');
    const after = (await (await request(`${base}/api/v1/services`)).body.json()) as { services: { task_id: string }[] };
    expect(after.services.map((s) => s.task_id)).not.toContain(id);
  });

  it('answers 503 SERVICE_NOT_READY with Retry-After while starting, 502 when nobody answers a ready one', async () => {
    const { id, gate } = await serviceTask(true);
    expect((await endpoint(id, () => true, 'placed')).state).toBe('starting');
    const starting = await request(`${base}/api/v1/services/${id}/x`);
    expect(starting.statusCode).toBe(503);
    expect(starting.headers['retry-after']).toBe('1');
    expect(((await starting.body.json()) as { error: { code: string } }).error.code).toBe('SERVICE_NOT_READY');
    writeFileSync(gate, '');
    await ready(id);

    // The process dies: restarting, then starting again (its gate is shut): 503 all along.
    rmSync(gate);
    await (await request(`${base}/api/v1/services/${id}/__exit`)).body.dump();
    await endpoint(id, (e) => e.state === 'restarting', 'restarting');
    const restarting = await request(`${base}/api/v1/services/${id}/x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(restarting.statusCode).toBe(503);
    expect(((await restarting.body.json()) as { error: { code: string } }).error.code).toBe('SERVICE_NOT_READY');
    writeFileSync(gate, '');
    expect(await ready(id)).toMatchObject({ restarts: 1 });

    // Ready, but nothing listens on its port any more: 502, JSON.
    await (await request(`${base}/api/v1/services/${id}/__close`)).body.dump();
    const dead = await request(`${base}/api/v1/services/${id}/x`);
    expect(dead.statusCode).toBe(502);
    expect(((await dead.body.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'SERVICE_UNREACHABLE' });
    expect((await p.engine.serviceEndpoint(CALLER, id))?.state).toBe('ready');
  });

  it('answers 404 for an unknown task and 409 for a task that is not a running service', async () => {
    const missing = await request(`${base}/api/v1/services/t_missing/`);
    expect(missing.statusCode).toBe(404);
    expect(((await missing.body.json()) as { error: { code: string } }).error.code).toBe('TASK_NOT_FOUND');
    const [plain] = await p.engine.submit(CALLER, [{ script: 'hold.mjs' }]);
    await p.until(plain!.task.id, (t) => t.status === 'running');
    // Asking for every CPU while `plain` holds one, these stay queued.
    const [queued] = await p.engine.submit(CALLER, [{ script: 'service.mjs', service: {}, resources: { cpu: 4 } }]);
    const foreign = (await p.engine.submit(HOLDER, [{ script: 'service.mjs', service: {}, resources: { cpu: 4 } }]))[0]!.task.id;
    const hidden = await request(`${base}/api/v1/services/${foreign}/`);
    expect(hidden.statusCode).toBe(404); // another tenant's service does not exist for this caller
    await hidden.body.dump();
    for (const id of [plain!.task.id, queued!.task.id]) {
      const r = await request(`${base}/api/v1/services/${id}/`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
      expect(r.statusCode).toBe(409);
      expect(((await r.body.json()) as { error: { code: string } }).error.code).toBe('SERVICE_NOT_RUNNING');
    }
    for (const [caller, id] of [[CALLER, queued!.task.id], [HOLDER, foreign], [CALLER, plain!.task.id]] as const) await p.engine.cancel(caller, id);
  });

  it('leaves the rest of the API JSON-only, and documents the routes', async () => {
    const text = await request(`${base}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    expect(text.statusCode).toBe(415);
    await text.body.dump();
    const doc = (await (await request(`${base}/docs/json`)).body.json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toContain('/api/v1/services');
    expect(Object.keys(doc.paths).some((p) => p.startsWith('/api/v1/services/{id}'))).toBe(true);
    const submit = (doc.paths['/api/v1/tasks'] as { post: { requestBody: unknown } }).post.requestBody;
    expect(JSON.stringify(submit)).toContain('startup_timeout_s');
  });
});
