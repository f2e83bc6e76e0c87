/**
 * The tasks this instance runs, from their claim's commit until their settle, and how each is
 * stopped: a user cancel, a timeout, or a graceful shutdown. Every stop goes through the
 * executor's cancel (SIGTERM to the task's process, then its own grace period, see
 * Executor.cancel); the flags recorded
 * here decide how the attempt ends once the executor reports the process gone (settlement.ts).
 */
import type { Task } from '../domain/task.ts';
import type { Executor } from '../executors/executor.ts';
import type { RunFlags } from './settlement.ts';

export interface Running extends RunFlags {
  task: Task;
  executor: Executor;
  startedAt: number;
  timer: NodeJS.Timeout | null;
}

export class RunningTasks {
  private readonly runs = new Map<string, Running>();
  /** Cancels that arrived between a task's claim and its launch. */
  private readonly pendingCancels = new Set<string>();

  get size(): number {
    return this.runs.size;
  }

  ids(): string[] {
    return [...this.runs.keys()];
  }

  has(id: string): boolean {
    return this.runs.has(id);
  }

  get(id: string): Running | undefined {
    return this.runs.get(id);
  }

  /** A claimed task: known here from now on (its launch follows in the same turn). */
  add(task: Task, executor: Executor, now: number): Running {
    const run: Running = { task, executor, startedAt: now, cancelRequested: false, timedOut: false, shutdown: false, timer: null };
    this.runs.set(task.id, run);
    return run;
  }

  /**
   * Right after the executor took the task: its timeout starts (less what it ran before, for
   * a task re-attached after a restart), and a cancel that came first applies.
   */
  launched(run: Running, ranMs = 0): void {
    if (run.task.timeout_s !== null) {
      run.timer = setTimeout(() => this.timeout(run), Math.max(0, run.task.timeout_s * 1000 - ranMs));
      run.timer.unref();
    }
    if (this.pendingCancels.delete(run.task.id)) this.cancel(run.task.id);
  }

  /** The process is gone: forget the run (its outcome is being settled). */
  take(id: string): Running | undefined {
    const run = this.runs.get(id);
    if (run === undefined) return undefined;
    this.runs.delete(id);
    if (run.timer) clearTimeout(run.timer);
    return run;
  }

  /**
   * A user cancel of a task that runs here (its CAS to cancelling already happened). False
   * when it is claimed but not launched yet: the cancel then applies right after launch.
   */
  cancel(id: string): boolean {
    const run = this.runs.get(id);
    if (!run) {
      this.pendingCancels.add(id);
      return false;
    }
    run.cancelRequested = true;
    run.executor.cancel(id);
    return true;
  }

  /** Graceful shutdown: stop every run; the ones not cancelled by a user go back to the queue. */
  stopAll(): Running[] {
    const all = [...this.runs.values()];
    for (const run of all) if (!run.cancelRequested) run.shutdown = true;
    for (const run of all) run.executor.cancel(run.task.id);
    return all;
  }

  private timeout(run: Running): void {
    run.timedOut = true;
    run.executor.cancel(run.task.id);
  }
}
