import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { MetricsRegistry } from '../../../src/api/metrics.ts';
import type { FakeTaskService } from './fake-task-service.ts';
import { setup, validTask } from './helpers.ts';

let app: FastifyInstance;
let fake: FakeTaskService;
afterEach(() => app.close());

describe('health and readiness', () => {
  it('/health reports the version; /ready follows tasks.ready()', async () => {
    ({ app, fake } = await setup());
    expect((await app.inject('/health')).json()).toEqual({ status: 'ok', version: '9.9.9-test' });
    expect((await app.inject('/ready')).statusCode).toBe(200);
    fake.isReady = false;
    const res = await app.inject('/ready');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ error: { code: 'NOT_READY', message: expect.any(String) } });
  });
});

describe('/metrics', () => {
  it('exposes queue, running, duration, dispatch and event metrics in the Prometheus format', async () => {
    const metrics = new MetricsRegistry();
    ({ app, fake } = await setup({ metrics }));
    for (let i = 0; i < 3; i++) await app.inject({ method: 'POST', url: '/api/v1/tasks', payload: validTask });
    fake.transition([...fake.tasks.keys()][0] as string, 'running');
    metrics.observer.finished('local', 'succeeded', 12.5);
    metrics.observer.dispatched('local', 0.02);
    metrics.observer.events(41);
    metrics.countEvents(1);

    const res = await app.inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.body;
    expect(text).toContain('lakeray_queue_depth{executor="local"} 2');
    expect(text).toContain('lakeray_running_tasks{executor="local"} 1');
    expect(text).toContain('lakeray_task_duration_seconds_count{executor="local",status="succeeded"} 1');
    expect(text).toContain('lakeray_dispatch_latency_seconds_bucket{le="0.025",executor="local"} 1');
    expect(text).toContain('lakeray_events_total 42');
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('keeps serving when the engine cannot report stats', async () => {
    ({ app, fake } = await setup());
    fake.stats = () => {
      throw new Error('store is down');
    };
    const res = await app.inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('# TYPE lakeray_queue_depth gauge');
  });
});

describe('OpenAPI', () => {
  it('/docs/json is an OpenAPI 3 document describing the task routes from the zod schemas', async () => {
    ({ app, fake } = await setup());
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
