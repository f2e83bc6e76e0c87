/**
 * src/api/routes/web.ts over inject(): the UI at `/`, client-side routes answered with
 * index.html only for browsers (Accept: text/html) and never under API prefixes, hashed
 * assets cached as immutable, a missing asset a JSON 404, and a page saying how to build the
 * UI when there is no build.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerErrorHandling } from '../../src/api/plugins/errors.ts';
import { webRoutes } from '../../src/api/routes/web.ts';
import { tempDir } from '../helpers/server-process.ts';

const HTML = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

async function appWith(dist: string): Promise<FastifyInstance> {
  const app = Fastify();
  registerErrorHandling(app);
  app.get('/api/v1/tasks', async () => ({ tasks: [] }));
  app.get('/health', async () => ({ status: 'ok' }));
  await app.register(webRoutes, { dist });
  await app.ready();
  return app;
}

let built: FastifyInstance;
let unbuilt: FastifyInstance;

beforeAll(async () => {
  const dist = join(tempDir('lakeray-web-'), 'dist');
  mkdirSync(join(dist, 'assets'), { recursive: true });
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>Lakeray UI</title><script src="/assets/app-abc123.js"></script>');
  writeFileSync(join(dist, 'assets', 'app-abc123.js'), 'console.log(1)');
  built = await appWith(dist);
  unbuilt = await appWith(join(tempDir('lakeray-web-none-'), 'dist'));
});

afterAll(async () => {
  await built?.close();
  await unbuilt?.close();
});

describe('web UI routes', () => {
  it('serves index.html at / and at client-side routes, revalidated on every load', async () => {
    for (const url of ['/', '/tasks', '/tasks/t_123', '/datasets/mnist_clean?page=2']) {
      const r = await built.inject({ url, headers: HTML });
      expect(r.statusCode, url).toBe(200);
      expect(r.headers['content-type']).toContain('text/html');
      expect(r.headers['cache-control']).toBe('no-cache');
      expect(r.body).toContain('<title>Lakeray UI</title>');
    }
    expect((await built.inject({ method: 'HEAD', url: '/models/x', headers: HTML })).statusCode).toBe(200);
  });

  it('caches hashed assets for a year, and a missing asset is a JSON 404', async () => {
    const r = await built.inject('/assets/app-abc123.js');
    expect(r.statusCode).toBe(200);
    expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const missing = await built.inject({ url: '/assets/nope.js', headers: HTML });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('ROUTE_NOT_FOUND');
  });

  it('keeps the JSON 404 for API paths and for clients that do not ask for HTML', async () => {
    for (const url of ['/api/v1/nope', '/v1/video/nope', '/docs/nope', '/demo/nope', '/metrics/x']) {
      const r = await built.inject({ url, headers: HTML });
      expect(r.statusCode, url).toBe(404);
      expect(r.json().error.code).toBe('ROUTE_NOT_FOUND');
    }
    const plain = await built.inject('/tasks/t_1');
    expect(plain.statusCode).toBe(404);
    expect(plain.json().error.code).toBe('ROUTE_NOT_FOUND');
    const post = await built.inject({ method: 'POST', url: '/tasks', headers: HTML });
    expect(post.statusCode).toBe(404);
    // No wildcard route: another method on an unknown path is still 404, not 405.
    expect((await built.inject({ method: 'PUT', url: '/api/v2/tasks' })).statusCode).toBe(404);
    expect((await built.inject({ url: '/api/v1/tasks', headers: HTML })).json()).toEqual({ tasks: [] });
  });

  it('explains how to build the UI when there is no build', async () => {
    const r = await unbuilt.inject({ url: '/', headers: HTML });
    expect(r.statusCode).toBe(200);
    expect(r.body).toContain('npm run build:web');
    expect((await unbuilt.inject({ url: '/tasks', headers: HTML })).body).toContain('npm run build:web');
  });
});
