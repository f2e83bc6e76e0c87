/**
 * Serving evaluation reports for the UI (docs/eval.md): what `lakeray eval serve` wrote into
 * the server's eval results directory.
 *
 *   GET /api/v1/eval/reports               → {"items": [{id, deployment, mode, users, …, files}]}
 *   GET /api/v1/eval/reports/{id}/{file}   → summary.json | README.md | user_test_charts.png | batch_test_heatmaps.png
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { EvalReports, REPORT_ID_PATTERN } from '../../serving/eval/reports-dir.ts';
import { REPORT_FILES } from '../../serving/eval/report.ts';
import { LakerayError } from '../../domain/errors.ts';
import { isDefaultTenant } from '../default-tenant-only.ts';
import { errorResponses } from '../plugins/errors.ts';

export interface EvalReportRoutesOptions {
  /** The eval results directory (default <state_dir>/eval_results); it may not exist yet. */
  resultsDir: string;
}

const reportItem = z.object({
  id: z.string(),
  deployment: z.string(),
  model: z.string().nullable(),
  mode: z.enum(['request', 'session']),
  users: z.number(),
  started_at: z.string(),
  finished_at: z.string(),
  interrupted: z.boolean(),
  phases: z.number(),
  files: z.array(z.enum(REPORT_FILES)),
});

const fileParams = z
  .object({
    id: z.string().regex(REPORT_ID_PATTERN, 'a report id such as 2026-12-05T14-30-00-123Z'),
    file: z.enum(REPORT_FILES),
  })
  .strict();

export const evalReportRoutes: FastifyPluginAsyncZod<EvalReportRoutesOptions> = async (app, { resultsDir }) => {
  const reports = new EvalReports(resultsDir);

  app.get(
    '/api/v1/eval/reports',
    {
      schema: {
        tags: ['serving'],
        summary: 'Serving evaluation reports (lakeray eval serve), newest first',
        response: { 200: z.object({ items: z.array(reportItem) }) },
      },
    },
    // The operator's reports: another tenant sees none (default-tenant-only.ts).
    async (request) => ({ items: isDefaultTenant(request) ? await reports.list() : [] }),
  );

  app.get(
    '/api/v1/eval/reports/:id/:file',
    {
      schema: {
        tags: ['serving'],
        summary: "One file of an evaluation report: its summary, its Markdown report or a chart",
        params: fileParams,
        response: errorResponses(400, 404),
      },
    },
    async (request, reply) => {
      if (!isDefaultTenant(request)) throw new LakerayError('EVAL_REPORT_NOT_FOUND', `no file "${request.params.file}" in evaluation report "${request.params.id}"`);
      const { body, contentType } = await reports.file(request.params.id, request.params.file);
      return reply.header('content-type', contentType).header('cache-control', 'no-cache').send(body as never);
    },
  );
};
