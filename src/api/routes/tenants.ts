/**
 * Tenants (docs/api.md "Tenants"): a tenant's effective weight and quotas with today's usage,
 * and an operator's run-time override of them. Who may read and change what: tenants/admin.ts.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { tenantLimitsSchema } from '../../config/tenants-schema.ts';
import type { TenantAdmin } from '../../tenants/admin.ts';
import { callerOf, requireRole } from '../caller.ts';
import { errorResponses } from '../plugins/errors.ts';

export interface TenantRoutesOptions {
  tenants: TenantAdmin;
}

const nameParams = z.object({ name: z.string().min(1).max(128) }).strict();
const limit = z.number().nullable();
const tenantView = z.object({
  tenant: z.string(),
  settings: z.object({ weight: z.number(), max_queued: limit, max_running: limit, gpu_seconds_per_day: limit, lake_bytes: limit }),
  override: z.record(z.string(), z.number().nullable()).describe('What an admin set at run time; null: no limit'),
  usage: z.object({
    queued: z.number(),
    running: z.number(),
    gpu_seconds_today: z.number().describe('GPU-seconds of the UTC day so far, running tasks included'),
    day: z.string().describe('The UTC day (YYYY-MM-DD)'),
  }),
});

export const tenantRoutes: FastifyPluginAsyncZod<TenantRoutesOptions> = async (app, { tenants }) => {
  app.get(
    '/api/v1/tenants/:name',
    { schema: { tags: ['tenants'], summary: "A tenant's weight, quotas and today's usage", params: nameParams, response: { 200: tenantView, ...errorResponses(401, 404) } } },
    async (request) => tenants.get(callerOf(request), request.params.name),
  );

  app.put(
    '/api/v1/tenants/:name',
    {
      schema: {
        tags: ['tenants'],
        summary: "Override a tenant's weight and quotas (operator admins only; replaces the previous override)",
        params: nameParams,
        body: tenantLimitsSchema,
        response: { 200: tenantView, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => tenants.put(requireRole(request, 'admin'), request.params.name, request.body),
  );
};
