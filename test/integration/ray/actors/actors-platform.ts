/**
 * The Lakeray side an actors-mode executor needs, for tests without the engine: the real
 * driver-poll route and the real reports route (with the real RemoteReports hub and task
 * tokens) on an ephemeral port, for every RayActorsExecutor opened through it. Executors
 * opened under one name are instances of one server: the later one adopts the earlier's driver.
 */
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { registerErrorHandling } from '../../../../src/api/plugins/errors.ts';
import { driverPollRoutes } from '../../../../src/api/routes/driver-poll.ts';
import { reportRoutes } from '../../../../src/api/routes/reports.ts';
import { RayJobsClient } from '../../../../src/executors/ray/jobs-client.ts';
import { RemoteReports } from '../../../../src/engine/remote-reports.ts';
import { TaskTokens } from '../../../../src/engine/task-tokens.ts';
import { RayActorsExecutor, type RayActorsExecutorOptions } from '../../../../src/executors/ray/actors/ray-actors-executor.ts';
import type { ActorPoolConfig } from '../../../../src/executors/ray/actors/driver-job.ts';

const RUNTIMES = path.join(import.meta.dirname, '../../../../runtimes');

export const pool = (p: Partial<ActorPoolConfig> = {}): ActorPoolConfig => ({
  num_cpus: 0.1,
  num_gpus: 0,
  resources: {},
  min_actors: 1,
  max_actors: 2,
  idle_timeout_s: 60,
  preload: [],
  gang: 1,
  ...p,
});

export class ActorsPlatform {
  readonly tokens = new TaskTokens(Buffer.alloc(32, 3));
  /** the attempt of each task that may report (what the store would say) */
  readonly live = new Map<string, number>();
  readonly reports = new RemoteReports({
    tokens: this.tokens,
    task: async (id) => (this.live.has(id) ? { status: 'running', attempt: this.live.get(id)! } : null),
  });
  private readonly executors = new Map<string, RayActorsExecutor>();
  private readonly opened: RayActorsExecutor[] = [];
  private app!: FastifyInstance;
  url = '';

  constructor(private readonly address: string) {}

  async listen(): Promise<void> {
    this.app = Fastify({ forceCloseConnections: true });
    this.app.setValidatorCompiler(validatorCompiler);
    this.app.setSerializerCompiler(serializerCompiler);
    registerErrorHandling(this.app);
    await this.app.register(reportRoutes, { reports: this.reports });
    await this.app.register(driverPollRoutes, { tokens: this.tokens, drivers: (name) => this.executors.get(name) });
    this.url = await this.app.listen({ port: 0, host: '127.0.0.1' });
  }

  open(name: string, scriptRoots: string[], extra: Partial<RayActorsExecutorOptions> = {}): RayActorsExecutor {
    const ex = new RayActorsExecutor({
      name,
      address: this.address,
      pools: { py: pool() },
      scriptRoots,
      dataRoots: scriptRoots,
      runtimesDir: RUNTIMES,
      apiUrl: this.url,
      settings: { graceMs: 3000 },
      executorToken: this.tokens.mintExecutor(name),
      taskToken: (id, attempt) => {
        this.live.set(id, attempt);
        return this.tokens.mint(id, attempt);
      },
      reports: this.reports,
      pollWaitMs: 5_000,
      ...extra,
    });
    this.executors.set(name, ex);
    this.opened.push(ex);
    return ex;
  }

  /** Stops every driver opened here (they outlive their executors by design; an executor's client may be closed already) and the server. */
  async close(): Promise<void> {
    const ray = new RayJobsClient({ address: this.address });
    await Promise.all(this.opened.map((ex) => ex.close().catch(() => undefined))); // no replacement driver after this
    const names = new Set(this.opened.map((ex) => ex.name));
    const live = (await ray.list()).filter((j) => names.has(j.metadata?.lakeray_executor ?? '') && j.submission_id !== null && !['STOPPED', 'FAILED', 'SUCCEEDED'].includes(j.status));
    await Promise.all(live.map((j) => ray.stop(j.submission_id!).catch(() => false)));
    await ray.close();
    await this.app?.close();
  }
}

/**
 * An actors-mode executor whose driver (a real Ray job) is given a URL where nothing listens:
 * it never polls, so a test's own `poll()` calls are the only ones (made as the route makes
 * them). One pool, `py`, of 0.1-CPU actors.
 */
export const unpolledActorsExecutor = async (o: {
  name: string;
  address: string;
  scriptRoot: string;
  dataRoot: string;
  tokens: TaskTokens;
  reports: RemoteReports;
  maxActors: number;
  freePort: () => Promise<number>;
}): Promise<RayActorsExecutor> =>
  new RayActorsExecutor({
    name: o.name,
    address: o.address,
    pools: { py: pool({ min_actors: 1, max_actors: o.maxActors }) },
    scriptRoots: [o.scriptRoot],
    dataRoots: [o.dataRoot],
    runtimesDir: RUNTIMES,
    apiUrl: `http://127.0.0.1:${await o.freePort()}`,
    settings: { graceMs: 1000 },
    executorToken: o.tokens.mintExecutor(o.name),
    taskToken: (id, attempt) => o.tokens.mint(id, attempt),
    reports: o.reports,
    pollWaitMs: 50,
  });
