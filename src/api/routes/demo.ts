/**
 * `/demo/mnist`: the MNIST drawing page's stable address. It redirects to the running
 * `mnist_serve` service (which serves the page and /predict through the service proxy), or
 * explains how to start it when nothing serves yet — and, when the last ingestion found no
 * Fashion-MNIST files, says so in one line with the command that fixes it.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Caller, TaskService } from '../../engine/task-service.ts';
import { callerOf } from '../caller.ts';

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);

const notServing = (missingData: string | null): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>MNIST demo · Lakeray</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1f2937}
code,pre{background:#f3f4f6;border-radius:6px;padding:.15rem .4rem}pre{padding:1rem;overflow:auto}
.missing{border-left:4px solid #d97706;background:#fffbeb;padding:.5rem .75rem}</style></head>
<body><h1>The MNIST model is not serving yet</h1>
${missingData === null ? '' : `<p class="missing" role="alert">${escapeHtml(missingData)}</p>\n`}<p>Train it and start the inference service with one command (it ingests Fashion-MNIST first if needed):</p>
<pre>npx lakeray demo mnist</pre>
<p>Then reload this page to draw a piece of clothing and see which of the 10 Fashion-MNIST classes the model thinks it is.</p>
</body></html>`;

/** The message of the last MNIST ingestion when it failed for want of its input files, else null. */
export async function missingMnistData(tasks: TaskService, caller: Caller): Promise<string | null> {
  const last = (await tasks.list(caller, { name: 'mnist_ingestion', limit: 1 })).tasks[0];
  return last?.status === 'failed' && last.error?.code === 'INPUT_NOT_FOUND' ? last.error.message : null;
}

export const demoRoutes: FastifyPluginAsync<{ tasks: TaskService }> = async (app, { tasks }) => {
  app.get('/demo/mnist', { schema: { hide: true } }, async (request, reply) => {
    const caller = callerOf(request);
    const page = await tasks.list(caller, { status: ['running'], name: 'mnist_serve', limit: 1 });
    const serving = page.tasks[0];
    if (serving) return reply.redirect(`/api/v1/services/${serving.id}/`, 302);
    return reply.type('text/html; charset=utf-8').send(notServing(await missingMnistData(tasks, caller)));
  });
};
