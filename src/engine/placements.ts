/**
 * Where running tasks' processes are, written to the store so that a later instance can find
 * and kill them if this one dies (Reconciler → Executor.killOrphans). The placements that
 * arrive in one event-loop turn are written together, in one store call.
 *
 * Only a process of a task's own is worth a write (a cold run's pid): warm-pool workers carry
 * the executor's owner marker and are found by it after a crash, so a warm task records nothing.
 */
import type { Assignment } from '../domain/task.ts';
import type { TaskStore } from '../store/task-store.ts';

export interface Placement {
  id: string;
  assignment: Assignment;
}

export class PlacementRecorder {
  private batch: Placement[] = [];

  constructor(
    private readonly store: TaskStore,
    private readonly instanceId: string,
    private readonly onError?: (err: unknown, context: string) => void,
  ) {}

  placed(p: Placement): void {
    this.batch.push(p);
    if (this.batch.length > 1) return;
    setImmediate(() => {
      const batch = this.batch;
      this.batch = [];
      this.store.recordPlacements(this.instanceId, batch).catch((err) => this.onError?.(err, 'record placements'));
    });
  }
}
