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
  /** Flushes run one after another, so events are stored in the order they were pushed. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: TaskStore,
    private readonly bus: EventBus,
    private readonly onWritten: (events: readonly TaskEvent[]) => void = () => {},
    private readonly onError: (err: unknown) => void = () => {},
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
      setImmediate(() => void this.flush());
    }
  }

  /**
   * Write everything buffered now; resolves once it (and every earlier flush) is stored.
   * Called before a task's final transition, so its logs and result precede its end state.
   */
  flush(): Promise<void> {
    this.scheduled = false;
    if (this.pending.length === 0) return this.chain;
    const batch = this.pending;
    this.pending = [];
    this.progressAt.clear();
    this.chain = this.chain.then(async () => {
      try {
        const stored = await this.store.appendEvents(batch);
        this.bus.publish(stored);
        this.onWritten(stored);
      } catch (err) {
        this.onError(err);
      }
    });
    return this.chain;
  }

  /** Publish events the store already wrote (state events from transitions, inserts). */
  published(events: readonly TaskEvent[]): void {
    if (events.length === 0) return;
    this.bus.publish(events);
    this.onWritten(events);
  }
}
