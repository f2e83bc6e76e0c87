/**
 * `/demo/mnist`: the MNIST drawing page's stable address. It redirects to the running
 * `mnist_serve` service (which serves the page and /predict through the service proxy), or
 * explains how to start it when nothing serves yet.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { TaskService } from '../../engine/task-service.ts';
import { callerOf } from '../caller.ts';

const NOT_SERVING = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>MNIST demo · Lakeray</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1f2937}
code,pre{background:#f3f4f6;border-radius:6px;padding:.15rem .4rem}pre{padding:1rem;overflow:auto}</style></head>
<body><h1>The MNIST model is not serving yet</h1>
<p>Train it and start the inference service with one command (it ingests Fashion-MNIST first if needed):</p>
<pre>npx lakeray demo mnist</pre>
<p>Then reload this page to draw a digit (or a piece of clothing) and see what the model thinks.</p>
</body></html>`;

export const demoRoutes: FastifyPluginAsync<{ tasks: TaskService }> = async (app, { tasks }) => {
  app.get('/demo/mnist', { schema: { hide: true } }, async (request, reply) => {
    const page = await tasks.list(callerOf(request), { status: ['running'], name: 'mnist_serve', limit: 1 });
    const serving = page.tasks[0];
    if (serving) return reply.redirect(`/api/v1/services/${serving.id}/`, 302);
    return reply.type('text/html; charset=utf-8').send(NOT_SERVING);
  });
};
