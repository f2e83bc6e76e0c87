/**
 * What a Ray job's harness reported (over HTTP, through the reports hub), turned into the
 * engine's callbacks. The harness speaks the same protocol as a local one, so the local
 * executor's TaskRun translates it (events, log limits, errors with tracebacks); this adds what
 * is Ray's own: the placement the engine stores (`ray-job`, with the harness's pid once it said
 * `ready`), the job's log lines as output (stdout and stderr are one stream in Ray), a quiet
 * mode for re-reading a log a previous server instance already stored, and the outcome of a job
 * Ray says is over.
 *
 * Ray writes its own lines at the top of a job's log (the runtime env set-up, then `Running
 * entrypoint for job <id>: <command>`); they are kept for the error of a job that never got
 * further, not logged. The entrypoint line is the boundary: it is in the log itself, so it
 * orders the lines where a report (which travels another way) could not.
 */
import { taskError } from '../../domain/errors.ts';
import type { HarnessMessage } from '../../runtime/protocol.ts';
import type { Placement, RunCallbacks, RunOutcome } from '../executor.ts';
import { TaskRun, type LogLimits } from '../local/task-run.ts';
import type { RayJobDetails } from './jobs-client.ts';

export type { LogLimits };

const TAIL_LINES = 20;
const RAY_WORKER = { pid: undefined, worker: 'ray' };

export class JobReport {
  /** Report nothing (what a previous server instance already stored), only keep state. */
  quiet = false;
  private readonly run: TaskRun;
  /** From the harness's `ready`. */
  private pid: number | undefined;
  /** Ray's own lines are over: what follows is the entrypoint's output. */
  private entrypointRunning = false;
  private started = false;
  private reported = false;
  private readonly tail: string[] = [];

  constructor(
    private readonly submissionId: string,
    taskId: string,
    private readonly placement: Placement,
    private readonly callbacks: RunCallbacks,
    limits: LogLimits,
  ) {
    this.run = new TaskRun(
      taskId,
      {
        started: (info) => {
          this.started = true;
          if (this.quiet) return;
          const placement = this.pid === undefined ? this.placement : { ...this.placement, pid: this.pid };
          callbacks.started({ placement, entered_at: info.entered_at });
        },
        event: (type, data) => {
          if (!this.quiet) callbacks.event(type, data);
        },
        exit: () => {}, // the job's end is Ray's to say (RayJobRun)
      },
      limits,
    );
  }

  get cancelRequested(): boolean {
    return this.run.cancelRequested;
  }

  set cancelRequested(value: boolean) {
    this.run.cancelRequested = value;
  }

  message(msg: HarnessMessage): void {
    if (msg.type === 'ready') this.pid = msg.pid;
    if (msg.type === 'result' || msg.type === 'error') this.reported = true;
    this.run.onMessage(msg, RAY_WORKER);
  }

  /** A line of the job's log: the task's log from the entrypoint's first line on. */
  output(line: string): void {
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    if (this.entrypointRunning) this.run.onOutput('stdout', line, false);
    else if (line.startsWith(`Running entrypoint for job ${this.submissionId}: `)) this.entrypointRunning = true;
  }

  notice(message: string): void {
    this.callbacks.event('log', { stream: 'stderr', level: 'info', message });
  }

  /** The outcome once Ray says the job is over (`job` null: Ray no longer knows it). */
  outcome(job: Pick<RayJobDetails, 'status' | 'message' | 'error_type' | 'driver_exit_code'> | null): RunOutcome {
    if (this.run.cancelRequested || this.reported) return this.run.outcomeAtDone();
    if (job?.status === 'STOPPED') return { kind: 'cancelled' }; // stopped on Ray, by someone else
    if (job?.status === 'SUCCEEDED') {
      // The harness exits 0 only once its result or error was acked: a previous server instance took it
      // and stopped before Ray said the job was over, so the result was never stored.
      return { kind: 'failed', error: taskError('EXECUTOR_ERROR', 'the Ray job succeeded while no server followed it; its outcome went to a server instance that stopped before storing it') };
    }
    const tail = this.tail.length > 0 ? `; last log lines:\n${this.tail.join('\n')}` : '';
    if (job === null) return { kind: 'failed', error: taskError('EXECUTOR_LOST', `Ray no longer knows the job (the head restarted, or the job was deleted)${tail}`) };
    const why = [job.status, job.error_type, job.message, job.driver_exit_code !== null ? `exit code ${job.driver_exit_code}` : null].filter(Boolean).join(', ');
    if (this.started) return { kind: 'failed', error: taskError('PROCESS_EXITED', `the script's Ray job ended before reporting a result (${why})${tail}`) };
    return { kind: 'failed', error: taskError('EXECUTOR_ERROR', `the Ray job ended before run() was called (${why})${tail}`) };
  }
}
