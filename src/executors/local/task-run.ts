/**
 * One task's run as the executor sees it: translates harness messages and output lines into
 * the engine's callbacks, bounds the log, and decides the outcome. `exit` fires exactly once,
 * whichever of done / process exit / cancellation comes first to settle it.
 */
import { isErrorCode, taskError, type TaskError } from '../../domain/errors.ts';
import type { HarnessMessage } from '../../runtime/protocol.ts';
import type { RunCallbacks, RunOutcome } from '../executor.ts';
import type { HarnessExit, OutputStream } from './harness-process.ts';
import { truncateUtf8 } from './line-splitter.ts';

export interface LogLimits {
  /** Longest single log message, in bytes (longer ones are cut and flagged `truncated`). */
  maxLineBytes: number;
  /** Total log bytes per task; after that one "log truncated" event, then nothing. */
  maxLogBytes: number;
}

/** A harness error may carry the script's traceback; the store keeps it with the error. */
export type ScriptTaskError = TaskError & { traceback?: string };

export class TaskRun {
  /** cancel() was called: the outcome is `cancelled` whatever the script reported. */
  cancelRequested = false;
  private started = false;
  private finished = false;
  private result: { value: unknown } | undefined;
  private error: ScriptTaskError | undefined;
  private logBytes = 0;
  private logCut = false;

  constructor(
    readonly taskId: string,
    private readonly callbacks: RunCallbacks,
    private readonly limits: LogLimits,
    /** Runs once, right before the exit callback (the executor forgets the task's placement). */
    private readonly onFinish?: (taskId: string) => void,
  ) {}

  get done(): boolean {
    return this.finished;
  }

  /** A message from the harness for this task. `where` says which process runs it. */
  onMessage(msg: HarnessMessage, where: { pid: number | undefined; worker: string }): void {
    if (this.finished) return;
    switch (msg.type) {
      case 'started':
        if (this.started) return;
        this.started = true;
        // A cold run's process is the task's own: recorded, so that a later server instance
        // kills it if this one dies. A warm worker carries the owner marker instead (orphans.ts).
        this.callbacks.started(
          where.worker === 'cold' && where.pid !== undefined
            ? { placement: { kind: 'process', pid: where.pid, worker: 'cold' }, entered_at: msg.ts }
            : { entered_at: msg.ts },
        );
        return;
      case 'result':
        this.result = { value: msg.value ?? null };
        return;
      case 'error':
        this.onError(msg);
        return;
      case 'log':
        this.log(strip(msg));
        return;
      case 'progress':
      case 'metric':
      case 'artifact':
        this.callbacks.event(msg.type, strip(msg));
        return;
      default:
        return; // ready/done are the process's business, not the task's
    }
  }

  /** A line the task's process wrote to stdout or stderr. */
  onOutput(stream: OutputStream, line: string, truncated: boolean): void {
    if (this.finished) return;
    this.log(truncated ? { stream, message: line, truncated: true } : { stream, message: line });
  }

  /** Outcome once the harness said `done` (the process may live on, as a warm worker does). */
  outcomeAtDone(): RunOutcome {
    if (this.cancelRequested) return { kind: 'cancelled' };
    if (this.error !== undefined) return { kind: 'failed', error: this.error };
    if (this.result !== undefined) return { kind: 'completed', result: this.result.value };
    return { kind: 'failed', error: taskError('EXECUTOR_ERROR', 'the harness finished the task without a result or an error') };
  }

  /** Outcome once the process is gone, whether or not it said `done`. */
  outcomeAtExit(exit: HarnessExit, stderrTail: readonly string[], startError?: TaskError): RunOutcome {
    if (this.cancelRequested) return { kind: 'cancelled' };
    if (this.error !== undefined || this.result !== undefined) return this.outcomeAtDone();
    if (startError !== undefined) return { kind: 'failed', error: startError };
    if (exit.spawnError !== undefined) {
      return { kind: 'failed', error: taskError('EXECUTOR_ERROR', `could not start the interpreter: ${exit.spawnError}`) };
    }
    const how = exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    const tail = stderrTail.length > 0 ? `; last stderr lines:\n${stderrTail.join('\n')}` : '';
    if (!this.started) {
      // The harness (or the worker it shared) died before it called run(): not the script's doing.
      return { kind: 'failed', error: taskError('EXECUTOR_ERROR', `the harness process ${how} before run() was called (while starting, or loading the script)${tail}`) };
    }
    return { kind: 'failed', error: taskError('PROCESS_EXITED', `the script process ${how} before reporting a result${tail}`) };
  }

  /** Report the outcome; later calls are ignored (exactly once). */
  finish(outcome: RunOutcome): void {
    if (this.finished) return;
    this.finished = true;
    this.onFinish?.(this.taskId);
    this.callbacks.exit(outcome);
  }

  private onError(msg: Extract<HarnessMessage, { type: 'error' }>): void {
    const code = msg.code !== undefined && isErrorCode(msg.code) ? msg.code : 'SCRIPT_ERROR';
    const error: ScriptTaskError = { code, message: msg.message };
    if (typeof msg.step === 'string' && msg.step.length > 0) error.step = msg.step.slice(0, 200);
    if (typeof msg.traceback === 'string' && msg.traceback.length > 0) {
      error.traceback = truncateUtf8(msg.traceback, this.limits.maxLineBytes * 4).text;
      // Also in the log, where a user reading the task's output looks for it.
      this.log({ stream: 'stderr', level: 'error', message: msg.traceback });
    }
    this.error = error;
  }

  private log(data: Record<string, unknown>): void {
    if (this.logCut) return;
    const cut = truncateUtf8(String(data.message ?? ''), this.limits.maxLineBytes);
    const entry = cut.truncated ? { ...data, message: cut.text, truncated: true } : data;
    this.logBytes += Buffer.byteLength(cut.text, 'utf8');
    if (this.logBytes > this.limits.maxLogBytes) {
      this.logCut = true;
      this.callbacks.event('log', {
        stream: data.stream ?? 'stderr',
        level: 'warn',
        message: `log truncated: the task wrote more than ${this.limits.maxLogBytes} bytes of log; the rest is dropped`,
      });
      return;
    }
    this.callbacks.event('log', entry);
  }
}

/** The event's data: the message without the protocol's routing fields. */
const strip = (msg: HarnessMessage): Record<string, unknown> => {
  const { type: _type, task_id: _task, ...data } = msg as HarnessMessage & { task_id?: string };
  return data;
};
