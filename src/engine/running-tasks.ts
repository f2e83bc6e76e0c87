/**
 * The tasks this instance runs, from their claim's commit until their settle, and how each is
 * stopped: a user cancel, a timeout, or a graceful shutdown. Every stop goes through the
 * executor's cancel (SIGTERM to the task's process, then its own grace period, see
 * Executor.cancel); the flags recorded
 * here decide how the attempt ends once the executor reports the process gone (settlement.ts).
 */
import type { Task } from '../domain/task.ts';
import type { Executor, RunOutcome } from '../executors/executor.ts';
import type { Fence } from '../store/task-store.ts';
import type { RunFlags } from './settlement.ts';

export interface Running extends RunFlags {
  task: Task;
  executor: Executor;
  /** The ownership it was claimed (or adopted) under: every write for it carries this fence. */
  fence: Fence;
  startedAt: number;
  timer: NodeJS.Timeout | null;
  /**
   * The run's exit callback (launch.ts), for an outcome reported besides the executor: the
   * seed's Redis progress stream (seed-progress.ts). The first exit settles, later ones are ignored.
   */
  exit?: (outcome: RunOutcome) => void;
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

  /** The ids of the runs, grouped by the fence they run under (lease renewals, one per group). */
  byFence(): Map<Fence, string[]> {
    const out = new Map<Fence, string[]>();
    for (const [id, run] of this.runs) {
      const ids = out.get(run.fence);
      if (ids) ids.push(id);
      else out.set(run.fence, [id]);
    }
    return out;
  }

  has(id: string): boolean {
    return this.runs.has(id);
  }

  get(id: string): Running | undefined {
    return this.runs.get(id);
  }

  /** A claimed task: known here from now on (its launch follows in the same turn). */
  add(task: Task, executor: Executor, fence: Fence, now: number): Running {
    const run: Running = { task, executor, fence, startedAt: now, cancelRequested: false, timedOut: false, shutdown: false, timer: null };
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

  /**
   * This instance lost the executor's ownership: forget its runs without stopping them (the new
   * owner follows them through re-attach). Their later exits find nothing here to settle.
   */
  forget(executor: string): Running[] {
    const gone = [...this.runs.values()].filter((r) => r.executor.name === executor);
    for (const run of gone) {
      this.take(run.task.id);
      this.pendingCancels.delete(run.task.id);
    }
    return gone;
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
