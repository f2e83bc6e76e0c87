/**
 * Recovery of other nodes' executors (`local@<node>`, node-queues.ts). Each node owns only
 * its own; when one dies, nobody renews its ownership. Every ownership round (ownership.ts),
 * for each node executor of another node whose ownership has lapsed:
 *   - what it claimed from the shared queue, re-queued and did not start again goes back there
 *     (a compare-and-set on `pending`: harmless even if that node still lives; it may still claim
 *     the task there, like any node);
 *   - if tasks still run there, this process takes that executor's ownership (a new epoch: a
 *     late write of the dead node is refused, like any deposed owner's), takes over their
 *     leases, and recovers them as gone (recoveryTransition: re-queued per their retry policy,
 *     a cancelling one cancelled). Their processes ran on the other machine: nothing here can
 *     follow them. Then it gives the ownership up again, for that node's own return.
 * A node that restarts under its name claims its executor back once the ownership lapses
 * (reconciler.ts kills what its predecessor left running there).
 */
import type { TaskEvent } from '../domain/events.ts';
import type { Task } from '../domain/task.ts';
import type { Fence, TaskStore } from '../store/task-store.ts';
import { sharedQueueOf } from './node-queues.ts';
import { recoveryTransition } from './settlement.ts';

export interface NodeRecoveryDeps {
  store: TaskStore;
  /** This process's own executors (never recovered here: ownership.ts does). */
  own: ReadonlySet<string>;
  instanceId: string;
  ttlMs: number;
  leaseMs: number;
  /** Stored transitions' events (EventWriter.published). */
  published: (events: TaskEvent[]) => void;
  /** Something became queued. */
  queueChanged: () => void;
  now?: () => number;
  onError?: (err: unknown, context: string) => void;
}

export class NodeRecovery {
  private readonly now: () => number;
  /** Lapsed ownerships found empty, by executor → the expiry seen: not looked at again until it changes. */
  private readonly clean = new Map<string, number>();

  constructor(private readonly deps: NodeRecoveryDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** One pass over the other nodes' executors; returns how many tasks were recovered. */
  async sweep(): Promise<number> {
    const { store } = this.deps;
    let recovered = 0;
    for (const row of await store.executorOwners()) {
      const { executor } = row;
      if (this.deps.own.has(executor) || sharedQueueOf(executor) === undefined) continue;
      if (row.expires_at > this.now() || this.clean.get(executor) === row.expires_at) continue;
      try {
        const back = await store.returnQueued(executor);
        const n = await this.recoverRunning(executor);
        recovered += n;
        if (back.length > 0 || n > 0) this.deps.queueChanged();
        // Found empty: the rows its own ownership changes say when to look again.
        else this.clean.set(executor, row.expires_at);
      } catch (err) {
        this.deps.onError?.(err, `recover node executor ${executor}`);
      }
    }
    return recovered;
  }

  private async recoverRunning(executor: string): Promise<number> {
    const { store, instanceId, ttlMs, leaseMs } = this.deps;
    const active = await store.list({ executor, status: ['running', 'cancelling'], limit: 1 });
    if (active.tasks.length === 0) return 0;
    const won = await store.claimExecutor(executor, instanceId, this.now(), ttlMs, false);
    if (won === null) return 0; // its node came back, or another node recovers it
    const fence: Fence = { executor, epoch: won.epoch };
    try {
      const now = this.now();
      const stale = (await store.staleLeases(instanceId, now, true)).filter((t) => t.executor === executor);
      const taken = new Set(await store.takeLeases(instanceId, stale, now + leaseMs, fence));
      const mine: Task[] = stale.filter((t) => taken.has(t.id));
      const results = await store.transition(mine.map((t) => recoveryTransition(t, now, fence)));
      this.deps.published(results.flatMap((r) => (r ? [r.event] : [])));
      // Re-queued ones that came from the shared queue go back to it.
      await store.returnQueued(executor);
      return mine.length;
    } finally {
      await store.releaseExecutor(fence, instanceId, this.now()).catch((err) => this.deps.onError?.(err, `release executor ${executor}`));
    }
  }
}
