/**
 * Reports from anywhere (docs/api.md "Task reports"): a task on another machine sends its
 * protocol messages here with its own token, instead of writing them on fd 3.
 *
 *   POST /api/v1/tasks/{id}/reports   Authorization: Bearer <task token>
 *        {"attempt": n, "messages": [{"seq": 1, "type": "progress", …}, …]}  →  {"acked": <highest seq stored>}
 *
 * The hub (engine/remote-reports.ts) authorizes, deduplicates by seq and hands the messages
 * to the executor that runs the task.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LakerayError } from '../../domain/errors.ts';
import { REPORTS_RETRY_AFTER_S, type RemoteReports } from '../../engine/remote-reports.ts';
import { errorResponses } from '../plugins/errors.ts';

export interface ReportRoutesOptions {
  reports: RemoteReports;
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

export const reportRoutes: FastifyPluginAsyncZod<ReportRoutesOptions> = async (app, { reports, bodyLimit = 16 * 1024 * 1024 }) => {
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
