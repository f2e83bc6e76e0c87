/**
 * One task's Ray job, from submission to exactly one exit. Mode machine:
 *
 *   submitting ⟲ (retryable errors: backoff, up to submitDeadlineMs)
 *     → pending → running       (polling: status + new log lines, bounded backoff)
 *     → over                    (Ray says SUCCEEDED/FAILED/STOPPED, or no longer knows the job:
 *                                the rest of the log is read, the outcome decided, exit called)
 *
 * The outcome is never decided before Ray says the job is over, so a task's slot is freed only
 * once nothing of it runs on the cluster. Polling starts at `pollMs` and backs off to
 * `maxPollMs` while nothing changes; any change, and a cancel, bring it back to `pollMs`. Once
 * the harness has said it is done (`ending()`), the job is polled every ENDING_POLL_MS until
 * Ray says it is over: the slot is free a few tens of ms after the process ends, not up to
 * `maxPollMs` later (in a burst, every job's start waits for the slot of one before it).
 *
 * cancel(): while submitting, the submission is abandoned, and a job that made it anyway (an
 * answer lost on the way back) is stopped; once submitted, Ray is asked to stop the job
 * (SIGTERM, SIGKILL after the cluster's RAY_JOB_STOP_WAIT_TIME_S) and the run follows it until
 * Ray says STOPPED, then exits `cancelled`.
 */
import { taskError, type TaskError } from '../../domain/errors.ts';
import type { RunOutcome } from '../executor.ts';
import { jobError } from './job-request.ts';
import { JobLogFollower } from './job-log-follower.ts';
import type { JobReport } from './job-report.ts';
import { isTerminalJobStatus, type RayJobDetails, type RayJobsClient, type RaySubmitRequest } from './jobs-client.ts';
import { RayApiError } from './ray-api-error.ts';

export interface JobRunTiming {
  pollMs: number;
  maxPollMs: number;
  /** how long submit errors (Ray down, 5xx, timeouts) are retried before the task fails */
  submitDeadlineMs: number;
  /** how long Ray may be unreachable while the job runs before the task fails */
  lostAfterMs: number;
}

export type JobPhase = 'submitting' | 'pending' | 'running' | 'over';

/** The poll interval between the harness's last report and Ray saying the job is over. */
export const ENDING_POLL_MS = 50;

export class RayJobRun {
  phase: JobPhase = 'submitting';
  private wake: () => void = () => {};
  private follower: JobLogFollower;
  private stopAsked = false;
  private detached = false;
  private harnessDone = false;

  constructor(
    private readonly client: RayJobsClient,
    readonly submissionId: string,
    readonly report: JobReport,
    private readonly timing: JobRunTiming,
    /** every phase change, exactly once per phase; `over` comes with the outcome */
    private readonly onPhase: (phase: JobPhase, outcome?: RunOutcome) => void,
  ) {
    this.follower = new JobLogFollower(client, submissionId);
  }

  /** Submit (retrying what Ray may answer better later), then follow the job to its end. */
  async submit(prepare: () => Promise<RaySubmitRequest>): Promise<void> {
    let request: RaySubmitRequest;
    try {
      request = await prepare();
    } catch (err) {
      return this.end(null, failure(err));
    }
    const deadline = Date.now() + this.timing.submitDeadlineMs;
    for (let delay = 250; ; delay = Math.min(delay * 2, 5_000)) {
      if (this.report.cancelRequested) break;
      try {
        await this.client.submit(request);
        break;
      } catch (err) {
        const retry = err instanceof RayApiError && err.retryable && Date.now() + delay < deadline;
        if (!retry) return this.end(null, { kind: 'failed', error: taskError('EXECUTOR_ERROR', `Ray refused the job: ${(err as Error).message}`) });
        await this.sleep(delay);
      }
    }
    if (this.report.cancelRequested) {
      // The submit may have made it with its answer lost: stop whatever exists under the id.
      await this.client.stop(this.submissionId).catch(() => false);
    }
    this.setPhase('pending');
    await this.follow();
  }

  /**
   * Follow a job a previous server instance submitted. What its log already holds was stored
   * by that instance: it is read (for the error of a job that fails), not stored again.
   */
  async attach(job: RayJobDetails): Promise<void> {
    this.setPhase(job.status === 'RUNNING' ? 'running' : 'pending');
    this.report.quiet = true;
    try {
      await this.readLog(false);
    } catch {
      // read again on the next poll, reported then
    }
    this.report.quiet = false;
    this.report.notice(`Lakeray re-attached to Ray job ${this.submissionId} after a restart; log lines written while no server followed it stay in Ray's log`);
    await this.follow();
  }

  /**
   * The outcome of a job that ended while no server followed it, from Ray's status and its
   * log's last lines: its reports went to the previous instance (see docs/ray.md).
   */
  async outcomeOf(job: RayJobDetails): Promise<RunOutcome> {
    await this.readLog(true);
    return this.report.outcome(job);
  }

  /** Stop following without an exit: the server is closing and the job runs on for a later instance. */
  detach(): void {
    this.detached = true;
    this.wake();
  }

  /** Following failed (a bug): the task fails, and its job is stopped rather than left running unwatched. */
  abandon(error: TaskError): void {
    if (this.phase === 'over' || this.detached) return;
    void this.client.stop(this.submissionId).catch(() => false);
    this.end(null, { kind: 'failed', error });
  }

  /** The harness sent its last report: its process is about to exit, so watch for that closely. */
  ending(): void {
    if (this.phase === 'over' || this.harnessDone) return;
    this.harnessDone = true;
    this.wake();
  }

  cancel(): void {
    if (this.phase === 'over') return;
    this.report.cancelRequested = true;
    this.wake();
  }

  private async follow(): Promise<void> {
    let delay = this.timing.pollMs;
    let unreachableSince: number | undefined;
    for (;;) {
      if (this.detached) return;
      if (this.report.cancelRequested && !this.stopAsked) await this.askStop();
      let job: RayJobDetails | null;
      let changed = false;
      try {
        job = await this.client.get(this.submissionId);
        unreachableSince = undefined;
        if (job === null) return this.end(null);
        if (job.status === 'RUNNING' && this.phase === 'pending') {
          this.setPhase('running');
          changed = true;
        }
        if (isTerminalJobStatus(job.status)) {
          await this.readLog(true).catch(() => undefined);
          return this.end(job);
        }
        changed = (await this.readLog(false)) || changed;
      } catch (err) {
        if (!(err instanceof RayApiError && err.retryable)) throw err;
        unreachableSince ??= Date.now();
        if (Date.now() - unreachableSince > this.timing.lostAfterMs) {
          return this.end(null, {
            kind: 'failed',
            error: taskError('EXECUTOR_LOST', `Ray was unreachable for ${Math.round((Date.now() - unreachableSince) / 1000)} s while the job ran: ${err.message}`),
          });
        }
      }
      if (this.harnessDone) delay = Math.min(ENDING_POLL_MS, this.timing.pollMs);
      else delay = changed || this.report.cancelRequested ? this.timing.pollMs : Math.min(delay * 1.5, this.timing.maxPollMs);
      await this.sleep(delay);
    }
  }

  private async askStop(): Promise<void> {
    try {
      await this.client.stop(this.submissionId);
      this.stopAsked = true;
    } catch (err) {
      // 404: it is gone already (the next poll settles it); anything else is asked again next poll
      if (err instanceof RayApiError && err.kind === 'not_found') this.stopAsked = true;
    }
  }

  /** New lines of the job's log into the report; true when there were any. */
  private async readLog(final: boolean): Promise<boolean> {
    const chunk = final ? await this.follower.readFinal() : await this.follower.read();
    for (const line of chunk.lines) this.report.output(line);
    return chunk.lines.length > 0;
  }

  private end(job: RayJobDetails | null, outcome?: RunOutcome): void {
    if (this.phase === 'over' || this.detached) return;
    this.phase = 'over';
    this.onPhase('over', outcome ?? this.report.outcome(job));
  }

  private setPhase(phase: JobPhase): void {
    if (this.phase === phase || this.phase === 'over') return;
    this.phase = phase;
    this.onPhase(phase);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

const failure = (err: unknown): RunOutcome => ({ kind: 'failed', error: jobError(err) });
