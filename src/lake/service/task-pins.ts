/**
 * What the lake service remembers per running task: the version of each table it read (its
 * pin, so the test split reads the same snapshot as the train split, and the lineage of what
 * it writes names exact inputs) and the tables it writes (so they cannot be deleted under it).
 *
 * It lives only while the task runs. The end of a task reaches every server on the event bus
 * (a terminal `state` event), and the task is forgotten then. A lake call still in flight at
 * that moment may note something after the event passed: it calls forgetIfEnded() once it
 * noted, which reads the task from the store (written before the event is published) and
 * forgets a task that has ended. Either the store says "ended" then, or the event is yet to
 * come: nothing is left behind.
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

const key = (kind: LakeKind, name: string): string => `${kind}/${name}`;

const endsTask = (e: TaskEvent): boolean => e.type === 'state' && isTerminal(e.data.status as TaskStatus);

export class TaskPins {
  private readonly reads = new Map<string, Map<string, PinnedRead>>();
  private readonly writes = new Map<string, Set<string>>();
  private readonly unsubscribe: () => void;

  constructor(
    bus: EventBus,
    private readonly store: TaskStore,
  ) {
    this.unsubscribe = bus.subscribe(
      // A networked bus may drop events (the end of a task among them): ask the store about every task held.
      { onGap: () => void Promise.all([...this.heldTasks()].map((id) => this.forgetIfEnded(id))).catch(() => undefined) },
      (batch) => {
        for (const e of batch) if (endsTask(e)) this.forget(e.task_id);
      },
    );
  }

  /** The version of this table the task read first, if it did. */
  pinOf(taskId: string, kind: LakeKind, name: string): PinnedRead | undefined {
    return this.reads.get(taskId)?.get(key(kind, name));
  }

  /** Every table the task read, with its pin. */
  readsOf(taskId: string): PinnedRead[] {
    return [...(this.reads.get(taskId)?.values() ?? [])];
  }

  noteRead(taskId: string, kind: LakeKind, name: string, version: number): void {
    let m = this.reads.get(taskId);
    if (!m) this.reads.set(taskId, (m = new Map()));
    m.set(key(kind, name), { kind, name, version });
  }

  noteWrite(taskId: string, kind: LakeKind, name: string): void {
    let set = this.writes.get(taskId);
    if (!set) this.writes.set(taskId, (set = new Set()));
    set.add(key(kind, name));
  }

  /** Tasks that read or write this table (running ones, unless their end is still on its way). */
  usersOf(kind: LakeKind, name: string): string[] {
    const k = key(kind, name);
    return [...this.heldTasks()].filter((id) => this.reads.get(id)?.has(k) || this.writes.get(id)?.has(k));
  }

  forget(taskId: string): void {
    this.reads.delete(taskId);
    this.writes.delete(taskId);
  }

  /** After a call that noted something for the task: forget it if it ended meanwhile (see above). */
  async forgetIfEnded(taskId: string): Promise<void> {
    const task = await this.store.get(taskId);
    if (!task || isTerminal(task.status)) this.forget(taskId);
  }

  /** What is kept for a task (null: nothing). */
  heldFor(taskId: string): { reads: PinnedRead[]; writes: string[] } | null {
    const writes = this.writes.get(taskId);
    if (!this.reads.has(taskId) && !writes) return null;
    return { reads: this.readsOf(taskId), writes: [...(writes ?? [])] };
  }

  private heldTasks(): Set<string> {
    return new Set([...this.reads.keys(), ...this.writes.keys()]);
  }

  /** Stop following task ends. */
  close(): void {
    this.unsubscribe();
  }
}
