/**
 * The dispatcher's view of one executor's queue head: the candidates the store returned,
 * minus what was admitted since. Reading the head costs a query and a row decode per
 * candidate; re-reading it on every completion would dominate at thousands of tasks per
 * second, so the view is reused until it may be wrong:
 *   - something became queued (submit, retry, recovery, a backoff ending): `invalidate()`;
 *   - a tenant's share of a full window ran out, so its next tasks are not in view;
 *   - it is older than `ttlMs` (another server, or another node of a shared queue, may have
 *     changed the queue).
 * A stale entry is harmless: a cancelled task fails its compare-and-set and is dropped.
 */
import type { Task } from '../domain/task.ts';
import type { TaskStore } from '../store/task-store.ts';
import { sharedQueueOf } from './node-queues.ts';

/** When a window is full, each tenant's first tasks also join it, up to this many. */
const FAIR_PEEK = 16;

/**
 * The candidates of one executor: the head of its queue (`window` tasks), one ordered index
 * read; a node's executor (`local@<node>`) reads the shared queue it serves in the same query
 * (node-queues.ts), and its claim takes such a task and starts it at once. A tenant with a deep
 * backlog can fill that whole window, and fair share can only choose among the tasks it sees;
 * so when the window is full, the first tasks of every tenant (16 each) join it. With one
 * tenant queued that second read finds nothing new.
 */
export async function readCandidates(store: TaskStore, executor: string, now: number, window: number): Promise<Task[]> {
  const shared = sharedQueueOf(executor);
  const query = { executor, now, limit: window, ...(shared !== undefined ? { shared } : {}) };
  const head = await store.queued({ ...query, per_tenant: window });
  if (head.length < window) return head;
  const seen = new Set(head.map((t) => t.id));
  for (const t of await store.queued({ ...query, per_tenant: FAIR_PEEK })) if (!seen.has(t.id)) head.push(t);
  return head;
}

export class CandidateView {
  private tasks: Task[] = [];
  private left = new Map<string, number>();
  private full = false;
  private fetchedAt = -Infinity;
  private stale = true;

  constructor(
    private readonly window: number,
    private readonly ttlMs: number,
  ) {}

  invalidate(): void {
    this.stale = true;
  }

  needsFetch(now: number): boolean {
    // A full window running low may hide tasks just behind it; re-read before it runs dry.
    return this.stale || now - this.fetchedAt > this.ttlMs || (this.full && this.tasks.length < this.window / 8);
  }

  fill(tasks: Task[], now: number): void {
    this.tasks = tasks;
    this.full = tasks.length >= this.window;
    this.fetchedAt = now;
    this.stale = false;
    this.left = new Map();
    for (const t of tasks) this.left.set(t.tenant, (this.left.get(t.tenant) ?? 0) + 1);
  }

  get candidates(): readonly Task[] {
    return this.tasks;
  }

  /**
   * Takes the tasks with these ids (admitted: whether or not their claim then succeeds) out of
   * the view and returns them in the order of `ids`.
   */
  take(ids: readonly string[]): Task[] {
    if (ids.length === 0) return [];
    const wanted = new Set(ids);
    const taken = new Map<string, Task>();
    const kept: Task[] = [];
    const left = new Map<string, number>();
    for (const t of this.tasks) {
      if (wanted.has(t.id)) taken.set(t.id, t);
      else {
        kept.push(t);
        left.set(t.tenant, (left.get(t.tenant) ?? 0) + 1);
      }
    }
    this.tasks = kept;
    // A tenant whose tasks in a full window are all gone may have more beyond it.
    if (this.full) for (const tenant of this.left.keys()) if (!left.has(tenant)) this.stale = true;
    this.left = left;
    return ids.map((id) => taken.get(id) as Task);
  }

  /** Puts back tasks taken but not claimed (their executor had no room for them yet). */
  restore(tasks: readonly Task[]): void {
    for (const t of tasks) {
      this.tasks.push(t);
      this.left.set(t.tenant, (this.left.get(t.tenant) ?? 0) + 1);
    }
  }
}
