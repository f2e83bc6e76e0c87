/**
 * Crash recovery and leases. On start, and from then on for every lease that expires, the
 * tasks a previous server instance left in running/cancelling are taken over (a
 * compare-and-set on their lease: of several instances one wins each task) and handed to
 * their executor to re-attach (Executor.reattach). Per task it answers:
 *   running  → the task becomes this instance's: its devices are held again, its events and
 *              its one exit flow as for a task this instance started; a task that was
 *              `cancelling` is cancelled right after;
 *   finished → settled with that outcome, through the settle path of an exit (once);
 *   gone     → re-queued when attempts remain, else failed with TASK_LOST (a cancelling
 *              task becomes cancelled).
 * An executor whose reattach throws (its cluster is unreachable) leaves its tasks as they are
 * (their leases lapse and the next sweep asks again) and gets no new tasks meanwhile.
 * While running, the leases of this instance's tasks are renewed every third of a lease.
 */
import type { Task } from '../domain/task.ts';
import type { Executor, Reattached, RunCallbacks } from '../executors/executor.ts';
import type { TaskStore, TransitionRequest } from '../store/task-store.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { EventWriter } from './event-writer.ts';
import { recoveryTransition } from './settlement.ts';

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

  /** Take over and re-attach what a previous instance left. Returns how many tasks were taken over. */
  async recover(exclusive = this.deps.exclusive): Promise<number> {
    const { store, instanceId, leaseMs, dispatcher } = this.deps;
    const now = this.now();
    const stale = (await store.staleLeases(instanceId, now, exclusive)).filter((t) => !dispatcher.isRunningHere(t.id));
    const takenIds = new Set(stale.length ? await store.takeLeases(instanceId, stale, now + leaseMs) : []);
    const taken = stale.filter((t) => takenIds.has(t.id)).map((t) => ({ ...t, lease_owner: instanceId, lease_expires_at: now + leaseMs }));
    const recoveries: TransitionRequest[] = [];
    for (const [name, executor] of this.deps.executors) {
      const mine = taken.filter((t) => t.executor === name);
      if (mine.length === 0 && !this.unreached.has(name)) continue;
      recoveries.push(...(await this.reattach(executor, mine, now)));
    }
    // An executor no longer configured: nothing can follow its tasks.
    for (const t of taken) if (!this.deps.executors.has(t.executor)) recoveries.push(recoveryTransition(t, now));
    if (recoveries.length) {
      const results = await store.transition(recoveries);
      this.deps.writer.published(results.flatMap((r) => (r ? [r.event] : [])));
      dispatcher.queueChanged();
    }
    return taken.length;
  }

  /** One executor's re-attach; returns the recoveries of its tasks that are gone. */
  private async reattach(executor: Executor, tasks: Task[], now: number): Promise<TransitionRequest[]> {
    const { dispatcher } = this.deps;
    const followed = new Map<string, RunCallbacks>();
    const callbacks = (task: Task): RunCallbacks => {
      let cb = followed.get(task.id);
      if (cb === undefined) followed.set(task.id, (cb = dispatcher.adopt(task, executor)));
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
        recoveries.push(recoveryTransition(task, now));
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
