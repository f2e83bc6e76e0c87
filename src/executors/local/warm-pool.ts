/**
 * A warm pool: between `min` and `max` harness processes of one runtime, started with the
 * pool's preload (e.g. `import torch`) and reused task after task, so a task skips interpreter
 * start-up and heavy imports. Idle workers retire after `idle_timeout_s` down to `min`
 * (min 0 scales to zero).
 *
 * Admission: the engine claims a task for a pool only once `reserve` found it a free slot of a
 * ready worker (and holds that slot until `submit` or `unreserve`), so a task never waits for a
 * worker while it is `running`. A refused reservation is demand: the pool starts workers for
 * it (up to `max`) and calls `room` once one is ready. While the pool cannot start a worker at
 * all (a failing preload, a missing interpreter), reservations are let through, so tasks fail
 * at once with the start error rather than wait in the queue for a worker that never comes.
 * Jobs submitted without a reservation (or whose reserved worker died meanwhile) wait in FIFO
 * order for a worker.
 *
 * Tenant binding: a worker runs one tenant's jobs for its whole life (worker-choice.ts); at
 * `max`, an idle worker of another tenant is retired to make room, like one pinned elsewhere.
 *
 * GPU binding: a Python process that initialized CUDA keeps the devices it saw, whatever
 * CUDA_VISIBLE_DEVICES says later. Such a worker is pinned to that device set and only gets
 * jobs with the same set; an idle worker pinned elsewhere is retired to make room.
 */
import path from 'node:path';
import { taskError } from '../../domain/errors.ts';
import type { PoolConfig } from '../../config/schema.ts';
import type { HarnessExit } from './harness-process.ts';
import { PoolWorker, type WorkerJob } from './pool-worker.ts';
import { boundElsewhere, pickWorker } from './worker-choice.ts';

export interface PoolStats {
  pool: string;
  runtime: PoolConfig['runtime'];
  workers: number;
  busy: number;
  idle: number;
  starting: number;
  queued: number;
  started_total: number;
  retired_total: number;
  jobs_total: number;
  /** Job written to the worker's stdin → `started` received, last and mean over the pool's life. */
  dispatch_ms_last: number | null;
  dispatch_ms_mean: number | null;
}

export interface PoolDeps {
  interpreter: string;
  runtimesDir: string;
  /** Workers start here; each job then runs in its script's directory. */
  cwd: string;
  maxLogLineBytes: number;
  logger?: { warn(o: unknown, msg?: string): void; info(o: unknown, msg?: string): void };
  /** Extra environment of every worker (the owner marker). */
  env?: Record<string, string>;
  /** Names of the server's environment workers may see besides the allowlist (task-env.ts). */
  passEnv?: readonly string[];
  /** CPU priority of the workers (config `nice`). */
  nice?: number;
  /** Called when a worker became ready, or could not start: room for refused reservations. */
  room?: () => void;
}

export class WarmPool {
  private readonly workers = new Set<PoolWorker>();
  private readonly queue: WorkerJob[] = [];
  /** Task id → the worker whose slot is held for it. */
  private readonly reservations = new Map<string, PoolWorker>();
  /** Reservations refused in this event-loop turn: the workers they want. */
  private wanted = 0;
  /** Why the last worker could not start; null once one is ready. */
  private startFailure: string | null = null;
  private closing = false;
  private seq = 0;
  private startedTotal = 0;
  private retiredTotal = 0;
  private jobsTotal = 0;
  private dispatchLast: number | null = null;
  private dispatchSum = 0;
  private dispatchCount = 0;

  constructor(
    readonly config: PoolConfig,
    private readonly deps: PoolDeps,
  ) {}

  get name(): string {
    return this.config.name;
  }

  /** Holds a free slot of a ready worker for the task; false (and demand for a worker) when there is none. */
  reserve(taskId: string, gpuKey: string, tenant: string): boolean {
    if (this.closing) return true; // submit() fails it at once
    const worker = pickWorker(this.workers, gpuKey, tenant, true);
    if (worker !== undefined) {
      worker.reserved += 1;
      worker.tenant = tenant; // held for this tenant: no other tenant's job may take the slot meanwhile
      this.reservations.set(taskId, worker);
      return true;
    }
    if (this.startFailure !== null) return true; // no worker can start: the job fails at once
    this.want(gpuKey, tenant);
    return false;
  }

  unreserve(taskId: string): void {
    const worker = this.reservations.get(taskId);
    if (worker === undefined) return;
    this.reservations.delete(taskId);
    worker.reserved -= 1;
    if (!worker.ranJob && worker.reserved === 0 && worker.jobs.size === 0) worker.tenant = null; // it never ran the tenant's code
    if (worker.usable && worker.jobs.size === 0 && worker.reserved === 0) this.scheduleIdle(worker);
  }

  submit(wj: WorkerJob): void {
    const worker = this.reservations.get(wj.job.task_id);
    if (worker !== undefined) {
      this.reservations.delete(wj.job.task_id);
      worker.reserved -= 1;
    }
    if (this.closing) {
      setImmediate(() => wj.run.finish({ kind: 'failed', error: taskError('EXECUTOR_ERROR', `pool ${this.name} is closing`) }));
      return;
    }
    this.jobsTotal += 1;
    if (worker !== undefined && worker.usable && worker.state === 'ready') return worker.assign(wj);
    this.queue.push(wj);
    this.drain();
  }

  /** True when the task belongs to this pool (queued or on a worker). */
  cancel(taskId: string, graceMs: number): boolean {
    const queued = this.queue.findIndex((wj) => wj.job.task_id === taskId);
    if (queued !== -1) {
      const [wj] = this.queue.splice(queued, 1) as [WorkerJob];
      wj.run.cancelRequested = true;
      setImmediate(() => wj.run.finish({ kind: 'cancelled' })); // no process was ever started for it
      return true;
    }
    for (const worker of this.workers) {
      if (worker.jobs.has(taskId)) {
        worker.cancel(taskId, graceMs);
        return true;
      }
    }
    return false;
  }

  /** Start workers up to `min` and wait until they are ready (or failed). */
  async prewarm(): Promise<void> {
    const live = (): number => [...this.workers].filter((w) => w.state !== 'stopping').length;
    while (!this.closing && live() < this.config.min) this.spawn();
    await Promise.all([...this.workers].filter((w) => w.state === 'starting').map((w) => w.settled));
  }

  /** Stop everything: queued jobs are cancelled, running ones cancelled by signal, idle workers retired. */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    for (const wj of this.queue.splice(0)) {
      wj.run.cancelRequested = true;
      wj.run.finish({ kind: 'cancelled' });
    }
    const exits = [...this.workers].map((w) => w.proc.exited);
    for (const worker of this.workers) {
      if (worker.jobs.size === 0) worker.retire();
      else for (const taskId of [...worker.jobs.keys()]) worker.cancel(taskId, graceMs);
    }
    await Promise.all(exits);
  }

  /** The process of the worker that runs the task now, if one does. */
  pidOf(taskId: string): number | undefined {
    for (const worker of this.workers) if (worker.jobs.has(taskId)) return worker.proc.pid;
    return undefined;
  }

  /** Process ids of this pool's workers. */
  pids(): number[] {
    return [...this.workers].map((w) => w.proc.pid).filter((pid): pid is number => pid !== undefined);
  }

  stats(): PoolStats {
    const ws = [...this.workers];
    return {
      pool: this.name,
      runtime: this.config.runtime,
      workers: ws.length,
      busy: ws.filter((w) => w.jobs.size > 0).length,
      idle: ws.filter((w) => w.state === 'ready' && w.jobs.size === 0).length,
      starting: ws.filter((w) => w.state === 'starting').length,
      queued: this.queue.length,
      started_total: this.startedTotal,
      retired_total: this.retiredTotal,
      jobs_total: this.jobsTotal,
      dispatch_ms_last: this.dispatchLast,
      dispatch_ms_mean: this.dispatchCount > 0 ? this.dispatchSum / this.dispatchCount : null,
    };
  }

  /** Give queued jobs to free workers, in order, starting workers while below `max`. */
  private drain(): void {
    while (this.queue.length > 0 && !this.closing) {
      const head = this.queue[0] as WorkerJob;
      const worker = pickWorker(this.workers, head.gpuKey, head.tenant, false) ?? (this.workers.size < this.config.max ? this.spawn() : undefined);
      if (worker === undefined) {
        // Full. An idle worker bound to other GPUs or another tenant cannot take the head job: replace it.
        for (const w of this.workers) {
          if (w.usable && w.jobs.size === 0 && w.reserved === 0 && boundElsewhere(w, head.gpuKey, head.tenant)) {
            w.retire(); // its exit calls drain() again
            break;
          }
        }
        return;
      }
      this.queue.shift();
      worker.assign(head);
    }
  }

  /**
   * A reservation found no slot: start workers for the slots wanted in this turn (those
   * already starting count), up to `max`. At `max`, an idle worker bound to other GPUs is
   * retired to make room (its exit calls `room`, and the dispatcher asks again).
   */
  private want(gpuKey: string, tenant: string): void {
    if (this.wanted === 0) setImmediate(() => (this.wanted = 0));
    this.wanted += 1;
    let starting = 0;
    for (const w of this.workers) if (w.state === 'starting' && w.usable) starting += w.concurrency;
    while (starting < this.wanted && this.workers.size < this.config.max && !this.closing) starting += this.spawn().concurrency;
    if (starting >= this.wanted || this.workers.size < this.config.max) return;
    for (const w of this.workers) {
      if (w.usable && w.jobs.size === 0 && w.reserved === 0 && boundElsewhere(w, gpuKey, tenant)) return w.retire();
    }
  }

  private spawn(): PoolWorker {
    this.seq += 1;
    this.startedTotal += 1;
    const { config, deps } = this;
    const id = `${config.name}-${this.seq}`;
    const spec = {
      id,
      runtime: config.runtime,
      interpreter: config.interpreter ?? deps.interpreter,
      runtimesDir: deps.runtimesDir,
      preload: config.preload,
      once: false,
      concurrency: config.runtime === 'node' ? config.concurrency : 1,
      cwd: path.resolve(deps.cwd),
      // No devices until a job brings its own: a preload that touches CUDA must not grab them all.
      env: { ...deps.env, CUDA_VISIBLE_DEVICES: '' },
      passEnv: deps.passEnv,
      nice: deps.nice,
    };
    const worker = new PoolWorker(id, spec, deps.maxLogLineBytes, {
      ready: (w) => {
        this.startFailure = null;
        if (w.jobs.size === 0) this.scheduleIdle(w);
        deps.room?.();
      },
      jobDone: (w, wj) => this.onJobDone(w, wj),
      exited: (w, exit) => this.onExit(w, exit),
      dispatched: (ms) => {
        this.dispatchLast = ms;
        this.dispatchSum += ms;
        this.dispatchCount += 1;
      },
      output: (w, stream, line) => deps.logger?.info({ worker: w.id, stream, line }, 'output from a worker with no single job'),
    });
    this.workers.add(worker);
    return worker;
  }

  private onJobDone(worker: PoolWorker, wj: WorkerJob): void {
    wj.run.finish(wj.run.outcomeAtDone());
    if (worker.usable && worker.jobs.size === 0) this.scheduleIdle(worker);
    this.drain();
  }

  private onExit(worker: PoolWorker, exit: HarnessExit): void {
    this.workers.delete(worker);
    if (worker.retiring) this.retiredTotal += 1;
    else if (!this.closing) {
      this.deps.logger?.warn({ pool: this.name, worker: worker.id, pid: worker.proc.pid, ...exit }, 'pool worker exited');
    }
    if (!worker.everReady && !worker.retiring && !worker.discard && !this.closing) {
      this.startFailure = exit.spawnError ?? `exit code ${exit.code ?? exit.signal}`;
    }
    const live = [...this.workers].filter((w) => w.state !== 'stopping').length;
    // Replace only workers that once started fine: a broken preload must not loop forever.
    if (!this.closing && worker.everReady && live < this.config.min) this.spawn();
    this.drain();
    if (!this.closing) this.deps.room?.();
  }

  /**
   * The worker just became idle. One timer per worker, not one per job: it is armed when none
   * is, and when it fires it checks how long the worker has been idle (it may have run jobs in
   * between) and waits for the rest of the timeout if need be.
   */
  private scheduleIdle(worker: PoolWorker): void {
    worker.idleSince = Date.now();
    if (worker.idleTimer !== undefined) return;
    const timeoutMs = this.config.idle_timeout_s * 1000;
    const arm = (ms: number): void => {
      worker.idleTimer = setTimeout(check, ms);
      worker.idleTimer.unref();
    };
    const check = (): void => {
      worker.idleTimer = undefined;
      if (!worker.usable || worker.jobs.size > 0 || worker.reserved > 0) return; // busy: armed again when it is idle
      const idleFor = Date.now() - worker.idleSince;
      if (idleFor < timeoutMs) return arm(timeoutMs - idleFor);
      let live = 0;
      for (const w of this.workers) if (w.usable) live += 1;
      if (live > this.config.min) worker.retire();
    };
    arm(timeoutMs);
  }
}
