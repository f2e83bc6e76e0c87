/**
 * The service proxy over the fake TaskService and a plain Node HTTP server standing in for a
 * service: what is forwarded (method, path as encoded, query, headers, streamed bodies of any
 * type), what comes back (status, headers, streamed body), and the JSON errors.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, setup } from './helpers.ts';
import type { FakeTaskService } from './fake-task-service.ts';

const CALLER = { tenant: 'default' };

let app: FastifyInstance;
let fake: FakeTaskService;
let base: string;
let upstream: http.Server;
let upstreamPort: number;
const seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];

const serviceTask = async (): Promise<string> => {
  const [r] = await fake.submit(CALLER, [{ script: 'serve.py', service: {} }]);
  fake.transition(r!.task.id, 'running');
  return r!.task.id;
};

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (req.url === '/cookies') {
        res.writeHead(201, { 'set-cookie': ['a=1', 'b=2'], 'x-upstream': 'yes', connection: 'keep-alive, x-drop', 'x-drop': 'no' });
        return res.end('made');
      }
      if (req.url === '/empty') return res.writeHead(204).end();
      if (req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        let n = 0;
        const timer = setInterval(() => {
          res.write(`data: ${n}\n\n`);
          if (++n === 3) {
            clearInterval(timer);
            res.end();
          }
        }, 20);
        return undefined;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, url: req.url, body, type: req.headers['content-type'] ?? null }));
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamPort = (upstream.address() as AddressInfo).port;
  ({ app, fake } = await setup());
  base = `http://${await listen(app)}`;
});

afterAll(async () => {
  await app?.close();
  await new Promise((resolve) => upstream?.close(resolve));
});

const ready = (id: string, port = upstreamPort) => fake.endpoints.set(id, { state: 'ready', port, restarts: 0, url: `http://127.0.0.1:${port}` });

describe('service proxy', () => {
  it('forwards method, encoded path, query, headers and any body; returns status, headers and body', async () => {
    const id = await serviceTask();
    ready(id);
    const r = await request(`${base}/api/v1/services/${id}/a%2Fb/c?q=%20x&q=2`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', 'x-client': '1' },
      body: 'a,b\n1,2\n',
    });
    expect(r.statusCode).toBe(200);
    expect(await r.body.json()).toEqual({ method: 'POST', url: '/a%2Fb/c?q=%20x&q=2', body: 'a,b\n1,2\n', type: 'text/csv' });
    const h = seen.at(-1)!.headers;
    expect(h['x-client']).toBe('1');
    expect(h['x-forwarded-prefix']).toBe(`/api/v1/services/${id}`);
    expect(h.host).toBe(`127.0.0.1:${upstreamPort}`);

    // Headers named by Connection are hop-by-hop: not forwarded (node's client sends them as given).
    await new Promise<void>((resolve, reject) => {
      const req = http.request(`${base}/api/v1/services/${id}/hop`, { headers: { connection: 'keep-alive, x-hop', 'x-hop': 'secret', 'x-kept': 'yes' } }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
    expect(seen.at(-1)!.headers['x-hop']).toBeUndefined();
    expect(seen.at(-1)!.headers['x-kept']).toBe('yes');

    // Bare /services/{id} is the service's root; a body without a content type passes too.
    const root = await request(`${base}/api/v1/services/${id}`, { method: 'DELETE' });
    expect(await root.body.json()).toMatchObject({ method: 'DELETE', url: '/', body: '' });
    const untyped = await request(`${base}/api/v1/services/${id}/raw`, { method: 'PATCH', body: Buffer.from('bytes') });
    expect(await untyped.body.json()).toMatchObject({ method: 'PATCH', body: 'bytes' });

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
    const id = await serviceTask();
    ready(id);
    const r = await request(`${base}/api/v1/services`);
    const { services } = (await r.body.json()) as { services: { task_id: string; url: string; state: string }[] };
    expect(services.find((s) => s.task_id === id)).toMatchObject({ state: 'ready', port: upstreamPort, url: `/api/v1/services/${id}/` });
  });

  it('answers 503 SERVICE_NOT_READY with Retry-After while starting, 502 when nobody answers a ready one', async () => {
    const id = await serviceTask();
    const starting = await request(`${base}/api/v1/services/${id}/x`);
    expect(starting.statusCode).toBe(503);
    expect(starting.headers['retry-after']).toBe('1');
    expect(((await starting.body.json()) as { error: { code: string } }).error.code).toBe('SERVICE_NOT_READY');
    fake.endpoints.set(id, { state: 'restarting', port: upstreamPort, restarts: 1, url: `http://127.0.0.1:${upstreamPort}` });
    const restarting = await request(`${base}/api/v1/services/${id}/x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(restarting.statusCode).toBe(503);
    await restarting.body.dump();

    // Ready, but the port is closed (the process just died): 502, JSON.
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    ready(id, deadPort);
    const dead = await request(`${base}/api/v1/services/${id}/x`);
    expect(dead.statusCode).toBe(502);
    expect(((await dead.body.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'SERVICE_UNREACHABLE' });
  });

  it('answers 404 for an unknown task and 409 for a task that is not a running service', async () => {
    const missing = await request(`${base}/api/v1/services/t_missing/`);
    expect(missing.statusCode).toBe(404);
    expect(((await missing.body.json()) as { error: { code: string } }).error.code).toBe('TASK_NOT_FOUND');
    const [plain] = await fake.submit(CALLER, [{ script: 'ok.py' }]);
    fake.transition(plain!.task.id, 'running');
    const [queued] = await fake.submit(CALLER, [{ script: 'serve.py', service: {} }]);
    for (const id of [plain!.task.id, queued!.task.id]) {
      const r = await request(`${base}/api/v1/services/${id}/`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
      expect(r.statusCode).toBe(409);
      expect(((await r.body.json()) as { error: { code: string } }).error.code).toBe('SERVICE_NOT_RUNNING');
    }
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
