/**
 * Serving evaluation reports for the UI (docs/eval.md): what `lakeray eval serve` wrote into
 * the server's eval results directory, per tenant: a caller sees its own tenant's reports only
 * (tenantReportsDir), and the list names that tenant, which is how the CLI learns where its
 * key's reports go.
 *
 *   GET /api/v1/eval/reports               → {"tenant", "items": [{id, deployment, mode, users, …, files}]}
 *   GET /api/v1/eval/reports/{id}/{file}   → summary.json | README.md | user_test_charts.png | batch_test_heatmaps.png
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { EvalReports, REPORT_ID_PATTERN, tenantReportsDir } from '../../serving/eval/reports-dir.ts';
import { REPORT_FILES } from '../../serving/eval/report.ts';
import { callerOf } from '../caller.ts';
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
  const reportsOf = (tenant: string) => new EvalReports(tenantReportsDir(resultsDir, tenant));

  app.get(
    '/api/v1/eval/reports',
    {
      schema: {
        tags: ['serving'],
        summary: 'Serving evaluation reports (lakeray eval serve), newest first',
        response: { 200: z.object({ tenant: z.string().describe("The caller's tenant, whose reports these are"), items: z.array(reportItem) }) },
      },
    },
    async (request) => {
      const { tenant } = callerOf(request);
      return { tenant, items: await reportsOf(tenant).list() };
    },
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
      const { body, contentType } = await reportsOf(callerOf(request).tenant).file(request.params.id, request.params.file);
      return reply.header('content-type', contentType).header('cache-control', 'no-cache').send(body as never);
    },
  );
};
