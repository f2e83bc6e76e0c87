/**
 * The HTTP API (DESIGN.md §8) as a Fastify instance. Request and response schemas are zod
 * (fastify-type-provider-zod) and the OpenAPI document at /docs/json is generated from them.
 * The app never listens by itself: main.ts does, tests use inject() or listen on port 0.
 * It talks to the engine only through TaskService.
 */
import type { DeploymentManager } from '../serving/deployments.ts';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { ArtifactService } from '../engine/artifact-service.ts';
import type { RemoteReports } from '../engine/remote-reports.ts';
import type { RemoteUploads } from '../engine/remote-uploads.ts';
import type { TenantLakes } from '../lake/service/tenant-lakes.ts';
import type { TaskService } from '../engine/task-service.ts';
import type { GenerationService } from '../generation/service.ts';
import { MetricsRegistry, metricsRoutes } from './metrics.ts';
import { registerSchedulerRoutes } from './scheduler-surface.ts';
import { type AuthOptions, installAuth } from './plugins/auth.ts';
import { installTaskTokenScope } from './plugins/task-token-scope.ts';
import { clientErrorHandler, frameworkErrors, registerErrorHandling, upgradeErrorHandler } from './plugins/errors.ts';
import { DEFAULT_MAX_JSON_DEPTH, installJsonBodyParser } from './plugins/json-body.ts';
import { QueueWatch } from './queue-watch.ts';
import { artifactRoutes } from './routes/artifacts.ts';
import { demoRoutes } from './routes/demo.ts';
import { deploymentRoutes } from './routes/deployments.ts';
import { evalReportRoutes } from './routes/eval-reports.ts';
import { eventRoutes } from './routes/events.ts';
import { executorRoutes, type NodeExecutorsSource } from './routes/executors.ts';
import { healthRoutes } from './routes/health.ts';
import { keyRoutes } from './routes/keys.ts';
import { seed002Routes } from './routes/seed002.ts';
import { type Seed003Host, seed003Routes } from './routes/seed003.ts';
import { sessionRoutes } from './routes/sessions.ts';
import type { SessionManager } from '../serving/sessions.ts';
import { serviceRoutes } from './routes/services.ts';
import { lakeRoutes } from './routes/lake.ts';
import { reportRoutes } from './routes/reports.ts';
import { driverPollRoutes } from './routes/driver-poll.ts';
import type { PolledExecutor } from '../domain/driver-poll.ts';
import type { TaskTokens } from '../engine/task-tokens.ts';
import { taskRoutes } from './routes/tasks.ts';
import { tenantRoutes } from './routes/tenants.ts';
import type { TenantAdmin } from '../tenants/admin.ts';
import { videoRoutes } from './routes/video.ts';
import { webRoutes } from './routes/web.ts';
import { WS_MAX_FRAME, wsRoutes } from './ws.ts';
import type { ExecutorDescription } from './executor-view.ts';

export interface AppOptions {
  tasks: TaskService;
  /** The lake's routes (/api/v1/datasets, /api/v1/models), one namespace per tenant, when a lake is configured. */
  lakes?: TenantLakes;
  /** Model serving (src/serving): the deployments routes. */
  deployments?: { manager: DeploymentManager; maxPredictBytes: number };
  /** Largest Arrow upload in bytes (default 4 GiB). */
  maxUploadBytes?: number;
  /** How long the service proxy waits for a service's response headers (default 300 s). */
  serviceTimeoutMs?: number;
  /** Fastify logger: false (default), true, or pino options. */
  logger?: boolean | object;
  /** Log every request (off by default). */
  requestLog?: boolean;
  /** Largest request body in bytes (default 1 MiB); larger is 413 PAYLOAD_TOO_LARGE. */
  bodyLimit?: number;
  /** Deepest nesting of a JSON body (default 64); deeper is 400 INVALID_REQUEST. */
  maxJsonDepth?: number;
  /** Most tasks in one POST /api/v1/tasks/batch (default 10 000). */
  maxBatch?: number;
  metrics?: MetricsRegistry;
  version?: string;
  /** SSE heartbeat comment interval (default 15 s). */
  heartbeatMs?: number;
  /** WebSocket bytes buffered before events queue and progress coalesces (default 1 MiB). */
  wsHighWaterBytes?: number;
  /** Tasks' artifacts (/api/v1/tasks/{id}/artifacts); without it the lists are empty. */
  artifacts?: ArtifactService | null;
  /** The video center (/v1/video/*, /api/v1/uploads) when configured. */
  generation?: GenerationService;
  /** How often streamed queue positions are refreshed (default 300 ms). */
  queuePollMs?: number;
  /** Reports of tasks that run elsewhere (POST /api/v1/tasks/{id}/reports). */
  reports?: RemoteReports;
  /** Their files (PUT /api/v1/tasks/{id}/artifacts/{name}); needs `reports`. */
  uploads?: RemoteUploads | null;
  /** Ray actors-mode drivers' polls (POST /api/v1/executors/{name}/driver/poll); needs `tokens`. */
  drivers?: (name: string) => PolledExecutor | undefined;
  tokens?: TaskTokens;
  /** The configured executors (describeExecutors): kinds, modes, dashboard links. */
  executors?: readonly ExecutorDescription[];
  /** A shared store: the executors listing shows every node's `local@<node>` from it (routes/executors.ts). */
  nodeExecutors?: NodeExecutorsSource;
  /** Streaming sessions of deployments (/api/v1/deployments/{name}/sessions…) when serving is on. */
  sessions?: SessionManager;
  /** Seed 003's routes (/init, /queue_status, /delete_session, /wss, /ray/*) over `sessions`. */
  seed003?: { host: Seed003Host; deployment?: string };
  /** Who may call (plugins/auth.ts): the auth config, the key store, a task token's tenant. Default: mode auto, no keys. */
  auth?: AuthOptions;
  /** Where `lakeray eval serve` writes its reports (GET /api/v1/eval/reports); default <state_dir>/eval_results in main.ts. */
  evalResultsDir?: string;
  /** Tenants' settings and usage (/api/v1/tenants/{name}), and their per-tenant metrics. */
  tenants?: TenantAdmin;
  /** `scheduler`: only probes, /metrics and the routes its tasks call back on (scheduler-surface.ts). Default `full`. */
  surface?: 'full' | 'scheduler';
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;
export const DEFAULT_MAX_BATCH = 10_000;

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: (opts.logger ?? false) as FastifyServerOptions['logger'],
    // One line per request drowns what matters (errors, recoveries); opt in with requestLog.
    logController: new LogController({ disableRequestLogging: !opts.requestLog }),
    bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT,
    frameworkErrors,
    clientErrorHandler,
    // Keep-alive connections must not hold app.close() hostage; streams are ended in preClose.
    forceCloseConnections: 'idle',
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app);
  // JSON only: without this, a text/plain body would reach validation as a string (400)
  // instead of being refused as the wrong media type (415).
  app.removeContentTypeParser('text/plain');
  installJsonBodyParser(app, opts.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH);
  // A request still awaiting the engine when close() begins gets its answer, but its
  // keep-alive connection must not then hold close() open until the client lets go.
  // Likewise a response still streaming when close() begins (a file, say): its socket turns
  // idle only after Fastify's one sweep of idle sockets, so keep sweeping until closed.
  let closing = false;
  let sweeper: NodeJS.Timeout | undefined;
  app.addHook('preClose', async () => {
    closing = true;
    sweeper = setInterval(() => app.server.closeIdleConnections(), 25);
    sweeper.unref();
  });
  app.addHook('onClose', async () => clearInterval(sweeper));
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Lakeray API',
        description: 'Asynchronous, GPU-aware tasks. Errors are {"error": {"code", "message"}}.',
        version: opts.version ?? 'dev',
      },
      tags: [
        { name: 'tasks', description: 'Submit, watch and manage tasks' },
        { name: 'datasets', description: 'Datasets of the Lance lake' },
        { name: 'models', description: 'Models of the Lance lake: files, metrics, lineage' },
        { name: 'services', description: 'Service tasks: list them, and reach them through the proxy' },
        { name: 'video', description: 'Video generations (seed 000): models, generations, image uploads' },
        { name: 'ops', description: 'Health and readiness' },
        { name: 'auth', description: 'API keys and the audit log (admins, within their tenant)' },
      ],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(websocket, {
    options: { maxPayload: WS_MAX_FRAME },
    // A client's socket error (reset, oversized frame) is its problem, not a server error.
    errorHandler: (err, socket, request) => {
      request.log.info({ err: err.message }, 'websocket closed on error');
      socket.terminate();
    },
  });
  app.websocketServer.on('wsClientError', upgradeErrorHandler);
  // After the websocket plugin's own onRequest hook (it marks upgrades, so a refused upgrade's
  // socket is closed once answered) and before every route but the OpenAPI pages.
  installAuth(app, { ...opts.auth, tokens: opts.tokens });
  installTaskTokenScope(app, opts.tokens);

  const metrics = opts.metrics ?? new MetricsRegistry();
  metrics.setStatsSource(() => opts.tasks.stats());
  if (opts.tenants) metrics.setTenantSource(() => (opts.tenants as TenantAdmin).usageOfAll());

  if (opts.surface === 'scheduler') {
    await registerSchedulerRoutes(app, opts, metrics);
    return app;
  }
  await app.register(healthRoutes, { tasks: opts.tasks, version: opts.version ?? 'dev', sessions: opts.sessions });
  const executors = new Map((opts.executors ?? []).map((e) => [e.name, e]));
  await app.register(taskRoutes, { tasks: opts.tasks, maxBatch: opts.maxBatch ?? DEFAULT_MAX_BATCH, executors });
  await app.register(executorRoutes, { tasks: opts.tasks, executors, nodes: opts.nodeExecutors });
  const queueWatch = new QueueWatch(opts.tasks, opts.queuePollMs ?? 300, (err) => app.log.warn({ err }, 'queue positions'));
  app.addHook('onClose', async () => queueWatch.stop());
  await app.register(eventRoutes, { tasks: opts.tasks, heartbeatMs: opts.heartbeatMs ?? 15_000, queueWatch });
  await app.register(wsRoutes, { tasks: opts.tasks, highWaterBytes: opts.wsHighWaterBytes ?? 1024 * 1024, queueWatch });
  await app.register(artifactRoutes, { tasks: opts.tasks, artifacts: opts.artifacts ?? null });
  if (opts.reports) await app.register(reportRoutes, { reports: opts.reports, uploads: opts.uploads });
  if (opts.drivers && opts.tokens) await app.register(driverPollRoutes, { tokens: opts.tokens, drivers: opts.drivers });
  if (opts.generation) {
    await app.register(videoRoutes, { generation: opts.generation });
    await app.register(seed002Routes, { generation: opts.generation });
  }
  await app.register(serviceRoutes, { tasks: opts.tasks, upstreamTimeoutMs: opts.serviceTimeoutMs });
  if (opts.lakes) await app.register(lakeRoutes, { lakes: opts.lakes, tokens: opts.tokens, maxUploadBytes: opts.maxUploadBytes ?? 4 * 1024 ** 3 });
  if (opts.deployments) await app.register(deploymentRoutes, { deployments: opts.deployments.manager, maxPredictBytes: opts.deployments.maxPredictBytes, maxJsonDepth: opts.maxJsonDepth });
  if (opts.sessions) {
    await app.register(sessionRoutes, { sessions: opts.sessions });
    if (opts.seed003) await app.register(seed003Routes, { sessions: opts.sessions, ...opts.seed003 });
  }
  if (opts.auth?.stores) await app.register(keyRoutes, { stores: opts.auth.stores });
  if (opts.evalResultsDir) await app.register(evalReportRoutes, { resultsDir: opts.evalResultsDir });
  if (opts.tenants) await app.register(tenantRoutes, { tenants: opts.tenants });
  await app.register(demoRoutes, { tasks: opts.tasks });
  await app.register(metricsRoutes, { metrics });
  await app.register(webRoutes, {}); // the web UI at / (web/dist), and its client-side routes
  return app;
}
