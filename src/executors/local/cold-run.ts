/**
 * A cold run: a fresh harness with `--once` for a single task. Its outcome is reported when
 * the process (and everything in its group) is gone, never earlier, so the engine frees the
 * task's slot and GPUs only when nothing of the task is left running.
 */
import { taskError, type TaskError } from '../../domain/errors.ts';
import type { Job } from '../../runtime/protocol.ts';
import { HarnessProcess, type HarnessSpec } from './harness-process.ts';
import type { TaskRun } from './task-run.ts';

export class ColdRun {
  private readonly proc: HarnessProcess;
  private startError: TaskError | undefined;

  constructor(spec: HarnessSpec, job: Job, line: string, run: TaskRun, maxLogLineBytes: number) {
    const where = (): { pid: number | undefined; worker: string } => ({ pid: this.proc.pid, worker: spec.id });
    this.proc = new HarnessProcess(
      spec,
      {
        message: (msg) => {
          if (msg.type === 'ready' || msg.type === 'done') return;
          if (msg.type === 'error' && msg.task_id === '') {
            this.startError = taskError('EXECUTOR_ERROR', msg.message); // preload failed
            return;
          }
          if (msg.task_id === job.task_id) run.onMessage(msg, where());
        },
        output: (stream, line, truncated) => run.onOutput(stream, line, truncated),
      },
      maxLogLineBytes,
    );
    this.proc.sendLine(line);
    void this.proc.exited.then((exit) => run.finish(run.outcomeAtExit(exit, this.proc.stderrTail(), this.startError)));
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get exited(): Promise<unknown> {
    return this.proc.exited;
  }

  cancel(run: TaskRun, graceMs: number): void {
    run.cancelRequested = true;
    this.proc.terminate(graceMs);
  }
}
