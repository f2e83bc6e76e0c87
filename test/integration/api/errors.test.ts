/** Every error the API answers, on the real engine: one format, the registry's codes, nothing written. */
import { connect } from 'node:net';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LakerayError } from '../../../src/domain/errors.ts';
import { listen, validTask } from './helpers.ts';
import { CALLER, type Platform, setup } from './platform.ts';

let app: FastifyInstance;
let p: Platform;

beforeEach(async () => {
  p = await setup();
  app = p.app;
});
afterEach(() => p.close());

/** Nothing reached the store: no write call, no task. */
const nothingWritten = async (): Promise<void> => {
  expect(p.probe.writes).toBe(0);
  expect((await p.engine.list(CALLER, { limit: 10 })).tasks).toEqual([]);
};

/** The one error shape, nothing more (no statusCode, no stack). */
function expectError(res: LightMyRequestResponse, status: number, code: string, message?: RegExp): void {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.json();
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message']);
  expect(body.error.code).toBe(code);
  if (message) expect(body.error.message).toMatch(message);
}

const post = (payload: string | object, headers: Record<string, string> = { 'content-type': 'application/json' }): InjectOptions => ({
  method: 'POST',
  url: '/api/v1/tasks',
  payload,
  headers,
});

describe('request validation', () => {
  it('malformed JSON is 400 INVALID_REQUEST', async () => {
    expectError(await app.inject(post('{"script": "a.py",')), 400, 'INVALID_REQUEST', /JSON/);
    expectError(await app.inject(post('')), 400, 'INVALID_REQUEST');
    expectError(await app.inject(post('{"__proto__": {"x": 1}, "script": "a.py"}')), 400, 'INVALID_REQUEST');
    await nothingWritten();
  });

  it('unknown fields are refused, naming the field', async () => {
    expectError(await app.inject(post({ ...validTask, scirpt: 'typo.py' })), 400, 'INVALID_REQUEST', /body\.scirpt: unknown field/);
    expectError(await app.inject(post({ ...validTask, resources: { gpus: 1 } })), 400, 'INVALID_REQUEST', /body\.resources\.gpus: unknown field/);
    await nothingWritten();
  });

  it('wrong types name the field path', async () => {
    expectError(await app.inject(post({ ...validTask, resources: { gpu: 'two' } })), 400, 'INVALID_REQUEST', /body\.resources\.gpu: expected number/);
    expectError(await app.inject(post({ params: {} })), 400, 'INVALID_REQUEST', /body\.script: expected string/);
    expectError(await app.inject(post([validTask])), 400, 'INVALID_REQUEST', /^body: expected object/);
    expectError(await app.inject(post({ ...validTask, priority: 1.5 })), 400, 'INVALID_REQUEST', /body\.priority/);
    expectError(
      await app.inject({ method: 'POST', url: '/api/v1/tasks/batch', payload: { tasks: [validTask, { script: 7 }] } }),
      400,
      'INVALID_REQUEST',
      /body\.tasks\[1\]\.script: expected string/,
    );
    await nothingWritten();
  });

  it('unknown or bad query parameters are 400', async () => {
    expectError(await app.inject('/api/v1/tasks?stauts=queued'), 400, 'INVALID_REQUEST', /querystring\.stauts: unknown field/);
    expectError(await app.inject('/api/v1/tasks?status=pending,bogus'), 400, 'INVALID_REQUEST', /querystring\.status/);
    // The statuses are seed 004's: the names before it (queued, succeeded) are refused, naming the valid ones.
    const valid = /querystring\.status: expected a comma-separated list of pending, running, cancelling, completed, failed, cancelled/;
    expectError(await app.inject('/api/v1/tasks?status=queued'), 400, 'INVALID_REQUEST', valid);
    expectError(await app.inject('/api/v1/tasks?status=running,succeeded'), 400, 'INVALID_REQUEST', valid);
    expectError(await app.inject('/api/v1/tasks?limit=abc'), 400, 'INVALID_REQUEST', /querystring\.limit/);
    expectError(await app.inject('/api/v1/tasks?limit=0'), 400, 'INVALID_REQUEST');
  });

  it('a body over the limit is 413 PAYLOAD_TOO_LARGE', async () => {
    const huge = { ...validTask, params: { blob: 'x'.repeat(2 * 1024 * 1024) } };
    expectError(await app.inject(post(huge)), 413, 'PAYLOAD_TOO_LARGE');
    await nothingWritten();
  });

  it('a non-JSON content type is 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    expectError(await app.inject(post('script=a.py', { 'content-type': 'text/plain' })), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectError(await app.inject(post('script=a.py', { 'content-type': 'application/x-www-form-urlencoded' })), 415, 'UNSUPPORTED_MEDIA_TYPE');
    await nothingWritten();
  });

  it('errors of the engine are 400 and write nothing', async () => {
    const outside = await app.inject(post({ script: '../../etc/evil.py' }));
    expectError(outside, 400, 'INVALID_REQUEST', /outside the script roots/);
    expectError(await app.inject(post({ script: 'hold.mjs', executor: 'ray' })), 400, 'UNKNOWN_EXECUTOR');
    const missing = await app.inject(post({ script: 'missing.mjs' }));
    expectError(missing, 400, 'SCRIPT_NOT_FOUND', /missing\.mjs/);
    // No server folder in an answer (issue 15 §6): the roots are the operator's business.
    for (const res of [outside, missing]) expect(res.body).not.toMatch(/"[^"]*\/(tmp|home|root|work|var)\//);
    expectError(await app.inject(post({ script: 'hold.mjs', resources: { gpu: 2 } })), 400, 'RESOURCES_UNSATISFIABLE');
    expectError(await app.inject(post({ script: 'hold.mjs', pool: 'nope' })), 400, 'INVALID_REQUEST', /pool/);
    await nothingWritten();
  });
});

describe('not found', () => {
  it('unknown task ids are 404 TASK_NOT_FOUND on every task route', async () => {
    for (const [method, url] of [
      ['GET', '/api/v1/tasks/t_nope'],
      ['DELETE', '/api/v1/tasks/t_nope'],
      ['POST', '/api/v1/tasks/t_nope/cancel'],
      ['GET', '/api/v1/tasks/t_nope/events'],
      ['GET', '/api/v1/tasks/t_nope/logs'],
    ] as const)
      expectError(await app.inject({ method, url }), 404, 'TASK_NOT_FOUND');
    const sse = await app.inject({ url: '/api/v1/tasks/t_nope/events', headers: { accept: 'text/event-stream' } });
    expectError(sse, 404, 'TASK_NOT_FOUND');
  });

  it('unknown routes are 404 ROUTE_NOT_FOUND', async () => {
    expectError(await app.inject('/api/v2/tasks'), 404, 'ROUTE_NOT_FOUND', /GET \/api\/v2\/tasks/);
    expectError(await app.inject({ method: 'PUT', url: '/api/v2/tasks' }), 404, 'ROUTE_NOT_FOUND');
    expectError(await app.inject({ method: 'DELETE', url: '/api/v1/tasks/t_1/nope' }), 404, 'ROUTE_NOT_FOUND');
  });

  it('a known path with a method it does not take is 405 METHOD_NOT_ALLOWED with Allow', async () => {
    const put = await app.inject({ method: 'PUT', url: '/api/v1/tasks' });
    expectError(put, 405, 'METHOD_NOT_ALLOWED', /PUT .*\/api\/v1\/tasks/);
    expect(put.headers.allow).toBe('GET, HEAD, POST');
    const patch = await app.inject({ method: 'PATCH', url: '/api/v1/tasks/t_1?x=1' });
    expectError(patch, 405, 'METHOD_NOT_ALLOWED');
    expect(patch.headers.allow).toBe('GET, HEAD, DELETE');
    const getCancel = await app.inject('/api/v1/tasks/t_1/cancel');
    expectError(getCancel, 405, 'METHOD_NOT_ALLOWED');
    expect(getCancel.headers.allow).toBe('POST');
    expectError(await app.inject({ method: 'DELETE', url: '/health' }), 405, 'METHOD_NOT_ALLOWED');
    await nothingWritten();
  });

  it('a malformed URL is 400 in the same format', async () => {
    expectError(await app.inject('/api/v1/tasks/%E0%A4%A'), 400, 'INVALID_REQUEST');
  });

  it('a plain GET on the WebSocket endpoint is a 400 in the same format', async () => {
    expectError(await app.inject('/api/v1/ws'), 400, 'INVALID_REQUEST', /WebSocket/);
  });
});

describe('unexpected failures', () => {
  it('a failure inside the engine is a generic 500 without internals', async () => {
    // The store's database is gone: every engine call fails with better-sqlite3's own error.
    await p.probe.store.close();
    const res = await app.inject('/api/v1/tasks/t_1');
    expectError(res, 500, 'INTERNAL_ERROR', /^Internal error$/);
    expect(res.body).not.toMatch(/database|connection|sqlite|at .*\.(ts|js)/i);
    const submit = await app.inject(post(validTask));
    expectError(submit, 500, 'INTERNAL_ERROR', /^Internal error$/);
  });

  it('an INTERNAL_ERROR LakerayError does not leak its message either', async () => {
    // The engine raises this for a broken invariant, which no request can cause: injected.
    p.engine.cancel = async () => {
      throw new LakerayError('INTERNAL_ERROR', 'illegal task transition running → queued in /srv/lakeray/db');
    };
    expectError(await app.inject({ method: 'POST', url: '/api/v1/tasks/t_1/cancel' }), 500, 'INTERNAL_ERROR', /^Internal error$/);
  });

  it('LakerayErrors keep their registry status', async () => {
    await p.engine.stop(); // shutting down: submits are refused
    expectError(await app.inject(post(validTask)), 503, 'NOT_READY');
    expect(p.probe.writes).toBe(0);
  });
});

describe('resilience', () => {
  it('stays up after 200 bad requests; a following good request works', async () => {
    const bad: InjectOptions[] = [
      post('{'),
      post('null'),
      post('"just a string"'),
      post({ script: 12 }),
      post({ ...validTask, extra: true }),
      post('a', { 'content-type': 'text/plain' }),
      post({ params: { x: 'y'.repeat(1_100_000) } }),
      { method: 'GET', url: '/api/v1/tasks?limit=-1' },
      { method: 'GET', url: '/api/v1/tasks/%ZZ' },
      { method: 'GET', url: `/api/v1/tasks/${'x'.repeat(5000)}` },
      { method: 'PATCH', url: '/api/v1/tasks/t_1' },
      { method: 'POST', url: '/api/v1/tasks/batch', payload: { tasks: 'all' } },
      { method: 'GET', url: '/api/v1/tasks/t_1/events?after=-5' },
      { method: 'GET', url: '/api/v1/tasks/t_1/events', headers: { 'last-event-id': 'abc' } },
      { method: 'POST', url: '/api/v1/tasks', payload: '{"script":"a.py","params":{"a":[[[[[[[[[[[]]]]]]]]]]]}}}', headers: { 'content-type': 'application/json' } },
    ];
    for (let i = 0; i < 200; i++) {
      const res = await app.inject(bad[i % bad.length] as InjectOptions);
      expect(res.statusCode, `request ${i}`).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
      expect(res.json().error.code).toMatch(/^[A-Z_]+$/);
    }
    await nothingWritten();
    const good = await app.inject(post(validTask));
    expect(good.statusCode).toBe(201);
  });

  it('answers malformed HTTP on a real socket in the error format and keeps serving', async () => {
    const base = await listen(app);
    const [host, port] = base.split(':') as [string, string];
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), host, () => socket.write('THIS IS NOT HTTP\r\n\r\n'));
      let out = '';
      socket.on('data', (d) => (out += d));
      socket.on('end', () => resolve(out));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400/);
    expect(raw).toContain('"code":"INVALID_REQUEST"');
    const res = await fetch(`http://${base}/api/v1/tasks`, { method: 'POST', body: JSON.stringify(validTask), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(201);
  });
});
