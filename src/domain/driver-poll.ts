/**
 * The poll protocol between Lakeray and the driver of a Ray executor in mode `actors` (issue 12
 * contract D, docs/ray.md "Mode actors"). The driver runs inside the cluster and PULLS its work:
 *
 *   POST /api/v1/executors/{name}/driver/poll   Authorization: Bearer <executor token>
 *   DriverPoll → DriverPollAnswer
 *
 * Types only: the route (api/) validates the body, the executor (executors/ray/actors/) answers.
 */

/** A task that ended on the driver's side; `error` set when it ended without its own report. */
export interface DriverDone {
  task_id: string;
  attempt: number;
  error: { code: string; message: string } | null;
}

export interface DriverPoll {
  /** the driver's Ray submission id */
  driver_id: string;
  /** task ids its actors run now */
  running: string[];
  /** free actor slots per pool */
  capacity: Record<string, number>;
  /**
   * busy actor slots per pool: with `capacity`, the pools' total, including tasks a restarted
   * server has not re-attached yet (absent from a driver older than this field)
   */
  busy?: Record<string, number>;
  done: DriverDone[];
}

export interface DriverRunItem {
  task_id: string;
  attempt: number;
  /** the task's token: the actor reports with it (POST /api/v1/tasks/{id}/reports) */
  token: string;
  pool: string;
  /** the job as the harness reads it (runtime/protocol.ts Job) */
  job: Record<string, unknown>;
  /** the script's folder, a gcs:// package on the cluster */
  package?: string;
}

export interface DriverPollAnswer {
  run: DriverRunItem[];
  cancel: { task_id: string; grace_ms: number }[];
  /** this driver is not (or no longer) the executor's: it exits */
  stop?: boolean;
}

/** An executor whose driver polls: what the route hands a poll to. */
export interface PolledExecutor {
  /** Answers at once when there is work, else after the long-poll wait or when `gone` aborts. */
  poll(body: DriverPoll, gone: AbortSignal): Promise<DriverPollAnswer>;
}
