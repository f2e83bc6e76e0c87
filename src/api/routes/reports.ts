/**
 * Reports from anywhere (docs/api.md "Task reports"): a task on another machine sends its
 * protocol messages here with its own token, instead of writing them on fd 3.
 *
 *   POST /api/v1/tasks/{id}/reports   Authorization: Bearer <task token>
 *        {"attempt": n, "messages": [{"seq": 1, "type": "progress", …}, …]}  →  {"acked": <highest seq stored>}
 *
 *   PUT  /api/v1/tasks/{id}/artifacts/{name}   Authorization: Bearer <task token>, the file as the body
 *        →  201 {name, content_type, size, created_at, url}
 *
 * The hub (engine/remote-reports.ts) authorizes, deduplicates by seq and hands the messages
 * to the executor that runs the task; uploads go to the artifact store (engine/remote-uploads.ts).
 */
import type { FastifyPluginAsyncZod, ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LakerayError } from '../../domain/errors.ts';
import type { Readable } from 'node:stream';
import { artifactUrl } from '../../engine/artifact-ingest.ts';
import { REPORTS_RETRY_AFTER_S, type RemoteReports } from '../../engine/remote-reports.ts';
import type { RemoteUploads } from '../../engine/remote-uploads.ts';
import { errorResponses } from '../plugins/errors.ts';
import { artifactJson } from './artifacts.ts';

export interface ReportRoutesOptions {
  reports: RemoteReports;
  /** Without it (no artifact store) uploads are not routed. */
  uploads?: RemoteUploads | null;
  /** Largest batch body (log lines may be long); default 16 MiB. */
  bodyLimit?: number;
}

/** Most messages in one batch (the Python channel sends at most 256). */
export const MAX_REPORT_BATCH = 4096;

const idParams = z.object({ id: z.string().min(1).max(200) }).strict();
const batchBody = z
  .object({
    attempt: z.number().int().min(1).describe("The task's attempt the token was minted for"),
    messages: z
      .array(z.object({ seq: z.number().int().min(1).describe('1, 2, … per attempt, in the order written'), type: z.string().min(1) }).passthrough())
      .max(MAX_REPORT_BATCH)
      .describe('Protocol messages exactly as the harness writes them on fd 3 (docs/runtime-protocol.md), each with its seq'),
  })
  .strict();

const fileParams = z.object({ id: z.string().min(1).max(200), name: z.string().min(1).max(255) }).strict();

export const reportRoutes: FastifyPluginAsyncZod<ReportRoutesOptions> = async (app, { reports, uploads, bodyLimit = 16 * 1024 * 1024 }) => {
  if (uploads) {
    // A scope of its own: the body is the file, streamed whatever its type, never parsed.
    await app.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
      scope.withTypeProvider<ZodTypeProvider>().put(
        '/api/v1/tasks/:id/artifacts/:name',
        {
          schema: {
            tags: ['tasks'],
            summary: 'Upload a file the task produced (task token required): what ctx.artifact does on another machine',
            params: fileParams,
            response: { 201: artifactJson, ...errorResponses(400, 401, 404, 409) },
          },
        },
        async (request, reply) => {
          const { id, name } = request.params;
          const info = await uploads.put(id, name, request.headers.authorization, request.body as Readable, request.headers['content-type']);
          reply.code(201);
          return { ...info, created_at: new Date(info.created_at).toISOString(), url: artifactUrl(id, info.name) };
        },
      );
    });
  }

  app.post(
    '/api/v1/tasks/:id/reports',
    {
      bodyLimit,
      schema: {
        tags: ['tasks'],
        summary: "A running task's events, sent by its harness from wherever it runs (task token required)",
        params: idParams,
        body: batchBody,
        response: { 200: z.object({ acked: z.number().describe('The highest seq stored; resend everything after it') }), ...errorResponses(400, 401, 404, 409, 503) },
      },
    },
    async (request, reply) => {
      try {
        return await reports.receive(request.params.id, request.headers.authorization, request.body);
      } catch (err) {
        if (err instanceof LakerayError && err.code === 'REPORTS_NOT_OPEN') reply.header('retry-after', String(REPORTS_RETRY_AFTER_S));
        throw err;
      }
    },
  );
};
