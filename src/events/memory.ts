/** In-process EventBus: subscribers indexed by task id, by tenant, and catch-all. */
import type { TaskEvent } from '../domain/events.ts';
import type { EventBus, EventHandler, Subscription } from './event-bus.ts';

interface Entry {
  sub: Subscription;
  handler: EventHandler;
}

export class MemoryEventBus implements EventBus {
  private readonly byTask = new Map<string, Set<Entry>>();
  private readonly broad = new Set<Entry>();

  publish(events: readonly TaskEvent[]): void {
    if (events.length === 0) return;
    const batches = new Map<Entry, TaskEvent[]>();
    const add = (e: Entry, ev: TaskEvent) => {
      const b = batches.get(e);
      if (b) b.push(ev);
      else batches.set(e, [ev]);
    };
    for (const ev of events) {
      const direct = this.byTask.get(ev.task_id);
      if (direct) for (const e of direct) if (e.sub.tenant === undefined || e.sub.tenant === ev.tenant) add(e, ev);
      for (const e of this.broad) if (e.sub.tenant === undefined || e.sub.tenant === ev.tenant) add(e, ev);
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
    const entry: Entry = { sub, handler };
    if (sub.taskIds) {
      for (const id of sub.taskIds) {
        let set = this.byTask.get(id);
        if (!set) this.byTask.set(id, (set = new Set()));
        set.add(entry);
      }
    } else this.broad.add(entry);
    return () => {
      if (sub.taskIds) {
        for (const id of sub.taskIds) {
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
