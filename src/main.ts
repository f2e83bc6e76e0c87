/**
 * Composition root: config → adapters (store, bus, executors) → engine → HTTP API.
 * The only file that knows every concrete implementation.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import pretty from 'pino-pretty';
import { buildApp } from './api/app.ts';
import { describeExecutors } from './api/executor-view.ts';
import type { ArtifactStore } from './artifacts/artifact-store.ts';
import { LocalArtifactStore } from './artifacts/local/local-artifact-store.ts';
import { LocalUploadStore } from './artifacts/local/local-upload-store.ts';
import { MetricsRegistry } from './api/metrics.ts';
import { loadConfig } from './config/load.ts';
import type { Config } from './config/schema.ts';
import { Engine } from './engine/engine.ts';
import { nodeExecutor } from './engine/node-queues.ts';
import { RemoteReports } from './engine/remote-reports.ts';
import { RemoteUploads } from './engine/remote-uploads.ts';
import { TaskTokens } from './engine/task-tokens.ts';
import { RedisProgressStream } from './events/sources/redis-progress-stream.ts';
import { type ExampleIngestion, ingestExamples, mnistDataDir, withExamples } from './examples.ts';
import { GenerationService } from './generation/service.ts';
import { catalogExecutors } from './generation/executor-choice.ts';
import { LakeService } from './lake/service/lake-service.ts';
import { openTenantLake } from './lake/lance/tenant-namespace.ts';
import { TenantLakes } from './lake/service/tenant-lakes.ts';
import { MemoryEventBus } from './events/memory.ts';
import { RedisEventBus } from './events/redis-event-bus.ts';
import { RedisLakeInvalidations } from './events/lake-invalidations.ts';
import type { PolledExecutor } from './domain/driver-poll.ts';
import type { Executor } from './executors/executor.ts';
import { buildExecutors } from './executors/registry.ts';
import { LanceLake } from './lake/lance/lance-lake.ts';
import { LanceLineageLog } from './lake/lance/lineage-log.ts';
import { SnapshotCache } from './lake/snapshot-cache.ts';
import { findFfmpeg } from './runtime/ffmpeg.ts';
import { resolveScriptCached } from './runtime/paths.ts';
import { checkAuthBinding } from './auth/binding.ts';
import { createRateLimit } from './auth/rate-limit-setup.ts';
import { DeploymentManager } from './serving/deployments.ts';
import { SessionManager } from './serving/sessions.ts';
import { acquireLock } from './store/sqlite/lock.ts';
import { TenantAdmin } from './tenants/admin.ts';
import { SqliteTaskStore } from './store/sqlite/sqlite-store.ts';
import type { TaskStore } from './store/task-store.ts';

/** The configured artifact store (the S3 SDK is loaded only when `artifacts.kind` is s3). */
async function openArtifactStore(config: Config): Promise<ArtifactStore> {
  const a = config.artifacts;
  if (a.kind === 'local') return new LocalArtifactStore(a.root ?? join(config.state_dir, 'artifacts')).init();
  const { S3ArtifactStore } = await import('./artifacts/s3/s3-artifact-store.ts');
  return new S3ArtifactStore({
    bucket: a.bucket,
    prefix: a.prefix,
    stagingRoot: a.staging_root ?? join(config.state_dir, 'artifacts-staging'),
    client: {
      region: a.region,
      endpoint: a.endpoint,
      forcePathStyle: a.force_path_style,
      // Without keys in the config: the SDK's default chain (AWS_* env vars, profiles, roles).
      credentials: a.access_key_id !== undefined && a.secret_access_key !== undefined ? { accessKeyId: a.access_key_id, secretAccessKey: a.secret_access_key } : undefined,
    },
  }).init();
}

/**
 * The configured task store, and what names this server's use of it across restarts (local
 * orphans, progress-stream consumers): the SQLite file, or the PostgreSQL database (its URL
 * without the password) as used from this machine and state directory. pg is loaded only
 * for `store.kind: postgres`. SQLite is held by one process (a lock file); PostgreSQL is shared.
 */
async function openTaskStore(config: Config, logger: pino.Logger): Promise<{ store: TaskStore; identity: string | undefined; release?: () => void }> {
  const s = config.store;
  if (s.kind === 'sqlite') {
    const path = s.path ?? join(config.state_dir, 'lakeray.db');
    if (path === ':memory:') return { store: SqliteTaskStore.open(path), identity: undefined };
    const lock = acquireLock(`${path}.lock`);
    try {
      return { store: SqliteTaskStore.open(path), identity: resolve(path), release: () => lock.release() };
    } catch (err) {
      lock.release();
      throw err;
    }
  }
  const { PostgresTaskStore } = await import('./store/postgres/postgres-store.ts');
  const store = await PostgresTaskStore.open({
    url: s.url,
    poolSize: s.pool_size,
    onHealth: (h) => (h.ok ? logger.info('store: PostgreSQL reachable again') : logger.warn({ reason: h.reason }, 'store: PostgreSQL unreachable')),
  });
  const url = new URL(s.url);
  url.password = '';
  return { store, identity: `${url.href}|${hostname()}|${resolve(config.state_dir)}` };
}

export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * What this process does (`lakeray up --role`): `all` is the API and a scheduler in one
 * process (the embedded default); `api` serves HTTP and owns no executor (it never
 * dispatches; the schedulers find its submits and cancels in the store); `scheduler` claims
 * the executors' ownership and dispatches (its HTTP serves probes, metrics and what the tasks
 * it runs call back on: api/scheduler-surface.ts).
 */
export type Role = 'all' | 'api' | 'scheduler';

export interface StartOptions {
  configPath?: string;
  /** Default `all`. */
  role?: Role;
  port?: number;
  host?: string;
  /** Use the repository's examples/ as script root and examples/data as a data root. */
  examples?: boolean;
  /** Already-parsed config (tests); skips loading a file. */
  config?: Readonly<Config>;
  logLevel?: string;
  /** Overrides config `log_format` (`lakeray up --log-format`). */
  logFormat?: LogFormat;
  /** Where the server log goes (default stdout). */
  logDestination?: LogDestination;
}

/** A stream the log is written to; `isTTY` decides the `auto` format. */
export type LogDestination = NodeJS.WritableStream & { isTTY?: boolean };

export type LogFormat = Config['log_format'];

/**
 * The server log: JSON lines for machines, or pino-pretty's one readable line per entry for a
 * person at a terminal (`auto`: pretty exactly when stdout is a terminal). Fastify logs
 * through the same stream, so the two never mix formats.
 */
export function logStream(format: LogFormat, out: LogDestination = process.stdout): NodeJS.WritableStream {
  if (format === 'json' || (format === 'auto' && !out.isTTY)) return out;
  return pretty({ destination: out, colorize: out.isTTY === true, sync: true, singleLine: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,reqId' });
}

export interface RunningServer {
  url: string;
  engine: Engine;
  /** Reports of tasks that run elsewhere: executors open a channel per task (remote-reports.ts). */
  reports: RemoteReports;
  /** Mints the tasks' tokens (LAKERAY_TASK_TOKEN). */
  tokens: TaskTokens;
  lake: LakeService;
  /** With --examples: what was started for them (the Fashion-MNIST ingestion and how it ends). */
  examples?: { ingestion: ExampleIngestion };
  close(): Promise<void>;
}

/** The project venv's python when setup created it, else python3 from PATH. */
export const defaultPython = (): string => {
  const venv = join(PACKAGE_ROOT, '.venv', 'bin', 'python');
  return existsSync(venv) ? venv : 'python3';
};

const sumStats = (all: readonly object[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const stats of all) for (const [k, n] of Object.entries(stats)) out[snake(k)] = (out[snake(k)] ?? 0) + (n as number);
  return out;
};
const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  let config = opts.config ?? loadConfig(opts.configPath).config;
  if (opts.examples) config = withExamples(config, PACKAGE_ROOT);
  const logLevel = opts.logLevel ?? config.log_level;
  const logs = logStream(opts.logFormat ?? config.log_format, opts.logDestination);
  const logger = pino({ level: logLevel }, logs);

  // Task processes inherit the server's environment: video scripts find ffmpeg here.
  const ffmpeg = findFfmpeg();
  if (ffmpeg) process.env.LAKERAY_FFMPEG = ffmpeg;
  mkdirSync(config.state_dir, { recursive: true });
  // Data roots are made when missing, except the examples' read-only dataset folder, which a
  // package installs (an empty one made here would only hide that it is not installed).
  const dataset = opts.examples ? mnistDataDir() : undefined;
  for (const root of config.data_roots) if (!root.includes('://') && root !== dataset) mkdirSync(root, { recursive: true });
  const { store, identity: storeIdentity, release: releaseStore } = await openTaskStore(config, logger);
  const storeHash = storeIdentity === undefined ? undefined : createHash('sha256').update(storeIdentity).digest('hex').slice(0, 16);
  const bus =
    config.events.kind === 'redis'
      ? new RedisEventBus({
          url: config.events.url,
          stream: config.events.stream,
          maxLen: config.events.max_len,
          onError: (err, context) => logger.warn({ err }, context),
        })
      : new MemoryEventBus();
  const host = opts.host ?? config.server.host;
  const port = opts.port ?? config.server.port;

  const lakeRoot = config.lake.root;
  const lake = await LanceLake.open(lakeRoot, { storageOptions: config.lake.storage_options, dataStorageVersion: config.lake.data_storage_version });
  const lineage = await LanceLineageLog.open(lakeRoot, config.lake.storage_options);
  const snapshots = config.lake.snapshot_cache_bytes > 0 ? new SnapshotCache(lake, join(config.state_dir, 'lake-snapshots'), config.lake.snapshot_cache_bytes) : undefined;
  // The tenant's lake_bytes quota (tenants: in the config, or an admin's override), read when a write comes.
  const lakeBytes = async (tenant: string): Promise<number | null> => (await engine.tenants.directory.fresh(tenant)).lake_bytes;
  const lakeService = new LakeService({ lake, lineage, store, snapshots, bus, lakeBytes: () => lakeBytes('default') });
  const artifacts = await openArtifactStore(config);
  const uploads = new LocalUploadStore(join(config.node.shared_dir ?? config.state_dir, 'uploads'));
  // A table deleted here is dropped from every other node's caches, and theirs from ours.
  const invalidations = config.events.kind === 'redis' ? new RedisLakeInvalidations({ url: config.events.url, stream: config.events.stream, onError: (err, context) => logger.warn({ err }, context) }) : undefined;
  const lakes = new TenantLakes({ defaultLake: lakeService, store, bus, lakeBytes, invalidations, open: (tenant) => openTenantLake(config, tenant) });
  // Known up front unless the port is picked at listen time (tests); then set once listening.
  const tokens = TaskTokens.fromEnvOrStateDir(config.state_dir);
  // Built before the engine (executors take it); it acks a batch once the engine stored its events.
  const reports = new RemoteReports({ tokens, task: (id) => store.get(id), stored: () => engine.eventsStored() });
  let apiUrl: string | undefined = port === 0 ? undefined : `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const role = opts.role ?? 'all';
  // A shared store means several nodes: each scheduler's local executor is its node's own
  // (`local@<node>`), taking from the shared `local` queue (engine/node-queues.ts).
  const nodeScoped = config.store.kind !== 'sqlite';
  const { executors, pools } = buildExecutors(config.executors, {
    localName: nodeScoped && role !== 'api' ? nodeExecutor('local', config.node.name) : undefined,
    local: {
      pythonInterpreter: config.python.interpreter ?? defaultPython(),
      scriptRoots: [...config.script_roots],
      dataRoots: [...config.data_roots],
      runtimesDir: join(PACKAGE_ROOT, 'runtimes'),
      maxLogLineBytes: config.tasks.max_log_line_bytes,
      advertiseHost: config.node.advertise_host,
      apiUrl: () => apiUrl,
      logger,
      // Stable across restarts of this database: the next start finds this one's orphans by it.
      owner: storeHash,
      workDir: config.executors.local.work_dirs ? (taskId) => artifacts.stagingDir(taskId) : undefined,
      taskToken: (taskId, attempt) => tokens.mint(taskId, attempt),
    },
    apiUrl: () => apiUrl,
    logger,
    reports: { reports, url: () => apiUrl, token: (taskId, attempt) => tokens.mint(taskId, attempt) },
    executorToken: (name) => tokens.mintExecutor(name),
  });
  const metrics = new MetricsRegistry();
  // A scheduler's HTTP takes no API-key requests: its buckets (never used) stay local, no Redis connection.
  const rateLimit = createRateLimit(config.auth, role === 'scheduler' ? { kind: 'memory' } : config.events, logger, metrics.registry);
  const engine = new Engine({
    config,
    store,
    bus,
    executors,
    pools,
    observer: metrics.observer,
    artifacts,
    schedule: role !== 'api',
    nodeScoped,
    // A SQLite file is this process's alone (its lock): a restart takes the executors at once.
    // A shared (PostgreSQL) store: other processes may own them; wait for their ownership to lapse.
    exclusiveStore: config.store.kind === 'sqlite',
    onError: (err, context) => logger.error({ err }, `engine: ${context}`),
  });
  const generation = new GenerationService({
    config: config.generation,
    tasks: engine,
    artifacts: engine.artifacts,
    uploads,
    executors: catalogExecutors(executors),
    scriptExists: (script) => {
      try {
        resolveScriptCached(script, config.script_roots);
        return true;
      } catch {
        return false;
      }
    },
  });

  const deployments = new DeploymentManager({
    tasks: engine,
    store: store.deployments,
    lake: (tenant) => lakes.of(tenant),
    defaults: config.serving.defaults,
    declared: config.serving.deployments,
    localExecutor: config.serving.executor,
    startupTimeoutS: config.serving.replica_startup_timeout_s,
    // `ray` deployments: Serve applications on the Ray executors' heads, reading the model from this server.
    rayExecutors: Object.fromEntries(Object.entries(config.executors).flatMap(([name, e]) => ('kind' in e && e.kind === 'ray' ? [[name, e]] : []))),
    apiUrl: () => apiUrl,
    serveAppDir: join(PACKAGE_ROOT, 'runtimes', 'serving'),
    modelReadToken: (claims) => tokens.mintModelRead(claims),
    gpuQuota: async (tenant) => (await engine.tenants.directory.fresh(tenant)).gpu_seconds_per_day,
    onError: (err, context) => logger.warn({ err }, `serving: ${context}`),
  });

  const sessions = new SessionManager({
    host: deployments.sessionHost(),
    maxSessions: config.serving.sessions.max_sessions,
    maxPendingChunks: config.serving.sessions.max_pending_chunks,
    idleTimeoutMs: config.serving.sessions.idle_timeout_s * 1000,
  });
  deployments.onDelete((tenant, name) => sessions.endDeployment(tenant, name));

  const app = await buildApp({
    surface: role === 'scheduler' ? 'scheduler' : 'full',
    tasks: engine,
    sessions,
    seed003: { host: deployments.seed003Host(), deployment: config.serving.seed003.deployment },
    deployments: { manager: deployments, maxPredictBytes: config.serving.max_predict_bytes },
    logger: logLevel === 'silent' ? false : { level: logLevel, stream: logs },
    requestLog: config.server.request_log,
    bodyLimit: config.server.body_limit_bytes,
    maxJsonDepth: config.server.max_json_depth,
    maxBatch: config.server.max_batch,
    metrics,
    lakes,
    maxUploadBytes: config.lake.max_upload_bytes,
    artifacts: engine.artifacts,
    generation,
    reports,
    uploads: new RemoteUploads(reports, artifacts),
    tokens,
    executors: describeExecutors(config.executors),
    nodeExecutors: nodeScoped ? store : undefined,
    evalResultsDir: join(config.state_dir, 'eval_results'),
    tenants: new TenantAdmin({ store, tenants: engine.tenants }),
    auth: { config: config.auth, stores: { keys: store.keys, audit: store.audit }, limiter: rateLimit.limiter, taskTenant: async (id) => (await store.get(id))?.tenant ?? null },
    // Ray executors in mode actors: their drivers poll for work
    drivers: (name) => {
      const executor = executors.get(name) as (Executor & Partial<PolledExecutor>) | undefined;
      return executor?.poll === undefined ? undefined : (executor as Executor & PolledExecutor);
    },
  });
  // Listening before recovery: a re-attach may need the cluster to reach this server (an actors
  // driver's next poll; a job's reports, answered 503 until its task is re-attached). /ready says
  // NOT_READY and nothing is dispatched (Engine holds its executors) until start() is done.
  await checkAuthBinding(config.auth, host, store.keys, logger);
  const address = await app.listen({ host, port });
  const url = address.replace('[::1]', '127.0.0.1');
  apiUrl = url;
  try {
    const { recovered } = await engine.start();
    if (recovered) logger.warn({ recovered }, 'recovered tasks left running by a previous server');
    await deployments.start();
  } catch (err) {
    await app.close();
    throw err;
  }

  // The seed's Redis progress streams, read once the engine follows its tasks again. A consumer
  // name stable for this database: a restarted server re-reads at once what it had read and not acked.
  const consumer = storeHash === undefined ? undefined : `${hostname()}-${storeHash}`;
  const progressStreams = config.progress_streams.map(
    (p) =>
      new RedisProgressStream({
        url: p.url,
        streams: [p.stream],
        group: p.group,
        consumer,
        claimIdleMs: p.claim_idle_ms,
        onEntry: (entry) => engine.progressEntry(entry, p.result_grace_ms),
        onError: (err, context) => logger.warn({ err }, context),
      }),
  );
  for (const s of progressStreams) s.start();
  metrics.setServingSource(() => deployments.all());
  metrics.setProgressStreamSource(() => sumStats(progressStreams.map((s) => s.stats())));

  const examples = opts.examples ? { ingestion: await ingestExamples(engine, lakeService, logger) } : undefined;

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      await app.close();
      await rateLimit.close();
      await Promise.all(progressStreams.map((s) => s.stop()));
      await generation.close();
      sessions.close();
      await deployments.close();
      await engine.stop();
      for (const executor of executors.values()) await executor.close();
      lakeService.close();
      await lakes.close();
      await bus.close();
      await invalidations?.close();
      await store.close();
      await lineage.close();
      await lake.close();
      releaseStore?.();
    })());
  return { url, engine, reports, tokens, lake: lakeService, close, examples };
}
