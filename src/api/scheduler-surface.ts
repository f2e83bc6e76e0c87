/**
 * What a scheduler process (`lakeray up --role scheduler`) serves over HTTP. Users go to the
 * API nodes (role `api`); a scheduler serves its probes (/health, /ready), /metrics, and only
 * the routes the tasks it runs call back on:
 *   - the lake (/api/v1/datasets…, /api/v1/models…), with a task token only: the local
 *     executor gives its scripts this process's own URL (LAKERAY_API_URL), where the lake is
 *     open already; a user's key is refused here (an API node serves it);
 *   - reports and uploads of tasks on other machines (/api/v1/tasks/{id}/reports, artifacts):
 *     a Ray executor without `api_url` sends them to the process that owns it, whose
 *     RemoteReports hub is waiting for them;
 *   - Ray actors-mode drivers' polls: the owning process's executor hands out their work.
 */
import type { FastifyInstance } from 'fastify';
import { LakerayError } from '../domain/errors.ts';
import type { RemoteReports } from '../engine/remote-reports.ts';
import type { RemoteUploads } from '../engine/remote-uploads.ts';
import type { TaskTokens } from '../engine/task-tokens.ts';
import type { TaskService } from '../engine/task-service.ts';
import type { PolledExecutor } from '../domain/driver-poll.ts';
import type { TenantLakes } from '../lake/service/tenant-lakes.ts';
import type { SessionManager } from '../serving/sessions.ts';
import { type MetricsRegistry, metricsRoutes } from './metrics.ts';
import { driverPollRoutes } from './routes/driver-poll.ts';
import { healthRoutes } from './routes/health.ts';
import { lakeRoutes } from './routes/lake.ts';
import { reportRoutes } from './routes/reports.ts';

const LAKE_ROUTE = /^\/api\/v1\/(datasets|models)(\/|$)/;
const TASK_TOKEN = /^Bearer\s+lrt1\.\S+\s*$/i;

/** The part of buildApp's options (app.ts) a scheduler's routes use. */
export interface SchedulerSurfaceOptions {
  tasks: TaskService;
  version?: string;
  sessions?: SessionManager;
  reports?: RemoteReports;
  uploads?: RemoteUploads | null;
  drivers?: (name: string) => PolledExecutor | undefined;
  tokens?: TaskTokens;
  lakes?: TenantLakes;
  maxUploadBytes?: number;
}

export async function registerSchedulerRoutes(app: FastifyInstance, opts: SchedulerSurfaceOptions, metrics: MetricsRegistry): Promise<void> {
  app.addHook('onRequest', async (request) => {
    const route = request.routeOptions.url;
    if (route !== undefined && LAKE_ROUTE.test(route) && !TASK_TOKEN.test(request.headers.authorization ?? ''))
      throw new LakerayError('FORBIDDEN', "A scheduler serves the lake to the tasks it runs (their task token); use an API node's address");
  });
  await app.register(healthRoutes, { tasks: opts.tasks, version: opts.version ?? 'dev', sessions: opts.sessions });
  if (opts.reports) await app.register(reportRoutes, { reports: opts.reports, uploads: opts.uploads });
  if (opts.drivers && opts.tokens) await app.register(driverPollRoutes, { tokens: opts.tokens, drivers: opts.drivers });
  if (opts.lakes) await app.register(lakeRoutes, { lakes: opts.lakes, tokens: opts.tokens, maxUploadBytes: opts.maxUploadBytes ?? 4 * 1024 ** 3 });
  await app.register(metricsRoutes, { metrics });
}
