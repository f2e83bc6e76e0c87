/**
 * One run's artifacts on their way into the ArtifactStore. An `artifact` event (a file the
 * script reported) is held back until its file is in the store; then it is published,
 * rewritten to `{name, content_type, size, url}`. Events are kept in order per task: while an
 * artifact is being moved, the run's later events queue behind it (and go straight through
 * again once nothing is pending, so the hot path stays synchronous). The run's end waits for
 * the queue, so a task is never `completed` before its files are in the store.
 *
 * At the end of a run: the staging dir is removed; a cancelled run (or one stopped by a
 * shutdown, to be run again) leaves nothing in the store; a run that succeeded but whose
 * artifact could not be stored fails with ARTIFACT_ERROR instead. A run that reported no
 * artifact (most tasks) ends at once: nothing of it is in the store, and the harness removed
 * its work dir (after a crash or a kill, it is removed here, in the background).
 */
import type { ArtifactStore } from '../artifacts/artifact-store.ts';
import { taskError, type TaskError } from '../domain/errors.ts';
import type { EventType } from '../domain/events.ts';
import type { RunOutcome } from '../executors/executor.ts';

type RunEventType = Exclude<EventType, 'state' | 'result'>;
type Push = (type: RunEventType, data: Record<string, unknown>) => void;

export const artifactUrl = (taskId: string, name: string): string => `/api/v1/tasks/${taskId}/artifacts/${encodeURIComponent(name)}`;

export class RunArtifacts {
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  private failure: TaskError | null = null;
  /** An artifact event arrived: the end must wait for the store. */
  private reported = false;

  constructor(
    private readonly taskId: string,
    private readonly store: ArtifactStore,
    private readonly push: Push,
    private readonly onError: (err: unknown, context: string) => void = () => {},
  ) {}

  /** True when the run's end has to wait (an artifact was reported): call finish(). */
  get mustWait(): boolean {
    return this.reported;
  }

  event(type: RunEventType, data: Record<string, unknown>): void {
    if (type !== 'artifact' && this.pending === 0) return this.push(type, data);
    if (type === 'artifact') this.reported = true;
    this.pending++;
    this.chain = this.chain
      .then(() => (type === 'artifact' ? this.ingest(data) : this.push(type, data)))
      .catch((err) => this.onError(err, 'artifact event'))
      .finally(() => this.pending--);
  }

  /**
   * Waits for the queued events, cleans up, and returns the outcome to settle with.
   * `discard` (asked once the queue is drained): the run is cancelled or will run again.
   */
  async finish(outcome: RunOutcome, discard: () => boolean): Promise<RunOutcome> {
    await this.chain;
    try {
      if (outcome.kind === 'cancelled' || discard()) await this.store.deleteTask(this.taskId);
      else await this.store.clearStaging(this.taskId);
    } catch (err) {
      this.onError(err, 'artifact cleanup');
    }
    if (this.failure !== null && outcome.kind === 'completed') return { kind: 'failed', error: this.failure };
    return outcome;
  }

  /** The end of a run that reported nothing and may have left its work dir: removed off the hot path. */
  discardStaging(): void {
    this.store.clearStaging(this.taskId).catch((err) => this.onError(err, 'artifact cleanup'));
  }

  private async ingest(data: Record<string, unknown>): Promise<void> {
    const path = data.path;
    const label = typeof data.name === 'string' ? data.name : String(path);
    try {
      if (data.uploaded === true) return await this.uploaded(label);
      if (typeof path !== 'string' || path.length === 0) throw new Error('the event has no path');
      const info = await this.store.ingest(this.taskId, { path, name: typeof data.name === 'string' ? data.name : '', content_type: data.content_type as string | undefined });
      this.push('artifact', { name: info.name, content_type: info.content_type, size: info.size, url: artifactUrl(this.taskId, info.name) });
    } catch (err) {
      const message = `artifact "${label}" could not be stored: ${(err as Error).message}`;
      this.failure ??= taskError('ARTIFACT_ERROR', message);
      this.push('log', { stream: 'stderr', level: 'error', message });
    }
  }

  /** A file a remote task PUT into the store already (remote-uploads.ts): published once it is there. */
  private async uploaded(name: string): Promise<void> {
    const info = await this.store.stat(this.taskId, name);
    if (info === null) throw new Error('the task reported it uploaded, but the store has no such file');
    this.push('artifact', { name: info.name, content_type: info.content_type, size: info.size, url: artifactUrl(this.taskId, info.name) });
  }
}
