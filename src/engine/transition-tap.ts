/**
 * A TaskStore that reports every applied transition (with the task as it now is) to a
 * listener after the store applied it: how webhooks learn of starts and ends without an extra
 * read per task. Everything else passes straight through.
 */
import type { NewEvent, TaskEvent } from '../domain/events.ts';
import type { Assignment, Task } from '../domain/task.ts';
import type {
  ExecutorOwnership,
  Fence,
  InsertResult,
  NewTask,
  QueuedQuota,
  QueuedQuery,
  TaskFilter,
  TaskPage,
  TaskStore,
  TransitionRequest,
  TransitionResult,
} from '../store/task-store.ts';

export class TransitionTap implements TaskStore {
  /** The optional methods exist here exactly when the inner store has them. */
  readonly watchQueued?: TaskStore['watchQueued'];
  readonly health?: TaskStore['health'];
  readonly webhooks: TaskStore['webhooks'];
  readonly lakePins: TaskStore['lakePins'];

  constructor(
    private readonly inner: TaskStore,
    private readonly listener: (results: readonly (TransitionResult | null)[]) => void,
  ) {
    this.webhooks = inner.webhooks;
    this.lakePins = inner.lakePins;
    if (inner.watchQueued) this.watchQueued = (onQueued) => inner.watchQueued!(onQueued);
    if (inner.health) this.health = () => inner.health!();
  }

  get deployments(): TaskStore['deployments'] {
    return this.inner.deployments;
  }
  get keys(): TaskStore['keys'] {
    return this.inner.keys;
  }
  get audit(): TaskStore['audit'] {
    return this.inner.audit;
  }

  get tenants(): TaskStore['tenants'] {
    return this.inner.tenants;
  }

  async transition(requests: TransitionRequest[]): Promise<(TransitionResult | null)[]> {
    const results = await this.inner.transition(requests);
    this.listener(results);
    return results;
  }

  insert(tasks: NewTask[], now: number, quota?: QueuedQuota): Promise<{ results: InsertResult[]; events: TaskEvent[] }> {
    return this.inner.insert(tasks, now, quota);
  }
  get(id: string): Promise<Task | null> {
    return this.inner.get(id);
  }
  list(filter: TaskFilter): Promise<TaskPage> {
    return this.inner.list(filter);
  }
  queued(query: QueuedQuery): Promise<Task[]> {
    return this.inner.queued(query);
  }
  queuePositions(ids: readonly string[]): Promise<Map<string, number>> {
    return this.inner.queuePositions(ids);
  }
  appendEvents(events: NewEvent[]): Promise<TaskEvent[]> {
    return this.inner.appendEvents(events);
  }
  readEvents(taskId: string, afterSeq: number, limit: number, types?: readonly string[]): Promise<TaskEvent[]> {
    return this.inner.readEvents(taskId, afterSeq, limit, types);
  }
  staleLeases(owner: string, now: number, exclusive: boolean): Promise<Task[]> {
    return this.inner.staleLeases(owner, now, exclusive);
  }
  renewLeases(owner: string, ids: readonly string[], expiresAt: number, fence?: Fence): Promise<void> {
    return this.inner.renewLeases(owner, ids, expiresAt, fence);
  }
  takeLeases(owner: string, tasks: readonly Task[], expiresAt: number, fence?: Fence): Promise<string[]> {
    return this.inner.takeLeases(owner, tasks, expiresAt, fence);
  }
  recordPlacements(owner: string, placements: readonly { id: string; assignment: Assignment }[], fence?: Fence): Promise<number> {
    return this.inner.recordPlacements(owner, placements, fence);
  }
  claimExecutor(executor: string, owner: string, now: number, ttlMs: number, steal?: boolean): Promise<ExecutorOwnership | null> {
    return this.inner.claimExecutor(executor, owner, now, ttlMs, steal);
  }
  renewExecutor(fence: Fence, owner: string, now: number, ttlMs: number): Promise<boolean> {
    return this.inner.renewExecutor(fence, owner, now, ttlMs);
  }
  releaseExecutor(fence: Fence, owner: string, now: number): Promise<boolean> {
    return this.inner.releaseExecutor(fence, owner, now);
  }
  returnQueued(executor: string): Promise<string[]> {
    return this.inner.returnQueued(executor);
  }
  executorOwners(): Promise<ExecutorOwnership[]> {
    return this.inner.executorOwners();
  }
  pruneExecutors(executors: readonly string[], lapsedBefore: number): Promise<string[]> {
    return this.inner.pruneExecutors(executors, lapsedBefore);
  }
  delete(id: string): Promise<boolean> {
    return this.inner.delete(id);
  }
  counts(): ReturnType<TaskStore['counts']> {
    return this.inner.counts();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
