/**
 * The web UI (web/, built by Vite to web/dist) at `/`.
 *
 *  - `/assets/*`: Vite's content-hashed files through @fastify/static, cached for a year as
 *    immutable (a new build has new names).
 *  - `/` and every client-side route (`/tasks/t_…`, `/datasets/mnist_clean`): index.html,
 *    revalidated on every load (`no-cache`) so a rebuild shows at once. A client-side route
 *    is a GET or HEAD that matched no server route, accepts text/html and is not under an API
 *    prefix; everything else keeps the API's JSON 404 (plugins/errors.ts).
 *  - No build yet: `/` explains how to make one (scripts/setup.sh normally has).
 *
 * The SPA fallback has to see requests no route matched, which only a hook on the root
 * instance does: so this plugin is not encapsulated (like fastify-plugin's skip-override).
 * It adds no wildcard route, so `PUT /api/v2/x` stays 404 ROUTE_NOT_FOUND, not 405.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import staticFiles from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { LakerayError } from '../../domain/errors.ts';

export const WEB_DIST = resolve(dirname(fileURLToPath(import.meta.url)), '../../../web/dist');

/** Paths that belong to the API, never to the UI. */
const API_PREFIXES = ['/api/', '/v1/', '/docs', '/health', '/ready', '/metrics', '/demo/'];

export interface WebRoutesOptions {
  /** The built UI (default: the repository's web/dist). */
  dist?: string;
}

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Lakeray</title>
<style>body{font:16px/1.55 system-ui,sans-serif;max-width:42rem;margin:4rem auto;padding:0 1rem;color:#171b22}
code,pre{background:#f1f3f6;border-radius:6px;padding:.15rem .4rem}pre{padding:1rem;overflow:auto}a{color:#4f46e5}</style></head>
<body><h1>Lakeray is running</h1>
<p>The web UI has not been built in this checkout yet. Build it once (it is rebuilt on its own by <code>npm start</code> when its sources change):</p>
<pre>npm run build:web</pre>
<p>Then reload this page. Meanwhile the API is here: <a href="/docs">API reference</a> · <a href="/health">/health</a>.</p>
</body></html>`;

const isApiPath = (path: string): boolean => API_PREFIXES.some((p) => path === p.replace(/\/$/, '') || path.startsWith(p));

const acceptsHtml = (accept: string | undefined): boolean => accept !== undefined && /(^|,)\s*text\/html/i.test(accept);

const plugin: FastifyPluginAsync<WebRoutesOptions> = async (app, opts) => {
  const dist = opts.dist ?? WEB_DIST;
  const indexFile = join(dist, 'index.html');

  // Read per request: a rebuild while the server runs changes the asset names it points to.
  const sendIndex = async (reply: FastifyReply): Promise<FastifyReply> => {
    let html: Buffer | string;
    try {
      html = await readFile(indexFile);
    } catch {
      html = NOT_BUILT;
    }
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html);
  };

  await app.register(
    async (assets) => {
      // A missing asset is a plain 404 (the root handler would call it 405: GET /assets/* exists).
      assets.setNotFoundHandler(async (request) => {
        throw new LakerayError('ROUTE_NOT_FOUND', `No asset ${request.url.slice(0, 200)}`);
      });
      await assets.register(staticFiles, { root: join(dist, 'assets'), prefix: '/', decorateReply: false, index: false, immutable: true, maxAge: '365d' });
    },
    { prefix: '/assets' },
  );

  app.get('/', { schema: { hide: true } }, async (_request, reply) => sendIndex(reply));

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (!request.is404 || (request.method !== 'GET' && request.method !== 'HEAD')) return;
    const path = request.url.split('?', 1)[0] ?? '/';
    if (isApiPath(path) || !acceptsHtml(request.headers.accept)) return;
    return sendIndex(reply);
  });
};

(plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

export const webRoutes = plugin;
