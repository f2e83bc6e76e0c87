/**
 * Liveness and readiness. /health says the process serves HTTP (restart it if not); /ready
 * says the engine finished crash recovery and is not shutting down (send it traffic only then).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LakerayError } from '../../domain/errors.ts';
import type { TaskService } from '../../engine/task-service.ts';
import { errorResponses } from '../plugins/errors.ts';

export interface HealthRoutesOptions {
  tasks: TaskService;
  version: string;
}

export const healthRoutes: FastifyPluginAsyncZod<HealthRoutesOptions> = async (app, { tasks, version }) => {
  app.get(
    '/health',
    { schema: { tags: ['ops'], summary: 'Liveness', response: { 200: z.object({ status: z.literal('ok'), version: z.string() }) } } },
    async () => ({ status: 'ok' as const, version }),
  );

  app.get(
    '/ready',
    {
      schema: {
        tags: ['ops'],
        summary: 'Readiness: 503 NOT_READY while recovering or shutting down',
        response: { 200: z.object({ status: z.literal('ready') }), ...errorResponses(503) },
      },
    },
    async () => {
      if (!tasks.ready()) throw new LakerayError('NOT_READY');
      return { status: 'ready' as const };
    },
  );
};
