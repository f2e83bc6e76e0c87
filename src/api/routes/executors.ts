/**
 * `GET /api/v1/executors` (docs/api.md "Executors"): the configured executors with their live
 * health and capacity, for the UI's executor column and its "executor down" banner. What an
 * executor is (kind, mode, dashboard) comes from the config; whether it is up and what it can
 * place now come from the engine (the same health `/ready` reports).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { TaskService } from '../../engine/task-service.ts';
import { executorList, withoutCredentials } from '../executor-view.ts';
import type { ExecutorDescriptions } from '../serialize.ts';

export interface ExecutorRoutesOptions {
  tasks: TaskService;
  executors: ExecutorDescriptions;
}

export const executorRoutes: FastifyPluginAsyncZod<ExecutorRoutesOptions> = async (app, { tasks, executors }) => {
  app.get(
    '/api/v1/executors',
    { schema: { tags: ['ops'], summary: 'The executors, their health and capacity', response: { 200: executorList } } },
    async () => {
      const stats = await tasks.stats();
      const down = new Map(tasks.unreachableExecutors().map((d) => [d.name, d.message]));
      return {
        executors: stats.executors.map((s) => {
          // Without a description (an app built without the config, e.g. in tests): what the engine knows.
          const d = executors.get(s.name);
          const message = down.get(s.name);
          return {
            name: s.name,
            kind: d?.kind ?? (s.name === 'local' ? 'local' : 'unknown'),
            mode: d?.mode ?? null,
            health: { ok: message === undefined, message: message === undefined ? null : withoutCredentials(message) },
            capacity: s.capacity,
            used: s.used,
            dashboard_url: d?.dashboard_url ?? null,
          };
        }),
      };
    },
  );
};
