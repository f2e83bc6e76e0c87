/**
 * Instruments around the real store and the real bus of the API tests. They change nothing
 * the engine sees except timing: every call still goes to the real SqliteTaskStore and the
 * real MemoryEventBus.
 *
 * StoreProbe counts writes and can answer like a networked store (PostgreSQL): a turn of the
 * event loop before and after each call. The embedded SQLite store answers within the same
 * turn, so without that no event could ever be published while a stream reads the log, and
 * the tests of feed.ts's replay/live hand-over could not fail. Hooks run inside a call,
 * before it reaches the store or after it answered, and are awaited (a test holds a read open
 * while a real script reports an event).
 *
 * BusProbe records every published event per task, counts the API's live subscriptions, and
 * can lose events (as a networked bus may) or look at the moment right after a publish.
 */
import type { TaskEvent } from '../../../src/domain/events.ts';
import type { EventBus, EventHandler, Subscription } from '../../../src/events/event-bus.ts';
import { MemoryEventBus } from '../../../src/events/memory.ts';
import type { TaskStore } from '../../../src/store/task-store.ts';

type Method = keyof TaskStore;
/** Gets the call's arguments (the first is the task id for get and readEvents). */
export type StoreHook = (...args: unknown[]) => unknown;

const WRITES: ReadonlySet<Method> = new Set(['insert', 'transition', 'appendEvents', 'delete']);
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class StoreProbe {
  readonly store: TaskStore;
  /** Write calls (insert, transition, appendEvents, delete) the store took. */
  writes = 0;
  /** Calls made and not answered yet. */
  inFlight = 0;
  networked = false;
  readonly before: Partial<Record<Method, StoreHook>> = {};
  readonly after: Partial<Record<Method, StoreHook>> = {};
  readonly calls: Partial<Record<Method, number>> = {};

  constructor(inner: TaskStore) {
    this.store = new Proxy(inner, {
      get: (target, prop, receiver) => {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== 'function') return value;
        const method = prop as Method;
        return async (...args: unknown[]) => {
          this.inFlight++;
          this.calls[method] = (this.calls[method] ?? 0) + 1;
          try {
            if (this.networked) await turn();
            await this.before[method]?.(...args);
            const result: unknown = await (value as (...a: unknown[]) => unknown).apply(target, args);
            if (WRITES.has(method)) this.writes++;
            await this.after[method]?.(...args);
            if (this.networked) await turn();
            return result;
          } finally {
            this.inFlight--;
          }
        };
      },
    });
  }

  /** Resolves once no call is in flight (over a few turns of the event loop). */
  async settled(): Promise<void> {
    for (let quiet = 0; quiet < 3; ) {
      await turn();
      quiet = this.inFlight === 0 ? quiet + 1 : 0;
    }
  }
}

export class BusProbe implements EventBus {
  readonly inner = new MemoryEventBus();
  private readonly log = new Map<string, TaskEvent[]>();
  /** Subscriptions made through this bus (the engine's, for the API) and not yet ended. */
  active = 0;
  readonly subscriptions: Subscription[] = [];
  /** Events this returns true for are recorded but never delivered. */
  drop: ((event: TaskEvent) => boolean) | null = null;
  /** Runs right after each publish was delivered, in the same turn. */
  afterPublish: ((events: readonly TaskEvent[]) => void) | null = null;

  /** Every event published for a task so far, in order (also the dropped ones). */
  published(taskId: string): readonly TaskEvent[] {
    return this.log.get(taskId) ?? [];
  }

  publish(events: readonly TaskEvent[]): void {
    for (const e of events) {
      let list = this.log.get(e.task_id);
      if (!list) this.log.set(e.task_id, (list = []));
      list.push(e);
    }
    const drop = this.drop;
    this.inner.publish(drop ? events.filter((e) => !drop(e)) : events);
    this.afterPublish?.(events);
  }

  subscribe(sub: Subscription, handler: EventHandler): () => void {
    this.subscriptions.push(sub);
    const unsubscribe = this.inner.subscribe(sub, handler);
    this.active++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.active--;
      unsubscribe();
    };
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
