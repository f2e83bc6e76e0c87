/**
 * One task on an actors-mode executor, from the run item to its exit. Its events come over HTTP
 * from the actor (contract B): the executor opens the task's reports channel, whose messages the
 * local executor's TaskRun translates into the engine's callbacks; the harness's `done` settles
 * it. The driver's `done` entry with an error settles a task that could not report (its actor
 * died, it was killed after the grace period).
 *
 * Phases: `preparing` (packing its folder) → `queued` (waits for the driver's next poll) →
 * `sent` (in a poll answer) → `seen` (a poll listed it running, so the driver's free slots count it).
 */
import { isErrorCode, taskError } from '../../../domain/errors.ts';
import type { Task } from '../../../domain/task.ts';
import type { HarnessMessage } from '../../../runtime/protocol.ts';
import type { Placement, RunCallbacks, RunOutcome } from '../../executor.ts';
import { TaskRun, type LogLimits } from '../../local/task-run.ts';
import type { TaskReports } from '../../task-reports.ts';


export type ActorTaskPhase = 'preparing' | 'queued' | 'sent' | 'seen';

const ACTOR = { pid: undefined, worker: 'ray-actor' };

export class ActorTask {
  phase: ActorTaskPhase = 'preparing';
  /** the poll count when its run item left */
  sentAtPoll = 0;
  sentAtMs = 0;
  private readonly run: TaskRun;
  private readonly channel: { close(): void };

  constructor(
    readonly task: Task,
    readonly pool: string,
    private placement: Placement,
    callbacks: RunCallbacks,
    reports: TaskReports,
    limits: LogLimits,
    onFinish: (task: ActorTask) => void,
    /** re-attached: started was reported under an earlier server instance */
    attached = false,
  ) {
    let started = attached;
    this.run = new TaskRun(
      task.id,
      {
        started: (info) => {
          if (started) return;
          started = true;
          callbacks.started({ placement: this.placement, entered_at: info.entered_at });
        },
        event: (type, data) => callbacks.event(type, data),
        exit: (outcome) => callbacks.exit(outcome),
      },
      limits,
      () => {
        this.channel.close();
        onFinish(this);
      },
    );
    this.channel = reports.open(task.id, task.attempt, (msg) => this.message(msg));
  }

  get id(): string {
    return this.task.id;
  }

  get done(): boolean {
    return this.run.done;
  }

  get cancelRequested(): boolean {
    return this.run.cancelRequested;
  }

  requestCancel(): void {
    this.run.cancelRequested = true;
  }

  /** The driver said the task ended; `error` when it ended without its own report. */
  driverDone(error: { code: string; message: string } | null): void {
    if (this.run.done) return;
    if (error === null) return this.finish(this.run.outcomeAtDone());
    const code = isErrorCode(error.code) ? error.code : 'EXECUTOR_ERROR';
    this.finish(this.run.cancelRequested ? { kind: 'cancelled' } : { kind: 'failed', error: taskError(code, error.message) });
  }

  finish(outcome: RunOutcome): void {
    this.run.finish(outcome);
  }

  fail(message: string, code: 'EXECUTOR_ERROR' | 'EXECUTOR_LOST' = 'EXECUTOR_ERROR'): void {
    this.finish(this.run.cancelRequested ? { kind: 'cancelled' } : { kind: 'failed', error: taskError(code, message) });
  }

  /** Forget the task without settling it (the server closes; the task runs on). */
  detach(): void {
    this.channel.close();
  }

  private message(msg: HarnessMessage): void {
    // The actor says which it is before run() starts, so the stored placement names it (the UI links it).
    if (msg.type === 'ready' && typeof msg.actor_id === 'string') {
      this.placement = { ...this.placement, actor_id: msg.actor_id, ...(typeof msg.node_id === 'string' ? { node_id: msg.node_id } : {}) };
    }
    this.run.onMessage(msg, ACTOR);
    if (msg.type === 'done') this.finish(this.run.outcomeAtDone());
  }
}
