/**
 * In-process EventBus: subscribers indexed by task id, and the rest (tenant or catch-all).
 * Delivery is synchronous. A publish made by a handler while a publish is being delivered
 * is queued behind it, so every subscriber sees batches in publish order (delivering it at
 * once, nested, would hand it to the subscribers after the current one before the event
 * that caused it).
 */
import type { TaskEvent } from '../domain/events.ts';
import type { EventBus, EventHandler, Subscription } from './event-bus.ts';

interface Entry {
  /** Only this tenant's events (undefined = every tenant). */
  tenant: string | undefined;
  handler: EventHandler;
}

export class MemoryEventBus implements EventBus {
  private readonly byTask = new Map<string, Set<Entry>>();
  private readonly broad = new Set<Entry>();
  private delivering = false;
  /** Publishes made by handlers during a delivery, in order. */
  private readonly pending: (readonly TaskEvent[])[] = [];

  publish(events: readonly TaskEvent[]): void {
    if (events.length === 0) return;
    if (this.delivering) {
      this.pending.push(events);
      return;
    }
    this.delivering = true;
    try {
      this.deliver(events);
      for (let next = this.pending.shift(); next; next = this.pending.shift()) this.deliver(next);
    } finally {
      this.delivering = false;
      this.pending.length = 0;
    }
  }

  private deliver(events: readonly TaskEvent[]): void {
    const batches = new Map<Entry, TaskEvent[]>();
    const add = (e: Entry, ev: TaskEvent) => {
      const b = batches.get(e);
      if (b) b.push(ev);
      else batches.set(e, [ev]);
    };
    for (const ev of events) {
      const direct = this.byTask.get(ev.task_id);
      if (direct) for (const e of direct) if (e.tenant === undefined || e.tenant === ev.tenant) add(e, ev);
      for (const e of this.broad) if (e.tenant === undefined || e.tenant === ev.tenant) add(e, ev);
    }
    for (const [entry, batch] of batches) {
      try {
        entry.handler(batch);
      } catch {
        // A failing subscriber must not stop delivery to the others.
      }
    }
  }

  subscribe(sub: Subscription, handler: EventHandler): () => void {
    // The filter as it is now: a caller changing its set later must not leave entries behind.
    const taskIds = sub.taskIds ? [...sub.taskIds] : null;
    const entry: Entry = { tenant: sub.tenant, handler };
    if (taskIds) {
      for (const id of taskIds) {
        let set = this.byTask.get(id);
        if (!set) this.byTask.set(id, (set = new Set()));
        set.add(entry);
      }
    } else this.broad.add(entry);
    return () => {
      if (taskIds) {
        for (const id of taskIds) {
          const set = this.byTask.get(id);
          set?.delete(entry);
          if (set?.size === 0) this.byTask.delete(id);
        }
      } else this.broad.delete(entry);
    };
  }

  async close(): Promise<void> {
    this.byTask.clear();
    this.broad.clear();
  }
}
