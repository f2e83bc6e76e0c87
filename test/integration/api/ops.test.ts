/** Health, readiness, shutdown, metrics and the OpenAPI document, on the real engine. */
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MetricsRegistry } from '../../../src/api/metrics.ts';
import { listen, validTask, waitFor } from './helpers.ts';
import { type Platform, type PlatformOptions, setup } from './platform.ts';

let app: FastifyInstance;
let p: Platform;
const start = async (opts: PlatformOptions = {}): Promise<void> => {
  p = await setup(opts);
  app = p.app;
};
afterEach(() => p.close());

describe('health and readiness', () => {
  it('/health reports the version; /ready follows the engine (ready once started, not while stopping)', async () => {
    await start();
    expect((await app.inject('/health')).json()).toEqual({ status: 'ok', version: '9.9.9-test' });
    expect((await app.inject('/ready')).statusCode).toBe(200);
    await p.engine.stop();
    const res = await app.inject('/ready');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ error: { code: 'NOT_READY', message: expect.any(String) } });
  });
});

describe('shutdown', () => {
  it('answers a request still awaiting the engine when close() begins, then closes its connection', async () => {
    await start();
    const base = await listen(app);
    let release: (() => void) | null = null;
    p.probe.before.list = () => new Promise<void>((r) => (release = r)); // the store is slow to answer
    const res = fetch(`http://${base}/api/v1/tasks`); // keep-alive
    await waitFor(() => release !== null);
    const closed = app.close();
    // The store answers only once close() is under way (the server stopped listening).
    await waitFor(() => !app.server.listening, 5000, 'the server to stop listening');
    (release as unknown as () => void)();
    const answer = await res;
    expect(answer.status).toBe(200);
    expect(answer.headers.get('connection')).toBe('close');
    await closed; // promptly: the keep-alive connection does not hold it open
  });
});

describe('/metrics', () => {
  it('exposes queue, running, duration, dispatch and event metrics in the Prometheus format', async () => {
    const metrics = new MetricsRegistry();
    // One CPU: the first task runs (and keeps running), the other two queue.
    await start({ metrics, cpu: 1 });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await app.inject({ method: 'POST', url: '/api/v1/tasks', payload: validTask })).json().id);
    await p.until(ids[0] as string, (t) => t.status === 'running');
    metrics.observer.finished('local', 'completed', 12.5);
    metrics.observer.dispatched('local', 0.02);
    metrics.observer.events(41);
    metrics.countEvents(1);

    const res = await app.inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.body;
    expect(text).toContain('lakeray_queue_depth{executor="local"} 2');
    expect(text).toContain('lakeray_running_tasks{executor="local"} 1');
    expect(text).toContain('lakeray_task_duration_seconds_count{executor="local",status="completed"} 1');
    expect(text).toContain('lakeray_dispatch_latency_seconds_bucket{le="0.025",executor="local"} 1');
    expect(text).toContain('lakeray_events_total 42');
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('keeps serving when the engine cannot report stats', async () => {
    await start();
    await p.probe.store.close(); // the store is down: engine.stats() rejects
    await expect(p.engine.stats()).rejects.toThrow();
    const res = await app.inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('# TYPE lakeray_queue_depth gauge');
    expect(res.body).toContain('process_cpu_user_seconds_total');
    // Even a service that breaks its contract and throws synchronously (injected: the engine is async).
    p.engine.stats = () => {
      throw new Error('store is down');
    };
    expect((await app.inject('/metrics')).statusCode).toBe(200);
  });

  it('asks the engine for stats once per scrape, not once per gauge', async () => {
    await start({ cpu: 1 });
    await p.occupy(); // another tenant's task fills the executor: what follows stays queued
    await app.inject({ method: 'POST', url: '/api/v1/tasks', payload: validTask });
    const stats = vi.spyOn(p.engine, 'stats'); // counts calls, still the engine's own stats()
    const first = await app.inject('/metrics');
    expect(first.body).toContain('lakeray_queue_depth{executor="local"} 1');
    expect(first.body).toContain('lakeray_running_tasks{executor="local"} 1');
    expect(stats).toHaveBeenCalledTimes(1);
    await app.inject({ method: 'POST', url: '/api/v1/tasks', payload: validTask });
    expect((await app.inject('/metrics')).body).toContain('lakeray_queue_depth{executor="local"} 2');
    expect(stats).toHaveBeenCalledTimes(2);
  });
});

describe('OpenAPI', () => {
  it('/docs/json is an OpenAPI 3 document describing the task routes from the zod schemas', async () => {
    await start();
    const res = await app.inject('/docs/json');
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.info).toMatchObject({ title: 'Lakeray API', version: '9.9.9-test' });

    const create = doc.paths['/api/v1/tasks'].post;
    const body = create.requestBody.content['application/json'].schema;
    expect(body.type).toBe('object');
    expect(body.required).toContain('script');
    expect(body.additionalProperties).toBe(false);
    expect(Object.keys(body.properties)).toEqual(expect.arrayContaining(['script', 'params', 'resources', 'priority', 'webhook']));
    expect(body.properties.resources.properties.gpu.type).toBe('integer');
    expect(create.parameters.some((p: { in: string; name: string }) => p.in === 'header' && p.name === 'idempotency-key')).toBe(true);
    expect(create.responses['201'].content['application/json'].schema.properties).toHaveProperty('queue_position');
    expect(create.responses['400'].content['application/json'].schema.properties).toHaveProperty('error');

    expect(doc.paths['/api/v1/tasks'].get.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['status', 'limit', 'cursor']),
    );
    for (const path of ['/api/v1/tasks/batch', '/api/v1/tasks/{id}', '/api/v1/tasks/{id}/cancel', '/api/v1/tasks/{id}/events', '/api/v1/tasks/{id}/logs', '/health', '/ready'])
      expect(doc.paths, path).toHaveProperty([path]);
    expect(doc.paths).not.toHaveProperty(['/api/v1/ws']);
    expect(doc.paths).not.toHaveProperty(['/docs/json']);
    expect((await app.inject('/docs')).statusCode).toBe(200);

    // OpenAPI 3.0 schemas have no JSON-Schema-2020 forms (type arrays, type "null", const).
    const invalid: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${path}[${i}]`));
      if (node === null || typeof node !== 'object') return;
      for (const [k, v] of Object.entries(node)) {
        if (k === 'type' && (Array.isArray(v) || v === 'null')) invalid.push(`${path}.type`);
        if ((k === 'const' || k === '$schema') && path.includes('schema')) invalid.push(`${path}.${k}`);
        walk(v, `${path}.${k}`);
      }
    };
    walk(doc.paths, 'paths');
    expect(invalid).toEqual([]);
  });
});
