/**
 * Buffers events reported by running scripts and writes them in one store transaction per
 * tick, then publishes what was stored. Under load, several progress events of one task
 * queued in the same tick collapse into the latest (the only one a client needs); every
 * other event type is kept. State events never pass through here: the store appends them
 * atomically with their transition.
 */
import type { NewEvent, TaskEvent } from '../domain/events.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { TaskStore } from '../store/task-store.ts';

export class EventWriter {
  private pending: NewEvent[] = [];
  /** index in `pending` of the latest progress event per task */
  private progressAt = new Map<string, number>();
  private scheduled = false;

  constructor(
    private readonly store: TaskStore,
    private readonly bus: EventBus,
    private readonly onWritten: (events: readonly TaskEvent[]) => void = () => {},
  ) {}

  push(event: NewEvent): void {
    if (event.type === 'progress') {
      const at = this.progressAt.get(event.task_id);
      if (at !== undefined) {
        this.pending[at] = event;
        return;
      }
      this.progressAt.set(event.task_id, this.pending.length);
    }
    this.pending.push(event);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Write everything buffered now (called before a task's final transition, so order holds). */
  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.progressAt.clear();
    const stored = this.store.appendEvents(batch);
    this.bus.publish(stored);
    this.onWritten(stored);
  }

  /** Publish events the store already wrote (state events from transitions, inserts). */
  published(events: readonly TaskEvent[]): void {
    if (events.length === 0) return;
    this.bus.publish(events);
    this.onWritten(events);
  }
}
