/**
 * TaskPins forgets a task when its end comes over the bus; a networked bus may drop that event
 * and say so (onGap). Then every task held is looked up in the store: ended ones are forgotten,
 * running ones kept.
 */
import { describe, expect, it } from 'vitest';
import type { EventHandler, Subscription } from '../../../src/events/event-bus.ts';
import { MemoryEventBus } from '../../../src/events/memory.ts';
import { TaskPins } from '../../../src/lake/service/task-pins.ts';
import { SqliteTaskStore } from '../../../src/store/sqlite/sqlite-store.ts';
import { seed, start, T0, makeTask } from '../store/fixtures.ts';
import { until } from '../../helpers/until.ts';

class GapBus extends MemoryEventBus {
  readonly subs: Subscription[] = [];
  override subscribe(sub: Subscription, handler: EventHandler): () => void {
    this.subs.push(sub);
    return super.subscribe(sub, handler);
  }
}

describe('task pins after a bus gap', () => {
  it('forgets the tasks the store says ended, keeps the running ones', async () => {
    const store = SqliteTaskStore.open(':memory:');
    const bus = new GapBus();
    const pins = new TaskPins(bus, store);
    const [ended, running] = await seed(store, [makeTask(), makeTask()]);
    await start(store, ended!.id);
    await start(store, running!.id);
    // The end is stored, but its event never reaches this node's bus.
    const [done] = await store.transition([{ id: ended!.id, from: ['running'], to: 'completed', patch: { finished_at: T0 + 5 }, now: T0 + 5 }]);
    expect(done?.task.status).toBe('completed');
    for (const t of [ended!, running!]) await pins.noteRead(t, 'datasets', 'rows', 3);
    expect(await pins.heldFor(ended!.id)).not.toBeNull();
    for (const s of bus.subs) s.onGap?.();
    await until('the ended task forgotten', async () => ((await pins.heldFor(ended!.id)) === null ? true : undefined), 5_000, 10);
    expect((await pins.heldFor(running!.id))?.reads).toEqual([{ kind: 'datasets', name: 'rows', version: 3 }]);
    pins.close();
    await store.close();
  });
});
