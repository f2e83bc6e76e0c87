/**
 * Liveness and readiness. /health says the process serves HTTP (restart it if not); /ready
 * says the engine finished crash recovery, is not shutting down and reaches its task store
 * (send it traffic only then), and names the executors that are down without failing: local
 * work goes on without them.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LakerayError } from '../../domain/errors.ts';
import type { TaskService } from '../../engine/task-service.ts';
import type { SessionManager } from '../../serving/sessions.ts';
import { errorResponses } from '../plugins/errors.ts';

export interface HealthRoutesOptions {
  tasks: TaskService;
  version: string;
  /** With serving on, /health also counts the streaming sessions (seed 003's /health did). */
  sessions?: SessionManager;
}

export const healthRoutes: FastifyPluginAsyncZod<HealthRoutesOptions> = async (app, { tasks, version, sessions }) => {
  app.get(
    '/health',
    {
      schema: {
        tags: ['ops'],
        summary: 'Liveness',
        response: { 200: z.object({ status: z.literal('ok'), version: z.string(), sessions: z.object({ open: z.number().int(), max: z.number().int() }).optional() }) },
      },
    },
    async () => (sessions ? { status: 'ok' as const, version, sessions: { open: sessions.size, max: sessions.limit } } : { status: 'ok' as const, version }),
  );

  app.get(
    '/ready',
    {
      schema: {
        tags: ['ops'],
        summary: 'Readiness: 503 NOT_READY while recovering or shutting down, STORE_UNAVAILABLE while the task store cannot be reached',
        description:
          'Ready also while an executor is down (e.g. its Ray cluster is unreachable): its tasks wait queued and `executors_down` names it; other executors work on.',
        response: {
          200: z.object({ status: z.literal('ready'), executors_down: z.array(z.object({ name: z.string(), message: z.string() })) }),
          ...errorResponses(503),
        },
      },
    },
    async () => {
      if (!tasks.ready()) throw new LakerayError('NOT_READY');
      // A shared store that cannot be reached: this replica can serve nothing useful meanwhile.
      const store = await tasks.storeHealth();
      if (!store.ok) throw new LakerayError('STORE_UNAVAILABLE', `task store unreachable: ${store.reason ?? 'unknown'}`);
      return { status: 'ready' as const, executors_down: tasks.unreachableExecutors() };
    },
  );
};
