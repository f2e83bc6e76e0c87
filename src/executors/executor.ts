/**
 * Executor: runs one task somewhere (local processes, Ray, Kubernetes) and reports what
 * happens. The engine owns state; an executor only runs and reports, through callbacks:
 * `started` once the script's process is placed, `event` for progress/log/metric/artifact,
 * and `exit` exactly once when the task's process is gone and its slot is free.
 */
import type { TaskError } from '../domain/errors.ts';
import type { EventType } from '../domain/events.ts';
import type { Resources } from '../domain/resources.ts';
import type { ServiceEndpoint } from '../domain/service.ts';
import type { Task } from '../domain/task.ts';

export type RunOutcome =
  | { kind: 'succeeded'; result: unknown }
  | { kind: 'failed'; error: TaskError }
  | { kind: 'cancelled' };

export interface RunCallbacks {
  /** `worker` is a warm-pool worker's id, or "cold" for a process of its own. */
  started(info: { pid?: number; worker?: string; entered_at?: number }): void;
  event(type: Exclude<EventType, 'state' | 'result'>, data: Record<string, unknown>): void;
  exit(outcome: RunOutcome): void;
}

export interface Executor {
  readonly name: string;
  /** Total capacity; the engine's scheduler never admits beyond it. */
  readonly capacity: Resources;
  /** Concrete GPU device ids; capacity.gpu === gpuInventory.length. */
  readonly gpuInventory: readonly string[];
  /**
   * Room for the task's script in a process now, beyond resources (a free slot of a ready
   * warm-pool worker). The engine asks before it claims a task, so a task is `running` (and
   * has used an attempt) only once a process is there to run its script; a task with no room
   * stays `queued`. True holds that room for the task until `run` takes it or `unreserve`
   * gives it back. False: the executor makes room where it may (starts a worker) and calls
   * the `onRoom` listener once it has. Without this method every task has room (a process of
   * its own per task).
   */
  reserve?(task: Task, gpus: readonly string[]): boolean;
  /** Give back what `reserve` held (the task's claim failed). */
  unreserve?(taskId: string): void;
  /** The listener the executor calls when room appears that `reserve` had to refuse. */
  onRoom?(listener: () => void): void;
  /** Start the task's process. `gpus` are the devices the engine assigned (CUDA_VISIBLE_DEVICES). */
  run(task: Task, gpus: readonly string[], callbacks: RunCallbacks): void;
  /**
   * Stop a running task, and only it: SIGTERM to its process group, then SIGKILL after
   * `graceMs` (where a process runs several tasks, the task alone is asked to stop, see
   * docs/runtime-protocol.md "Stopping"). The task's `exit` callback fires (with `cancelled`)
   * once its script no longer runs and its room is free.
   */
  cancel(taskId: string, graceMs: number): void;
  /** Kill processes left by a previous server instance (recorded in task assignments). */
  killOrphans(tasks: readonly Task[]): Promise<void>;
  /** Start what should be warm before the first task (pools with min > 0). */
  prewarm?(): Promise<void>;
  /**
   * Where a service task (task.service) running here listens, and its state; null when the
   * task is not a running service of this executor. In memory only: services die with the server.
   */
  serviceEndpoint?(taskId: string): ServiceEndpoint | null;
  /** Warm pool occupancy, for /metrics and the UI. */
  poolStats?(): { pool: string; workers: number; busy: number; idle: number }[];
  /** Stop warm pools; running tasks are cancelled. */
  close(): Promise<void>;
}
