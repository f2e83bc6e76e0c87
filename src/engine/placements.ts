/**
 * Where running tasks run (the executor's placement: a cold process's pid, a Ray submission
 * id, an actor), written to the store so that a later instance can find them again if this
 * one dies (Reconciler → Executor.reattach). The placements that arrive in one event-loop
 * turn are written together, in one store call.
 *
 * An executor reports a placement only where it is worth a write: the local executor's warm
 * workers carry the executor's owner marker and are found by it after a crash, so a warm task
 * records nothing.
 */
import type { Assignment } from '../domain/task.ts';
import type { Fence, TaskStore } from '../store/task-store.ts';

export interface Placement {
  id: string;
  assignment: Assignment;
}

export class PlacementRecorder {
  /** Per fence (one per owned executor, in practice): the store refuses a stale one as a whole. */
  private batches = new Map<Fence, Placement[]>();

  constructor(
    private readonly store: TaskStore,
    private readonly instanceId: string,
    private readonly onError?: (err: unknown, context: string) => void,
  ) {}

  placed(p: Placement, fence: Fence): void {
    const first = this.batches.size === 0;
    const batch = this.batches.get(fence);
    if (batch) batch.push(p);
    else this.batches.set(fence, [p]);
    if (!first) return;
    setImmediate(() => {
      const batches = this.batches;
      this.batches = new Map();
      for (const [f, b] of batches) this.store.recordPlacements(this.instanceId, b, f).catch((err) => this.onError?.(err, 'record placements'));
    });
  }
}
