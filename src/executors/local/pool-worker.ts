/**
 * A warm-pool worker: one long-lived harness that runs job after job (several at once for
 * node pools with concurrency > 1). It routes harness messages to the job they name and the
 * process's stdout/stderr to its job when it has exactly one (otherwise the line cannot be
 * attributed and goes to the server log).
 *
 * Modes: starting → ready → (busy ⇄ idle) → stopping → exited. A worker that was cancelled
 * by signal or died is `discard`ed: its jobs finish when the process is gone, never at `done`.
 *
 * Cancelling one job (see cancel()) never fails another: with concurrency 1 the job is alone
 * in the process; with several, a job that outlives its grace period makes the worker
 * `draining` (it takes no new job), and the worker is killed only once every job left on it
 * is such an overdue cancelled one.
 */
import { performance } from 'node:perf_hooks';
import { taskError, type TaskError } from '../../domain/errors.ts';
import type { HarnessMessage, Job } from '../../runtime/protocol.ts';
import { HarnessProcess, type HarnessExit, type HarnessSpec, type OutputStream } from './harness-process.ts';
import type { TaskRun } from './task-run.ts';

export interface WorkerJob {
  job: Job;
  /** The job's run op, encoded once (runtime/protocol.ts runLine). */
  line: string;
  run: TaskRun;
  /** CUDA_VISIBLE_DEVICES of the job: a worker that initialized CUDA only takes the same set. */
  gpuKey: string;
  /** The task's tenant: a worker runs one tenant's jobs only, for its whole life. */
  tenant: string;
  sentAt?: number;
}

export interface WorkerHooks {
  jobDone(worker: PoolWorker, wj: WorkerJob): void;
  exited(worker: PoolWorker, exit: HarnessExit): void;
  ready(worker: PoolWorker): void;
  dispatched(ms: number): void;
  output(worker: PoolWorker, stream: OutputStream, line: string): void;
}

/** How long a retiring worker may take to leave after the exit op before it is terminated. */
const RETIRE_TIMEOUT_MS = 5000;

export class PoolWorker {
  state: 'starting' | 'ready' | 'stopping' = 'starting';
  readonly jobs = new Map<string, WorkerJob>();
  /** Slots held for tasks being claimed (WarmPool.reserve); their jobs arrive soon. */
  reserved = 0;
  /** Devices CUDA was initialized with in this process; null while it never was. */
  pinnedGpuKey: string | null = null;
  /**
   * The tenant whose jobs this worker runs; null until a slot is held or a job is given. A
   * process keeps what a script left in it (modules, globals, files it opened), so it never
   * passes from one tenant to another: bound once, for life (docs/security.md).
   */
  tenant: string | null = null;
  /** A job was given to the process: its binding to a tenant can no longer be undone. */
  ranJob = false;
  discard = false;
  retiring = false;
  everReady = false;
  lastUsed = 0;
  /** When the worker last became idle; the pool's idle timer (one per worker) reads it. */
  idleSince = 0;
  idleTimer: NodeJS.Timeout | undefined;
  readonly proc: HarnessProcess;
  /** Resolves once the worker is ready or has exited, whichever comes first. */
  readonly settled: Promise<void>;
  private markSettled!: () => void;
  private startError: TaskError | undefined;
  private readonly cancelTimers = new Map<string, NodeJS.Timeout>();
  /** Cancelled jobs still running past their grace period (concurrency > 1). */
  private readonly overdue = new Set<string>();
  /** Jobs whose `done` arrived in this turn, finished together in the next immediate. */
  private doneJobs: WorkerJob[] = [];

  constructor(
    readonly id: string,
    spec: HarnessSpec,
    maxLogLineBytes: number,
    private readonly hooks: WorkerHooks,
  ) {
    this.settled = new Promise((resolve) => {
      this.markSettled = resolve;
    });
    this.proc = new HarnessProcess(spec, { message: (m) => this.onMessage(m), output: (s, l, t) => this.onOutput(s, l, t) }, maxLogLineBytes);
    void this.proc.exited.then((exit) => this.onExit(exit));
  }

  get concurrency(): number {
    return this.proc.spec.concurrency;
  }

  get usable(): boolean {
    return this.state !== 'stopping' && !this.discard && this.overdue.size === 0 && this.proc.alive;
  }

  assign(wj: WorkerJob): void {
    if (this.tenant !== null && this.tenant !== wj.tenant) throw new Error(`worker ${this.id} belongs to another tenant`);
    this.tenant = wj.tenant;
    this.ranJob = true;
    this.jobs.set(wj.job.task_id, wj);
    wj.sentAt = performance.now();
    this.proc.sendLine(wj.line);
  }

  /**
   * Concurrency 1: SIGTERM the group (the script's finally blocks run), SIGKILL after the grace
   * period, never reuse the process. Concurrency > 1: the job's ctx.signal is aborted (cancel
   * op); a job still running after the grace period makes the worker drain (no new jobs), and
   * the worker is killed (SIGKILL to its group) once only such jobs are left on it, so the
   * other jobs finish first.
   */
  cancel(taskId: string, graceMs: number): void {
    const wj = this.jobs.get(taskId);
    if (wj === undefined) return;
    wj.run.cancelRequested = true;
    if (this.concurrency === 1) {
      this.discard = true;
      this.proc.terminate(graceMs);
      return;
    }
    this.proc.send({ op: 'cancel', task_id: taskId });
    if (this.cancelTimers.has(taskId)) return;
    const timer = setTimeout(() => {
      this.cancelTimers.delete(taskId);
      if (!this.jobs.has(taskId)) return;
      this.overdue.add(taskId);
      this.killIfOnlyOverdue();
    }, graceMs);
    timer.unref();
    this.cancelTimers.set(taskId, timer);
  }

  private killIfOnlyOverdue(): void {
    if (this.overdue.size === 0 || this.discard) return;
    for (const id of this.jobs.keys()) if (!this.overdue.has(id)) return;
    this.discard = true;
    this.proc.kill();
  }

  /** Leave politely (exit op); terminate if that takes too long. */
  retire(): void {
    if (this.state === 'stopping') return;
    this.state = 'stopping';
    this.retiring = true;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.proc.send({ op: 'exit' });
    setTimeout(() => this.proc.terminate(1000), RETIRE_TIMEOUT_MS).unref();
  }

  private where(): { pid: number | undefined; worker: string } {
    return { pid: this.proc.pid, worker: this.id };
  }

  private onMessage(msg: HarnessMessage): void {
    if (msg.type === 'ready') {
      if (this.state === 'starting') this.state = 'ready';
      this.everReady = true;
      this.markSettled();
      this.hooks.ready(this);
      return;
    }
    if (msg.type === 'error' && msg.task_id === '') {
      this.startError = taskError('EXECUTOR_ERROR', msg.message); // preload failed
      return;
    }
    const wj = this.jobs.get(msg.task_id);
    if (wj === undefined) return;
    if (msg.type === 'started' && wj.sentAt !== undefined) this.hooks.dispatched(performance.now() - wj.sentAt);
    if (msg.type !== 'done') {
      wj.run.onMessage(msg, this.where());
      return;
    }
    if (msg.cuda_initialized === true) this.pinnedGpuKey = wj.gpuKey;
    if (this.discard) return; // killed for a cancel: the job ends when the process is gone
    if (this.cancelTimers.size > 0) {
      clearTimeout(this.cancelTimers.get(msg.task_id));
      this.cancelTimers.delete(msg.task_id);
    }
    // The harness flushed stdout/stderr before `done`; let those bytes, already in the pipes,
    // be read and attributed to this job before it is finished. One immediate for all the
    // jobs that finished in this turn.
    this.doneJobs.push(wj);
    if (this.doneJobs.length === 1) setImmediate(this.finishDone);
  }

  private readonly finishDone = (): void => {
    const done = this.doneJobs;
    this.doneJobs = [];
    const now = Date.now();
    for (const wj of done) {
      if (!this.jobs.delete(wj.job.task_id)) continue;
      this.overdue.delete(wj.job.task_id);
      this.lastUsed = now;
      this.hooks.jobDone(this, wj);
    }
    this.killIfOnlyOverdue();
  };

  private onOutput(stream: OutputStream, line: string, truncated: boolean): void {
    const [only] = this.jobs.size === 1 ? this.jobs.values() : [];
    if (only !== undefined) only.run.onOutput(stream, line, truncated);
    else this.hooks.output(this, stream, line);
  }

  private onExit(exit: HarnessExit): void {
    this.state = 'stopping';
    this.markSettled();
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    for (const timer of this.cancelTimers.values()) clearTimeout(timer);
    for (const wj of this.jobs.values()) wj.run.finish(wj.run.outcomeAtExit(exit, this.proc.stderrTail(), this.startError));
    this.jobs.clear();
    this.hooks.exited(this, exit);
  }
}
