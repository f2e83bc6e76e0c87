/**
 * Crash recovery and leases. When this instance wins an executor's ownership (ownership.ts),
 * every task of that executor left in running/cancelling under another lease is taken over:
 * its previous owner is deposed, so whatever it still writes carries an old epoch and is
 * refused (store/task-store.ts, Fence); there is no guessing whether that owner is alive. The
 * leases are taken by compare-and-set, fenced, and the tasks handed to their executor to
 * re-attach (Executor.reattach). Per task it answers:
 *   running  → the task becomes this instance's: its devices are held again, its events and
 *              its one exit flow as for a task this instance started; a task that was
 *              `cancelling` is cancelled right after;
 *   finished → settled with that outcome, through the settle path of an exit (once);
 *   gone     → re-queued when attempts remain, else failed with TASK_LOST (a cancelling
 *              task becomes cancelled).
 * An executor whose reattach throws (its cluster is unreachable) leaves its tasks as they are
 * (their leases lapse and the next sweep asks again) and gets no new tasks meanwhile.
 * While running, the leases of this instance's tasks are renewed every third of a lease, and
 * expired leases on the executors it owns are swept the same way.
 */
import type { Task } from '../domain/task.ts';
import type { Executor, Reattached, RunCallbacks } from '../executors/executor.ts';
import type { Fence, TaskStore, TransitionRequest } from '../store/task-store.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { EventWriter } from './event-writer.ts';
import { sharedQueueOf } from './node-queues.ts';
import { recoveryTransition } from './settlement.ts';

export interface ReconcilerDeps {
  store: TaskStore;
  executors: ReadonlyMap<string, Executor>;
  dispatcher: Dispatcher;
  writer: EventWriter;
  instanceId: string;
  leaseMs: number;
  /** The fence of an executor this instance owns; its tasks only are recovered here. */
  fenceOf: (executor: string) => Fence | undefined;
  now?: () => number;
  onError?: (err: unknown, context: string) => void;
}

const UNANSWERED: Reattached = { state: 'gone', reason: 'its executor did not answer for it' };

export class Reconciler {
  private timer: NodeJS.Timeout | null = null;
  private readonly now: () => number;
  /** Executors whose last reattach threw: asked again on every sweep until one succeeds. */
  private readonly unreached = new Set<string>();

  constructor(private readonly deps: ReconcilerDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Executors that could not re-attach their tasks on the last try (for /ready). */
  get unreachable(): readonly string[] {
    return [...this.unreached];
  }

  /**
   * Just won `executor`'s ownership: take over and re-attach every task of it that runs under
   * another lease. Returns how many tasks were taken over.
   */
  recoverExecutor(executor: string): Promise<number> {
    return this.recover([executor], true);
  }

  /**
   * Tasks of executors no longer configured: nothing can follow them, they are recovered as
   * lost. Only for the store's one user (embedded): with several processes, another may serve them.
   */
  async recoverUnconfigured(): Promise<number> {
    const { store, instanceId, leaseMs } = this.deps;
    const now = this.now();
    const stale = (await store.staleLeases(instanceId, now, true)).filter((t) => !this.deps.executors.has(t.executor));
    if (stale.length === 0) return 0;
    const takenIds = new Set(await store.takeLeases(instanceId, stale, now + leaseMs));
    const taken = stale.filter((t) => takenIds.has(t.id));
    await this.apply(taken.map((t) => recoveryTransition(t, now)));
    return taken.length;
  }

  /** Take over (fenced) and re-attach the stale tasks of `executors` this instance owns. */
  private async recover(executors: readonly string[], exclusive: boolean): Promise<number> {
    const { store, instanceId, leaseMs, dispatcher } = this.deps;
    const now = this.now();
    const names = new Set(executors);
    const stale = (await store.staleLeases(instanceId, now, exclusive)).filter((t) => names.has(t.executor) && !dispatcher.isRunningHere(t.id));
    const recoveries: TransitionRequest[] = [];
    let count = 0;
    for (const name of executors) {
      const executor = this.deps.executors.get(name);
      const fence = this.deps.fenceOf(name);
      if (executor === undefined || fence === undefined) continue;
      const mine = stale.filter((t) => t.executor === name);
      // A node's own executor just won (`local@<node>`, node-queues.ts) re-attaches even with no
      // task to follow: its predecessor on this node may have left processes whose tasks another
      // node has recovered meanwhile, and re-attaching kills them (local/orphans.ts).
      if (mine.length === 0 && !this.unreached.has(name) && !(exclusive && sharedQueueOf(name) !== undefined)) continue;
      const takenIds = new Set(mine.length ? await store.takeLeases(instanceId, mine, now + leaseMs, fence) : []);
      const taken = mine.filter((t) => takenIds.has(t.id)).map((t) => ({ ...t, lease_owner: instanceId, lease_expires_at: now + leaseMs }));
      count += taken.length;
      recoveries.push(...(await this.reattach(executor, taken, now, fence)));
    }
    await this.apply(recoveries);
    return count;
  }

  private async apply(recoveries: TransitionRequest[]): Promise<void> {
    if (recoveries.length === 0) return;
    const results = await this.deps.store.transition(recoveries);
    this.deps.writer.published(results.flatMap((r) => (r ? [r.event] : [])));
    this.deps.dispatcher.queueChanged();
  }

  /** One executor's re-attach; returns the recoveries of its tasks that are gone. */
  private async reattach(executor: Executor, tasks: Task[], now: number, fence: Fence): Promise<TransitionRequest[]> {
    const { dispatcher } = this.deps;
    const followed = new Map<string, RunCallbacks>();
    const callbacks = (task: Task): RunCallbacks => {
      let cb = followed.get(task.id);
      if (cb === undefined) followed.set(task.id, (cb = dispatcher.adopt(task, executor, fence)));
      return cb;
    };
    dispatcher.pause(executor.name, true);
    let answers: Map<string, Reattached>;
    try {
      answers = await executor.reattach(tasks, callbacks);
    } catch (err) {
      for (const id of followed.keys()) dispatcher.disown(id);
      if (!this.unreached.has(executor.name)) this.deps.onError?.(err, `re-attach to executor ${executor.name}`);
      this.unreached.add(executor.name);
      return [];
    }
    this.unreached.delete(executor.name);
    dispatcher.pause(executor.name, false);
    const recoveries: TransitionRequest[] = [];
    for (const task of tasks) {
      const answer = answers.get(task.id) ?? UNANSWERED;
      const cb = followed.get(task.id);
      if (answer.state === 'running' && cb !== undefined) dispatcher.followed(task.id);
      else if (answer.state === 'finished') callbacks(task).exit(answer.outcome);
      else {
        // Gone; or said to run without taking its callbacks: nothing would ever report its end.
        if (answer.state === 'running') this.deps.onError?.(new Error(`executor ${executor.name} re-attached ${task.id} without its callbacks`), 're-attach');
        if (cb !== undefined) dispatcher.disown(task.id);
        recoveries.push(recoveryTransition(task, now, fence));
      }
    }
    return recoveries;
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
          const owned = [...this.deps.executors.keys()].filter((name) => this.deps.fenceOf(name) !== undefined);
          const expiresAt = this.now() + this.deps.leaseMs;
          for (const [fence, ids] of this.deps.dispatcher.runningByFence()) await this.deps.store.renewLeases(this.deps.instanceId, ids, expiresAt, fence);
          await this.recover(owned, false);
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
