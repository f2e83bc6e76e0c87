/**
 * A task's artifacts (the files its script reported with ctx.artifact) and its webhook
 * delivery log:
 *
 *   GET  /api/v1/tasks/{id}/artifacts          {artifacts: [{name, content_type, size, created_at, url}]}
 *   GET  /api/v1/tasks/{id}/artifacts/{name}   the file, with its Content-Type; Range requests
 *   HEAD /api/v1/tasks/{id}/artifacts/{name}   (206 + Content-Range, 416 for a range outside it),
 *                                              Accept-Ranges: bytes — a <video> can seek
 *   GET  /api/v1/tasks/{id}/webhooks           {deliveries: [one per attempt], next_seq}
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LakerayError } from '../../domain/errors.ts';
import type { TaskEvent } from '../../domain/events.ts';
import type { ArtifactService } from '../../engine/artifact-service.ts';
import { artifactUrl } from '../../engine/artifact-ingest.ts';
import type { TaskService } from '../../engine/task-service.ts';
import { callerOf } from '../caller.ts';
import { errorResponses } from '../plugins/errors.ts';
import { parseRange } from '../range.ts';

export interface ArtifactRoutesOptions {
  tasks: TaskService;
  artifacts: ArtifactService | null;
}

const idParams = z.object({ id: z.string().min(1).max(200) }).strict();
const fileParams = z.object({ id: z.string().min(1).max(200), name: z.string().min(1).max(255) }).strict();

export const artifactJson = z
  .object({
    name: z.string(),
    content_type: z.string(),
    size: z.number().describe('Bytes'),
    created_at: z.string().describe('ISO-8601'),
    url: z.string().describe('/api/v1/tasks/{id}/artifacts/{name}'),
  })
  .describe('A file the task produced');

const deliveryJson = z
  .object({
    seq: z.number(),
    ts: z.string(),
    delivery: z.string().describe('X-Lakeray-Delivery of the request (the same for every attempt of one delivery)'),
    event: z.string().describe('start, progress or completed'),
    url: z.string(),
    attempt: z.number(),
    outcome: z.enum(['delivered', 'retrying', 'failed']),
    status: z.number().optional().describe("The receiver's HTTP status"),
    error: z.string().optional().describe('Network error or timeout'),
    duration_ms: z.number(),
    next_attempt_in_ms: z.number().optional(),
  })
  .describe('One delivery attempt of the task’s webhook');

const deliveryOf = (ev: TaskEvent): z.output<typeof deliveryJson> => ({ ...(ev.data as Omit<z.output<typeof deliveryJson>, 'seq' | 'ts'>), seq: ev.seq, ts: new Date(ev.ts).toISOString() });

export const artifactRoutes: FastifyPluginAsyncZod<ArtifactRoutesOptions> = async (app, { tasks, artifacts }) => {
  const store = (): ArtifactService => {
    if (artifacts === null) throw new LakerayError('ARTIFACT_NOT_FOUND', 'This server keeps no artifacts');
    return artifacts;
  };

  app.get(
    '/api/v1/tasks/:id/artifacts',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Files the task produced',
        params: idParams,
        response: { 200: z.object({ artifacts: z.array(artifactJson) }), ...errorResponses(404) },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const list = artifacts === null ? (await tasks.get(caller, request.params.id), []) : await artifacts.list(caller, request.params.id);
      return {
        artifacts: list.map((a) => ({ ...a, created_at: new Date(a.created_at).toISOString(), url: artifactUrl(request.params.id, a.name) })),
      };
    },
  );

  app.route({
    method: ['GET', 'HEAD'],
    url: '/api/v1/tasks/:id/artifacts/:name',
    // Our own HEAD (Fastify's would send Content-Length: 0 for an empty body).
    exposeHeadRoute: false,
    schema: {
      tags: ['tasks'],
      summary: 'Download an artifact (Range requests supported; HEAD too)',
      params: fileParams,
      querystring: z.object({ download: z.enum(['0', '1']).optional().describe('1: Content-Disposition attachment') }).strict(),
      response: errorResponses(404, 416),
    },
    handler: async (request, reply) => {
      const caller = callerOf(request);
      const { id, name } = request.params;
      const info = await store().stat(caller, id, name);
      const range = parseRange(request.headers.range, info.size);
      const encoded = encodeURIComponent(info.name);
      reply
        .header('accept-ranges', 'bytes')
        .header('content-type', info.content_type)
        .header('last-modified', new Date(info.created_at).toUTCString())
        .header('cache-control', 'private, no-cache')
        .header('content-disposition', `${request.query.download === '1' ? 'attachment' : 'inline'}; filename*=UTF-8''${encoded}`);
      if (range.kind === 'unsatisfiable') {
        reply.header('content-range', `bytes */${info.size}`);
        throw new LakerayError('RANGE_NOT_SATISFIABLE', `Range "${String(request.headers.range).slice(0, 100)}" is outside the ${info.size} bytes of '${info.name}'`);
      }
      const span = range.kind === 'partial' ? { start: range.start, end: range.end } : undefined;
      const length = span ? span.end - span.start + 1 : info.size;
      if (span) reply.code(206).header('content-range', `bytes ${span.start}-${span.end}/${info.size}`);
      reply.header('content-length', String(length));
      if (request.method === 'HEAD' || length === 0) return reply.send(undefined as never);
      return reply.send((await store().read(caller, id, name, span)) as never);
    },
  });

  app.get(
    '/api/v1/tasks/:id/webhooks',
    {
      schema: {
        tags: ['tasks'],
        summary: "The task's webhook delivery log (one entry per attempt, oldest first)",
        params: idParams,
        querystring: z
          .object({ after: z.coerce.number().int().min(0).default(0), limit: z.coerce.number().int().min(1).max(1000).default(100) })
          .strict(),
        response: { 200: z.object({ deliveries: z.array(deliveryJson), next_seq: z.number() }), ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { after, limit } = request.query;
      const events = await tasks.events(callerOf(request), request.params.id, after, limit, ['webhook']);
      return { deliveries: events.map(deliveryOf), next_seq: events.length > 0 ? (events[events.length - 1] as TaskEvent).seq : after };
    },
  );
};
