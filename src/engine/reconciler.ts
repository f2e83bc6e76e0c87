/**
 * Crash recovery and leases. On start, every task a previous server instance left in
 * running/cancelling is settled: its orphaned process is killed, then it is re-queued when
 * attempts remain, else failed with TASK_LOST (a cancelling task becomes cancelled). While
 * running, the leases of this instance's tasks are renewed, and any other expired lease is
 * recovered the same way.
 */
import type { Executor } from '../executors/executor.ts';
import type { TaskStore } from '../store/task-store.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { EventWriter } from './event-writer.ts';
import { recoveryTransition } from './settlement.ts';

const NO_CALLBACKS = (): never => {
  throw new Error('re-attaching a running task comes with the reconciler of port v2, step 2');
};

export interface ReconcilerDeps {
  store: TaskStore;
  executors: ReadonlyMap<string, Executor>;
  dispatcher: Dispatcher;
  writer: EventWriter;
  instanceId: string;
  leaseMs: number;
  /** The store is used by this instance alone (embedded SQLite): every foreign lease is stale. */
  exclusive: boolean;
  now?: () => number;
  onError?: (err: unknown, context: string) => void;
}

export class Reconciler {
  private timer: NodeJS.Timeout | null = null;
  private readonly now: () => number;

  constructor(private readonly deps: ReconcilerDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Settle what a previous instance left behind. Returns how many tasks were recovered. */
  async recover(exclusive = this.deps.exclusive): Promise<number> {
    const now = this.now();
    const stale = (await this.deps.store.staleLeases(this.deps.instanceId, now, exclusive)).filter(
      (t) => !this.deps.dispatcher.isRunningHere(t.id),
    );
    if (stale.length === 0) return 0;
    for (const [name, executor] of this.deps.executors) {
      const mine = stale.filter((t) => t.executor === name);
      if (mine.length) await executor.reattach(mine, NO_CALLBACKS);
    }
    const results = await this.deps.store.transition(stale.map((t) => recoveryTransition(t, now)));
    this.deps.writer.published(results.flatMap((r) => (r ? [r.event] : [])));
    this.deps.dispatcher.queueChanged();
    return results.filter(Boolean).length;
  }

  /** Renew this instance's leases every third of the lease, and sweep expired foreign ones. */
  startLeaseLoop(): void {
    const every = Math.max(100, Math.floor(this.deps.leaseMs / 3));
    let busy = false;
    this.timer = setInterval(() => {
      if (busy) return;
      busy = true;
      void (async () => {
        try {
          const ids = this.deps.dispatcher.runningIds;
          if (ids.length) await this.deps.store.renewLeases(this.deps.instanceId, ids, this.now() + this.deps.leaseMs);
          await this.recover(false);
          // Safety net for retry timers lost across a restart, and for queue changes made by
          // another server: a fresh look at the queue head.
          this.deps.dispatcher.queueChanged();
        } catch (err) {
          this.deps.onError?.(err, 'lease renewal');
        } finally {
          busy = false;
        }
      })();
    }, every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
