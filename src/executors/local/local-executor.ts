/**
 * The local executor: runs each task as a harness process on this machine, cold (a fresh
 * `--once` process) or in a warm pool. GPUs are handed to a task only through
 * CUDA_VISIBLE_DEVICES, which is always set, to "" when the task got none, so a task never
 * sees a device the engine did not give it.
 */
import os from 'node:os';
import path from 'node:path';
import type { LocalExecutorConfig } from '../../config/schema.ts';
import { LakerayError, taskError, type TaskError } from '../../domain/errors.ts';
import type { Resources } from '../../domain/resources.ts';
import type { Task } from '../../domain/task.ts';
import { resolveScriptCached, scriptRuntime, withBuiltinScriptRoots, type ScriptRuntime } from '../../runtime/paths.ts';
import { ENV, runLine, type Job } from '../../runtime/protocol.ts';
import type { ServiceEndpoint, ServiceSpec } from '../../domain/service.ts';
import type { Executor, ExecutorSettings, Reattached, RunCallbacks } from '../executor.ts';
import { ColdRun } from './cold-run.ts';
import { jobFor } from './job.ts';
import { killOrphans, OWNER_ENV } from './orphans.ts';
import { ServiceRun } from './service-run.ts';
import { TaskRun, type LogLimits } from './task-run.ts';
import { WarmPool, type PoolStats } from './warm-pool.ts';

type Logger = { warn(o: unknown, msg?: string): void; info(o: unknown, msg?: string): void };

export interface LocalExecutorOptions {
  name?: string;
  config: LocalExecutorConfig;
  pythonInterpreter: string;
  nodeInterpreter?: string;
  scriptRoots: string[];
  dataRoots: string[];
  /** The repository's runtimes/ directory (runtimes/python, runtimes/node). */
  runtimesDir: string;
  /**
   * The platform's URL as tasks see it (LAKERAY_API_URL: lake reads and writes). A function,
   * because the server learns its port only once it listens.
   */
  apiUrl?: string | (() => string | undefined);
  logger?: Logger;
  maxLogLineBytes?: number;
  /** How other nodes reach this one (config node.advertise_host): a service's reported URL uses it. */
  advertiseHost?: string;
  /**
   * Marks every harness process this executor starts (env LAKERAY_OWNER), stable across
   * restarts (e.g. derived from the database path). At start, `reattach` kills any
   * process still carrying it: left by a previous server, whatever the store recorded.
   */
  owner?: string;
  /**
   * The task's work dir (LAKERAY_WORK_DIR): the harness creates it before run() and removes
   * it after, unless the job reported an artifact (then the engine does, once the files are in
   * the artifact store). Unset: no work dir.
   */
  workDir?: (taskId: string) => string;
  /** Mints the task's token (LAKERAY_TASK_TOKEN): its reports, uploads and lake calls over HTTP. */
  taskToken?: (taskId: string, attempt: number) => string;
}

/**
 * Where a task runs: in a warm pool, in its own cold process, or (a service task) under a
 * supervisor that restarts its process. (Plain data: no closures per task.)
 */
type Placement = WarmPool | ServiceRun | { cold: ColdRun; run: TaskRun };

const DEFAULT_MAX_LOG_LINE_BYTES = 16 * 1024;

const inventoryOf = (gpus: LocalExecutorConfig['gpus']): string[] =>
  typeof gpus === 'number' ? Array.from({ length: gpus }, (_, i) => String(i)) : [...gpus];

const failure = (err: unknown): TaskError =>
  err instanceof LakerayError ? { code: err.code, message: err.message } : taskError('EXECUTOR_ERROR', String(err));

export class LocalExecutor implements Executor {
  readonly name: string;
  readonly kind = 'local';
  readonly settings: ExecutorSettings;
  readonly capacity: Resources;
  readonly gpuInventory: readonly string[];
  private readonly pools = new Map<string, WarmPool>();
  private readonly placements = new Map<string, Placement>();
  private readonly coldExits = new Set<Promise<unknown>>();
  private roomListener: () => void = () => {};
  private readonly maxLogLineBytes: number;
  private readonly limits: LogLimits;
  private closing = false;

  private readonly ownerEnv: Record<string, string>;
  /** The configured roots, then the platform's own scripts (the serving replica). */
  private readonly scriptRoots: string[];

  constructor(private readonly opts: LocalExecutorOptions) {
    const { config } = opts;
    this.scriptRoots = withBuiltinScriptRoots(opts.scriptRoots);
    this.ownerEnv = opts.owner === undefined ? {} : { [OWNER_ENV]: opts.owner };
    this.name = opts.name ?? 'local';
    this.settings = { graceMs: config.kill_grace_ms };
    this.gpuInventory = Object.freeze(inventoryOf(config.gpus));
    this.capacity = {
      cpu: config.cpu ?? os.cpus().length,
      memory_mb: config.memory_mb ?? Math.floor((os.totalmem() / (1024 * 1024)) * 0.8),
      gpu: this.gpuInventory.length,
      custom: { ...config.custom },
    };
    this.maxLogLineBytes = opts.maxLogLineBytes ?? DEFAULT_MAX_LOG_LINE_BYTES;
    this.limits = { maxLineBytes: this.maxLogLineBytes, maxLogBytes: config.max_log_bytes };
    for (const pool of config.pools) {
      if (this.pools.has(pool.name)) throw new LakerayError('INVALID_REQUEST', `pool "${pool.name}" is configured twice`);
      const interpreter = pool.runtime === 'python' ? opts.pythonInterpreter : (opts.nodeInterpreter ?? process.execPath);
      this.pools.set(pool.name, new WarmPool(pool, {
        interpreter,
        runtimesDir: opts.runtimesDir,
        cwd: process.cwd(),
        maxLogLineBytes: this.maxLogLineBytes,
        logger: opts.logger,
        env: this.ownerEnv,
        passEnv: config.pass_env,
        nice: config.nice,
        room: () => this.roomListener(),
      }));
    }
    for (const [runtime, name] of Object.entries(config.default_pools)) {
      if (name !== undefined && this.pools.get(name)?.config.runtime !== runtime) {
        throw new LakerayError('INVALID_REQUEST', `default pool "${name}" for ${runtime} is not a configured ${runtime} pool`);
      }
    }
  }

  /**
   * Room in a warm pool: a free slot of a ready worker (see WarmPool.reserve). Everything else
   * has room: a cold run or a service gets a process of its own in run(), and a task run() will
   * refuse (unknown pool, wrong runtime, closing) is let through to fail there at once.
   */
  reserve(task: Task, gpus: readonly string[]): boolean {
    if (this.closing || task.service !== null) return true;
    const runtime = scriptRuntime(task.script);
    const name = task.pool ?? (runtime === null ? undefined : this.opts.config.default_pools[runtime]);
    const pool = name === undefined ? undefined : this.pools.get(name);
    if (pool === undefined || pool.config.runtime !== runtime) return true;
    return pool.reserve(task.id, gpus.join(','), task.tenant);
  }

  /** Rare (a claim lost its CAS, or run() failed the task first): every pool forgets the task's slot. */
  unreserve(taskId: string): void {
    for (const pool of this.pools.values()) pool.unreserve(taskId);
  }

  onRoom(listener: () => void): void {
    this.roomListener = listener;
  }

  run(task: Task, gpus: readonly string[], callbacks: RunCallbacks): void {
    // A pool takes the task in the slot reserved for it (it finds the reservation by the
    // task's id); a task no pool took (a cold run, or one that failed first) held none, or
    // gives it back.
    if (this.start(task, gpus, callbacks) === undefined && this.pools.size > 0) this.unreserve(task.id);
  }

  /** Places the task; returns the pool it was given to, if any. */
  private start(task: Task, gpus: readonly string[], callbacks: RunCallbacks): WarmPool | undefined {
    if (this.closing) return this.failLater(task, callbacks, taskError('EXECUTOR_ERROR', `executor ${this.name} is closing`));
    if (this.placements.has(task.id)) {
      return this.failLater(task, callbacks, taskError('EXECUTOR_ERROR', `task ${task.id} is already running here`));
    }

    let job: Job;
    let line: string;
    let runtime: ScriptRuntime;
    let pool: WarmPool | undefined;
    try {
      // Checked again at run time (the file system may have changed since submit), but at most
      // once a second per script: see resolveScriptCached.
      const script = resolveScriptCached(task.script, this.scriptRoots);
      runtime = this.runtimeOf(script);
      // A service's run() never returns: it never takes a warm worker.
      pool = task.service === null ? this.poolFor(task, runtime) : undefined;
      const apiUrl = typeof this.opts.apiUrl === 'function' ? this.opts.apiUrl() : this.opts.apiUrl;
      job = jobFor(task, script, gpus, { dataRoots: this.opts.dataRoots, apiUrl, workDir: this.opts.workDir, taskToken: this.opts.taskToken });
    } catch (err) {
      return this.failLater(task, callbacks, failure(err));
    }
    try {
      line = runLine(job); // a service's incarnations add only params.port to it
    } catch (err) {
      return this.failLater(task, callbacks, taskError('JOB_UNREADABLE', `the task's job cannot be encoded for its harness (params nested too deeply?): ${String(err)}`));
    }
    if (task.service !== null) return void this.runService(task, task.service, runtime, job, callbacks);

    // Placed from here on: its exit releases the placement.
    const run = new TaskRun(task.id, callbacks, this.limits, this.release);
    if (pool !== undefined) {
      this.placements.set(task.id, pool);
      pool.submit({ job, line, run, gpuKey: job.env[ENV.CUDA] ?? '', tenant: task.tenant });
      return pool;
    }
    const cold = this.startCold(runtime, job, line, run);
    this.placements.set(task.id, { cold, run });
    return undefined;
  }

  cancel(taskId: string, graceMs = this.settings.graceMs): void {
    const placement = this.placements.get(taskId);
    if (placement instanceof WarmPool) placement.cancel(taskId, graceMs);
    else if (placement instanceof ServiceRun) placement.cancel(graceMs);
    else placement?.cold.cancel(placement.run, graceMs);
  }

  serviceEndpoint(taskId: string): ServiceEndpoint | null {
    const placement = this.placements.get(taskId);
    return placement instanceof ServiceRun ? placement.endpoint() : null;
  }

  /** The process that runs the task now (a cold run's, a service's or its warm worker's), if any. */
  pidOf(taskId: string): number | undefined {
    const placement = this.placements.get(taskId);
    if (placement instanceof WarmPool) return placement.pidOf(taskId);
    return placement instanceof ServiceRun ? placement.pid : placement?.cold.pid;
  }

  /**
   * A local process does not outlive its server's pipes usefully (its events went to a pipe
   * nobody reads now): whatever a previous instance left is killed, and every task is gone.
   */
  async reattach(tasks: readonly Task[]): Promise<Map<string, Reattached>> {
    // Never our own live processes, whatever the store says.
    const ours = new Set([...this.placements.values()].map((p) => (p instanceof WarmPool ? undefined : p instanceof ServiceRun ? p.pid : p.cold.pid)));
    for (const pool of this.pools.values()) for (const pid of pool.pids()) ours.add(pid);
    await killOrphans({ tasks, owner: this.opts.owner, ours, logger: this.opts.logger });
    return new Map(tasks.map((t) => [t.id, { state: 'gone', reason: 'its process was left by a previous server instance and killed' }]));
  }

  /** Start every pool's `min` workers; resolves when they are ready (or failed to start). */
  async prewarm(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.prewarm()));
  }

  poolStats(): PoolStats[] {
    return [...this.pools.values()].map((p) => p.stats());
  }

  async close(): Promise<void> {
    this.closing = true;
    const grace = this.settings.graceMs;
    for (const taskId of [...this.placements.keys()]) this.cancel(taskId, grace);
    await Promise.all([...[...this.pools.values()].map((p) => p.close(grace)), ...this.coldExits]);
  }

  /** A fresh `--once` harness for one job (a cold task, or one incarnation of a service). */
  private startCold(runtime: ScriptRuntime, job: Job, line: string, run: TaskRun): ColdRun {
    const cold = new ColdRun({
      id: 'cold',
      runtime,
      interpreter: runtime === 'python' ? this.opts.pythonInterpreter : (this.opts.nodeInterpreter ?? process.execPath),
      runtimesDir: this.opts.runtimesDir,
      preload: [],
      once: true,
      concurrency: 1,
      cwd: path.dirname(job.script),
      env: { ...job.env, ...this.ownerEnv }, // set from the first instruction on, not only once the job is read
      passEnv: this.opts.config.pass_env,
      nice: this.opts.config.nice,
    }, job, line, run, this.maxLogLineBytes);
    const exited = cold.exited.finally(() => this.coldExits.delete(exited));
    this.coldExits.add(exited);
    return cold;
  }

  /**
   * A service task: a supervisor (service-run.ts) allocates its port and runs it as cold
   * processes, one after another on that port, restarting per the task's policy. The script
   * gets the port as params.port and in PORT / LAKERAY_SERVICE_PORT; the stored params stay
   * as submitted.
   */
  private runService(task: Task, spec: ServiceSpec, runtime: ScriptRuntime, job: Job, callbacks: RunCallbacks): void {
    const service = new ServiceRun({
      taskId: task.id,
      spec,
      callbacks,
      limits: this.limits,
      graceMs: this.opts.config.kill_grace_ms,
      onFinish: this.release,
      advertiseHost: this.opts.advertiseHost,
      launch: (port, run) => {
        const env = { ...job.env, PORT: String(port), [ENV.SERVICE_PORT]: String(port) };
        const incarnation = { ...job, params: { ...job.params, port }, env };
        return this.startCold(runtime, incarnation, runLine(incarnation), run);
      },
    });
    this.placements.set(task.id, service);
    const done = service.done.finally(() => this.coldExits.delete(done));
    this.coldExits.add(done);
    service.start();
  }

  /** A task's run is over (TaskRun calls this once, right before its exit callback). */
  private readonly release = (taskId: string): void => {
    this.placements.delete(taskId);
  };

  /**
   * A failure before any process exists is still reported asynchronously, like every exit. It
   * has no placement to release (a duplicate's must not release the running task's).
   */
  private failLater(task: Task, callbacks: RunCallbacks, error: TaskError): undefined {
    const run = new TaskRun(task.id, callbacks, this.limits);
    setImmediate(() => run.finish({ kind: 'failed', error }));
    return undefined;
  }

  private runtimeOf(script: string): ScriptRuntime {
    const runtime = scriptRuntime(script);
    if (runtime === null) {
      throw new LakerayError('INVALID_REQUEST', `no runtime runs "${path.basename(script)}" (use .py, .js, .mjs, .ts or .mts)`);
    }
    return runtime;
  }

  private poolFor(task: Task, runtime: ScriptRuntime): WarmPool | undefined {
    const name = task.pool ?? this.opts.config.default_pools[runtime];
    if (name === undefined || name === null) return undefined;
    const pool = this.pools.get(name);
    if (pool === undefined) throw new LakerayError('INVALID_REQUEST', `no pool named "${name}" on executor ${this.name}`);
    if (pool.config.runtime !== runtime) {
      throw new LakerayError('INVALID_REQUEST', `pool "${name}" runs ${pool.config.runtime} scripts, not ${runtime}`);
    }
    return pool;
  }
}
