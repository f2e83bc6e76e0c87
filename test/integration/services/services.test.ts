/**
 * Service tasks end to end (real server, real SQLite, real harness processes, real HTTP):
 * readiness, the proxy, restarts on the same port, max_restarts, SERVICE_UNHEALTHY, cancel,
 * a normal return, and a Node service.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { startServer, type RunningServer } from '../../../src/main.ts';
import { api, tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';

const SCRIPTS = join(import.meta.dirname, '../../fixtures/scripts');
const PY = 'services/http_service.py';

let server: RunningServer;
let dir: string;

interface Ev {
  seq: number;
  type: string;
  data: Record<string, unknown>;
}

const submit = async (body: Record<string, unknown>) => {
  const r = await api(server.url, 'POST', '/api/v1/tasks', body);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body as { id: string; status: string; params: Record<string, unknown>; service: Record<string, unknown> | null; timeout_s: number | null };
};

const get = async (id: string) => (await api(server.url, 'GET', `/api/v1/tasks/${id}`)).body;
const finished = (id: string, ms?: number) =>
  until(`task ${id} to finish`, async () => {
    const t = await get(id);
    return ['completed', 'failed', 'cancelled'].includes(t.status) ? t : null;
  }, ms);

const events = async (id: string, types = 'service'): Promise<Ev[]> =>
  (await api(server.url, 'GET', `/api/v1/tasks/${id}/events?types=${types}&limit=1000`)).body.events;
const states = async (id: string): Promise<string[]> => (await events(id)).map((e) => String(e.data.state));

/** The proxy, raw. */
const proxy = async (id: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) => {
  const r = await request(`${server.url}/api/v1/services/${id}${path}`, { method: (init.method ?? 'GET') as 'GET', headers: init.headers, body: init.body });
  const text = await r.body.text();
  return { status: r.statusCode, headers: r.headers, text, json: () => JSON.parse(text) };
};

const ready = (id: string, ms?: number) =>
  until(`service ${id} ready`, async () => {
    const evs = await events(id);
    const last = evs[evs.length - 1];
    return last?.data.state === 'ready' ? last : null;
  }, ms);

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

const portFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });

beforeAll(async () => {
  dir = tempDir();
  const config = parseConfig(
    {
      state_dir: join(dir, 'state'),
      script_roots: [SCRIPTS],
      data_roots: [join(dir, 'data')],
      executors: {
        local: {
          cpu: 8,
          kill_grace_ms: 1500,
          // A default pool: service tasks must never take one of its workers.
          pools: [{ name: 'py', runtime: 'python', min: 0, max: 2 }],
          default_pools: { python: 'py' },
        },
      },
    },
    dir,
    {},
  );
  server = await startServer({ config, port: 0, logLevel: 'silent' });
});

afterAll(async () => {
  await server?.close();
});

describe('service tasks', () => {
  it('becomes ready, answers through the proxy (any method, body and content type), and stops on cancel', async () => {
    const t = await submit({ script: PY, params: { ready_after_s: 1 }, service: { startup_timeout_s: 20 } });
    expect(t.service).toEqual({ health_path: '/health', restart: 'on-failure', max_restarts: 3, startup_timeout_s: 20 });
    expect(t.timeout_s).toBeNull(); // services run until cancelled

    // Running but not healthy yet: 503 with Retry-After.
    const early = await until('running', async () => ((await get(t.id)).status === 'running' ? proxy(t.id, '/echo') : null));
    expect(early.status).toBe(503);
    expect(early.headers['retry-after']).toBe('1');
    expect(early.json().error.code).toBe('SERVICE_NOT_READY');

    const readyEv = await ready(t.id);
    const port = readyEv.data.port as number;
    expect(readyEv.data).toEqual({ state: 'ready', port, restarts: 0, url: `http://127.0.0.1:${port}` });
    expect(await states(t.id)).toEqual(['starting', 'ready']);

    // GET with a query string, preserved as sent.
    const echo = await proxy(t.id, '/echo?x=1&y=a%20b&x=2', { headers: { 'x-custom': 'yes' } });
    expect(echo.status).toBe(200);
    const e = echo.json();
    expect(e).toMatchObject({ method: 'GET', path: '/echo', query: 'x=1&y=a%20b&x=2', params_port: port });
    expect(e.headers['x-custom']).toBe('yes');
    expect(e.headers['x-forwarded-prefix']).toBe(`/api/v1/services/${t.id}`);
    expect(e.headers.host).toBe(`127.0.0.1:${port}`);

    // POST with a JSON body, and with a text body (the rest of the API refuses text/plain).
    const post = (await proxy(t.id, '/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"image":[0,1,2]}' })).json();
    expect(post).toMatchObject({ method: 'POST', body: '{"image":[0,1,2]}', content_type: 'application/json' });
    const text = (await proxy(t.id, '/echo', { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'plain text' })).json();
    expect(text).toMatchObject({ method: 'PUT', body: 'plain text', content_type: 'text/plain' });
    const octets = (await proxy(t.id, '/echo', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: 'x'.repeat(2 * 1024 * 1024) })).json();
    expect(octets.body.length).toBe(2 * 1024 * 1024); // bigger than the API's JSON body limit: streamed
    const tasksText = await request(`${server.url}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    expect(tasksText.statusCode).toBe(415);
    await tasksText.body.dump();

    // HTML at the root, with its content type; the upstream status passes through.
    for (const path of ['', '/']) {
      const html = await proxy(t.id, path);
      expect(html.status).toBe(200);
      expect(html.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(html.text).toContain('<h1>hello service</h1>');
    }
    const missing = await proxy(t.id, '/nope');
    expect(missing.status).toBe(404);
    expect(missing.json()).toEqual({ detail: 'not found' });
    const head = await proxy(t.id, '/', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.text).toBe('');

    // Listed, with the proxy path; the stored params are as submitted (no port).
    const list = (await api(server.url, 'GET', '/api/v1/services')).body.services;
    expect(list).toContainEqual({ task_id: t.id, name: 'http_service', state: 'ready', port, restarts: 0, url: `/api/v1/services/${t.id}/` });
    expect((await get(t.id)).params).toEqual({ ready_after_s: 1 });
    // Never on a warm worker.
    expect((await server.engine.stats()).pools.find((p) => p.pool === 'py')?.workers).toBe(0);

    // Its output is the task's log, and the pid it printed is the process we cancel.
    const logs = await until('the serving log line', async () => {
      const lines = (await api(server.url, 'GET', `/api/v1/tasks/${t.id}/logs`)).body.lines as { message: string }[];
      return lines.some((l) => l.message.startsWith('serving on')) ? lines : null;
    });
    const line = logs.find((l) => l.message.startsWith('serving on'))!.message;
    expect(line).toBe(`serving on ${port} pid ${e.pid} env_ok True`);
    expect(logs.some((l) => l.message.startsWith('request "GET /echo?x=1'))).toBe(true);

    const c = await api(server.url, 'POST', `/api/v1/tasks/${t.id}/cancel`);
    expect(c.status).toBe(200);
    const done = await finished(t.id, 10_000);
    expect(done.status).toBe('cancelled');
    expect(alive(e.pid)).toBe(false);
    expect(await portFree(port)).toBe(true);
    expect(await states(t.id)).toEqual(['starting', 'ready', 'stopped']); // no restart after a cancel
    const after = await proxy(t.id, '/echo');
    expect(after.status).toBe(409);
    expect(after.json().error.code).toBe('SERVICE_NOT_RUNNING');
    expect((await api(server.url, 'GET', '/api/v1/services')).body.services.some((s: { task_id: string }) => s.task_id === t.id)).toBe(false);
  });

  it('restarts a crashed service on the same port and answers again', async () => {
    const t = await submit({ script: PY, service: { max_restarts: 2 } });
    const first = await ready(t.id);
    const pid1 = (await proxy(t.id, '/echo')).json().pid as number;
    expect((await proxy(t.id, '/crash')).text).toBe('crashing');
    // Requests while it dies and restarts get JSON errors (503 while restarting, 502 if the
    // dead process is noticed only after the request), never a hang or a 500.
    const answers = new Map<number, string>();
    await until('restarted and ready', async () => {
      const r = await proxy(t.id, '/echo');
      answers.set(r.status, r.status === 200 ? 'ok' : r.json().error.code);
      const s = await states(t.id);
      return s.length >= 5 && s[s.length - 1] === 'ready' ? s : null;
    });
    expect(answers.get(503)).toBe('SERVICE_NOT_READY');
    for (const [status, code] of answers) expect([200, 502, 503], `${status} ${code}`).toContain(status);
    if (answers.has(502)) expect(answers.get(502)).toBe('SERVICE_UNREACHABLE');
    expect(await states(t.id)).toEqual(['starting', 'ready', 'restarting', 'starting', 'ready']);
    const evs = await events(t.id);
    expect(evs[2]!.data).toMatchObject({ state: 'restarting', port: first.data.port, restarts: 1 });
    expect(evs[4]!.data).toMatchObject({ state: 'ready', port: first.data.port, restarts: 1 });
    const again = (await proxy(t.id, '/echo')).json();
    expect(again.pid).not.toBe(pid1);
    expect(again.params_port).toBe(first.data.port);
    expect(alive(pid1)).toBe(false);
    const logs = (await api(server.url, 'GET', `/api/v1/tasks/${t.id}/logs`)).body.lines as { message: string }[];
    expect(logs.some((l) => /exited with code 3.*restarting on port \d+ in \d+ ms \(restart 1 of 2\)/.test(l.message))).toBe(true);
    expect(logs.filter((l) => l.message.startsWith('serving on')).length).toBe(2); // both incarnations' output
    expect((await get(t.id)).status).toBe('running');
    await api(server.url, 'POST', `/api/v1/tasks/${t.id}/cancel`);
    expect((await finished(t.id)).status).toBe('cancelled');
  });

  it('restarts a service that dies on its own after a while (first incarnation only)', async () => {
    const once = join(dir, `once-${Date.now()}`);
    const t = await submit({ script: PY, params: { crash_after_s: 0.8, once_file: once }, service: {} });
    await until('restarted and ready', async () => {
      const s = await states(t.id);
      return s.join() === 'starting,ready,restarting,starting,ready' ? s : null;
    });
    expect(existsSync(once)).toBe(true);
    expect((await proxy(t.id, '/echo')).status).toBe(200);
    await api(server.url, 'POST', `/api/v1/tasks/${t.id}/cancel`);
    expect((await finished(t.id)).status).toBe('cancelled');
  });

  it('fails with the last error once max_restarts is used up', async () => {
    const t = await submit({ script: PY, params: { fail_at_start: true }, service: { max_restarts: 1 } });
    const done = await finished(t.id);
    expect(done.status).toBe('failed');
    expect(done.error.code).toBe('SCRIPT_ERROR');
    expect(done.error.message).toMatch(/refusing to start.*\(after 1 restart\)/s);
    expect(await states(t.id)).toEqual(['starting', 'restarting', 'starting', 'stopped']);
    const logs = (await api(server.url, 'GET', `/api/v1/tasks/${t.id}/logs`)).body.lines as { message: string }[];
    expect(logs.some((l) => l.message.includes('not restarted: max_restarts (1) reached'))).toBe(true);
  });

  it('does not restart with restart: never, and fails a service that never becomes healthy with SERVICE_UNHEALTHY', async () => {
    const never = await submit({ script: PY, params: { fail_at_start: true }, service: { restart: 'never' } });
    const unhealthy = await submit({ script: PY, params: { unhealthy: true }, service: { startup_timeout_s: 1 } });
    const n = await finished(never.id);
    expect(n.status).toBe('failed');
    expect(n.error.code).toBe('SCRIPT_ERROR');
    expect(await states(never.id)).toEqual(['starting', 'stopped']);

    const u = await finished(unhealthy.id);
    expect(u.status).toBe('failed');
    expect(u.error.code).toBe('SERVICE_UNHEALTHY');
    expect(u.error.message).toMatch(/GET \/health on port \d+ with a 2xx within 1 s/);
    expect(await states(unhealthy.id)).toEqual(['starting', 'stopped']);
    const port = (await events(unhealthy.id))[0]!.data.port as number;
    expect(await portFree(port)).toBe(true);
  });

  it('ends as succeeded when run() returns (restart: on-failure)', async () => {
    const t = await submit({ script: PY, service: {} });
    await ready(t.id);
    expect((await proxy(t.id, '/stop')).text).toBe('stopping');
    const done = await finished(t.id);
    expect(done.status).toBe('completed');
    expect(done.result).toMatchObject({ stopped: true });
    expect(await states(t.id)).toEqual(['starting', 'ready', 'stopped']);
  });

  it('runs a Node service too, and accepts services in a batch', async () => {
    const r = await api(server.url, 'POST', '/api/v1/tasks/batch', {
      tasks: [
        { script: 'services/node_service.mjs', service: { health_path: '/health', restart: 'always' } },
        { script: PY, service: null },
      ],
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const [node, plain] = r.body.tasks as { id: string; service: unknown }[];
    expect(node!.service).toMatchObject({ restart: 'always' });
    expect(plain!.service).toBeNull();
    const ev = await ready(node!.id);
    const out = (await proxy(node!.id, '/predict?n=1', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":1}' })).json();
    expect(out).toEqual({ runtime: 'node', method: 'POST', url: '/predict?n=1', body: '{"x":1}', port: ev.data.port, env: String(ev.data.port) });
    await api(server.url, 'POST', `/api/v1/tasks/${node!.id}/cancel`);
    expect((await finished(node!.id)).status).toBe('cancelled');
    expect(await states(node!.id)).toEqual(['starting', 'ready', 'stopped']);
    await api(server.url, 'POST', `/api/v1/tasks/${plain!.id}/cancel`);
  });

  const hasUvicorn = existsSync(join(import.meta.dirname, '../../../.venv/bin/uvicorn'));
  it.skipIf(!hasUvicorn)('serves a FastAPI app run by uvicorn inside run(), as mnist_serve.py does', async () => {
    const t = await submit({ script: 'services/fastapi_service.py', service: { startup_timeout_s: 30 } });
    await ready(t.id, 30_000);
    const r = await proxy(t.id, '/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":[1,2,3]}' });
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ sum: 6 });
    const started = Date.now();
    await api(server.url, 'POST', `/api/v1/tasks/${t.id}/cancel`);
    expect((await finished(t.id)).status).toBe('cancelled');
    expect(Date.now() - started).toBeLessThan(1500); // uvicorn shut down on SIGTERM, no SIGKILL needed
    const logs = (await api(server.url, 'GET', `/api/v1/tasks/${t.id}/logs`)).body.lines as { message: string }[];
    expect(logs.some((l) => l.message.includes('Uvicorn running on http://127.0.0.1:'))).toBe(true);
  });

  it('answers 404 for an unknown task, 409 for a task that is not a service, 400 for a bad spec', async () => {
    const unknown = await proxy('t_nope', '/x');
    expect(unknown.status).toBe(404);
    expect(unknown.json().error.code).toBe('TASK_NOT_FOUND');
    const plain = await submit({ script: 'ok.py' });
    const notService = await proxy(plain.id, '/');
    expect(notService.status).toBe(409);
    expect(notService.json().error.code).toBe('SERVICE_NOT_RUNNING');
    for (const service of [{ restart: 'sometimes' }, { max_restarts: -1 }, { startup_timeout_s: 0 }, { health_path: 'health' }, { port: 80 }]) {
      const bad = await api(server.url, 'POST', '/api/v1/tasks', { script: PY, service });
      expect(bad.status, JSON.stringify(service)).toBe(400);
      expect(bad.body.error.code).toBe('INVALID_REQUEST');
    }
    const pooled = await api(server.url, 'POST', '/api/v1/tasks', { script: PY, pool: 'py', service: {} });
    expect(pooled.status).toBe(400);
    expect(pooled.body.error.message).toMatch(/pool/);
    await finished(plain.id);
  });
});
