/**
 * Executor: runs one task somewhere (local processes, Ray, Kubernetes) and reports what
 * happens. The engine owns state; an executor only runs and reports, through callbacks:
 * `started` once the script is placed (with a placement of the executor's own kind, which the
 * engine stores with the task), `event` for progress/log/metric/artifact, and `exit` exactly
 * once when the task's script is gone and its slot is free.
 *
 * After a server restart the engine hands each executor the tasks a previous instance left
 * running on it (`reattach`): the executor follows what still runs, reports what ended
 * meanwhile, and answers `gone` for the rest (the engine retries those per policy).
 */
import type { TaskError } from '../domain/errors.ts';
import type { EventType } from '../domain/events.ts';
import type { Resources } from '../domain/resources.ts';
import type { ServiceEndpoint } from '../domain/service.ts';
import type { Placement, Task } from '../domain/task.ts';

export type { Placement } from '../domain/task.ts';

export type RunOutcome =
  | { kind: 'completed'; result: unknown }
  | { kind: 'failed'; error: TaskError }
  | { kind: 'cancelled' };

export interface RunCallbacks {
  /**
   * The script is placed. A placement given here is stored with the task (batched writes),
   * for `reattach` after a restart; an executor gives one only where a later instance needs
   * it (the local executor: a cold run's process, not a warm worker, found by its owner marker).
   * `entered_at`: when the script's run() was entered, if the executor knows.
   */
  started(info: { placement?: Placement; entered_at?: number }): void;
  event(type: Exclude<EventType, 'state' | 'result'>, data: Record<string, unknown>): void;
  exit(outcome: RunOutcome): void;
}

/** What an executor found of a task a previous server instance left running on it. */
export type Reattached =
  /** Still running: the executor follows it again through the task's callbacks (exit exactly once). */
  | { state: 'running' }
  /** Ended while the server was away. */
  | { state: 'finished'; outcome: RunOutcome }
  /** Nothing left of it: the engine retries it per policy, else fails it with TASK_LOST. */
  | { state: 'gone'; reason: string };

/** Per-executor settings (config executors.<name>). */
export interface ExecutorSettings {
  /** Between asking a task to stop and killing it. */
  graceMs: number;
}

export interface Executor {
  readonly name: string;
  /** The kind of executor ('local', 'ray'): the kind of config and factory it comes from. */
  readonly kind: string;
  /**
   * What the executor can place now. May change at run time (a Ray cluster under an
   * autoscaler): the executor then calls the `onCapacity` listener and the engine's ledger
   * re-reads it, never admitting beyond it; tasks already running keep running when it shrinks.
   */
  readonly capacity: Resources;
  /**
   * The most it may ever place (e.g. a Ray cluster's autoscaler bound, from config), when
   * that is more than `capacity` now: a task that fits here but not in `capacity` is accepted
   * and waits queued (a cluster at zero workers scales up for it). Without it, submit refuses
   * what does not fit `capacity` as it is.
   */
  readonly maxCapacity?: Resources;
  /**
   * Why a task that fits `capacity` can still never be placed as it is now, or null: a Ray
   * job's entrypoint runs on one node, so 4 GPUs over two 2-GPU nodes are not 4 GPUs for one
   * task. Asked at submit; an executor with a `maxCapacity` answers null (an autoscaler may add a bigger node).
   */
  unplaceable?(need: Resources): string | null;
  /** Concrete GPU device ids; capacity.gpu === gpuInventory.length. */
  readonly gpuInventory: readonly string[];
  /** The listener the executor calls when `capacity` (or `gpuInventory`) changed. */
  onCapacity?(listener: () => void): void;
  readonly settings: ExecutorSettings;
  /**
   * Room for the task's script in a process now, beyond resources (a free slot of a ready
   * warm-pool worker). The engine asks before it claims a task, so a task is `running` (and
   * has used an attempt) only once a process is there to run its script; a task with no room
   * stays `pending`. True holds that room for the task until `run` takes it or `unreserve`
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
   * Stop a running task, and only it: SIGTERM to its process group, then SIGKILL after the
   * grace period (where a process runs several tasks, the task alone is asked to stop, see
   * docs/runtime-protocol.md "Stopping"). The task's `exit` callback fires (with `cancelled`)
   * once its script no longer runs and its room is free. The grace period is the executor's
   * own (`settings.graceMs`); `graceMs` overrides it for this cancel (tests, tooling).
   */
  cancel(taskId: string, graceMs?: number): void;
  /**
   * Called once at start (and again while it throws) with the tasks a previous instance left
   * in running/cancelling on this executor, with their stored placements. For a task that is
   * `running`, the executor calls `callbacks(task)` to get its RunCallbacks and reports
   * through them from then on (events resume; exit exactly once). The local executor kills
   * its orphans and answers `gone` for all. A task missing from the answer counts as `gone`
   * (after `reattach` it must not be running anywhere). Throws when it cannot tell now (its cluster is
   * unreachable): the engine leaves those tasks alone and asks again later.
   */
  reattach(tasks: readonly Task[], callbacks: (task: Task) => RunCallbacks): Promise<Map<string, Reattached>>;
  /** Is the executor reachable now (for /ready and the UI)? A down executor's tasks stay queued. */
  health?(): { ok: boolean; message?: string };
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
