/**
 * What the lake service keeps per running task: the version of each table it read (its
 * pin, so the test split reads the same snapshot as the train split, and the lineage of what
 * it writes names exact inputs) and the tables it writes (so they cannot be deleted under it).
 *
 * Kept in the task store (store/lake-pin-store.ts), not in this process: a restarted server,
 * or another node serving the task's next lake call, knows the pins (a task retried after a
 * crash keeps them: its next attempt reads the snapshots the first one did). Released when the
 * task ends: the end of a task reaches every server on the event bus (a terminal `state`
 * event), and any of them releases it. A lake call still in flight at that moment may note
 * something after the event passed: it calls forgetIfEnded() once it noted, which reads the
 * task from the store (written before the event is published) and releases a task that has
 * ended. An end nobody heard (a bus gap, a crash between the store's write and the publish) is
 * caught by sweep(): on start, and on every gap.
 */
import type { TaskEvent } from '../../domain/events.ts';
import { isTerminal, type TaskStatus } from '../../domain/task.ts';
import type { EventBus } from '../../events/event-bus.ts';
import type { TaskStore } from '../../store/task-store.ts';
import type { LakeKind } from '../lake.ts';

/** A table a task read, with the version it read. */
export interface PinnedRead {
  kind: LakeKind;
  name: string;
  version: number;
}

const endsTask = (e: TaskEvent): boolean => e.type === 'state' && isTerminal(e.data.status as TaskStatus);

export class TaskPins {
  private readonly unsubscribe: () => void;

  constructor(
    bus: EventBus,
    private readonly store: TaskStore,
    private readonly now: () => number = Date.now,
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    this.unsubscribe = bus.subscribe(
      // A networked bus may drop events (the end of a task among them): ask the store about every task held.
      { onGap: () => this.sweep() },
      // The ends of a batch are released together: one statement, not one per task.
      (batch) => {
        const ended = batch.filter(endsTask).map((e) => e.task_id);
        if (ended.length > 0) this.store.lakePins.releaseLakePins(ended).catch(this.onError);
      },
    );
    this.sweep();
  }

  /** The version of this table the task read first, if it did. */
  async pinOf(taskId: string, kind: LakeKind, name: string): Promise<PinnedRead | undefined> {
    return (await this.readsOf(taskId)).find((r) => r.kind === kind && r.name === name);
  }

  /** Every table the task read, with its pin. */
  async readsOf(taskId: string): Promise<PinnedRead[]> {
    return (await this.store.lakePins.lakePinsOf(taskId)).reads as PinnedRead[];
  }

  /** Pins `version` unless the task pinned the table already (another node, a race); returns the pin. */
  noteRead(task: { id: string; tenant: string }, kind: LakeKind, name: string, version: number): Promise<number> {
    return this.store.lakePins.pinLakeRead(task.id, task.tenant, { kind, name }, version, this.now());
  }

  noteWrite(task: { id: string; tenant: string }, kind: LakeKind, name: string): Promise<void> {
    return this.store.lakePins.noteLakeWrite(task.id, task.tenant, { kind, name }, this.now());
  }

  /** Tasks that read or write this table (running ones, unless their end is still on its way). */
  usersOf(kind: LakeKind, name: string, tenant?: string): Promise<string[]> {
    return this.store.lakePins.lakeTableUsers({ kind, name }, tenant);
  }

  forget(taskId: string): Promise<void> {
    return this.store.lakePins.releaseLakePins([taskId]);
  }

  /** After a call that noted something for the task: forget it if it ended meanwhile (see above). */
  async forgetIfEnded(taskId: string): Promise<void> {
    const task = await this.store.get(taskId);
    if (!task || isTerminal(task.status)) await this.forget(taskId);
  }

  /** What is kept for a task (null: nothing). */
  async heldFor(taskId: string): Promise<{ reads: PinnedRead[]; writes: string[] } | null> {
    const { reads, writes } = await this.store.lakePins.lakePinsOf(taskId);
    if (reads.length === 0 && writes.length === 0) return null;
    return { reads: reads as PinnedRead[], writes: writes.map((w) => `${w.kind}/${w.name}`) };
  }

  /** Releases what tasks that ended unheard still hold. */
  sweep(): void {
    void (async () => {
      for (const id of await this.store.lakePins.lakePinnedTasks()) await this.forgetIfEnded(id);
    })().catch(this.onError);
  }

  /** Stop following task ends. */
  close(): void {
    this.unsubscribe();
  }
}
