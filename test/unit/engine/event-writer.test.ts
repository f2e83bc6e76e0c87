import { describe, expect, it, vi } from 'vitest';
import type { NewEvent, TaskEvent } from '../../../src/domain/events.ts';
import { EventWriter } from '../../../src/engine/event-writer.ts';
import { MemoryEventBus } from '../../../src/events/memory.ts';
import type { TaskStore } from '../../../src/store/task-store.ts';

/**
 * A store that records each appendEvents batch and numbers events per task. With `held`, each
 * write waits until the test calls release() (a slow store, without depending on timing).
 */
function recordingStore(held = false) {
  const batches: NewEvent[][] = [];
  const seqs = new Map<string, number>();
  const gates: (() => void)[] = [];
  const release = () => gates.shift()?.();
  const store = {
    async appendEvents(events: NewEvent[]): Promise<TaskEvent[]> {
      batches.push(events);
      if (held) await new Promise<void>((r) => gates.push(r));
      return events.map((e) => {
        const seq = (seqs.get(e.task_id) ?? 0) + 1;
        seqs.set(e.task_id, seq);
        return { ...e, seq };
      });
    },
  } as unknown as TaskStore;
  return { store, batches, release };
}

const progress = (task_id: string, fraction: number): NewEvent => ({ task_id, tenant: 'default', type: 'progress', ts: 0, data: { fraction } });
const log = (task_id: string, message: string): NewEvent => ({ task_id, tenant: 'default', type: 'log', ts: 0, data: { message } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('EventWriter', () => {
  it('an idle writer stores and publishes on the next turn', async () => {
    const { store, batches } = recordingStore();
    const bus = new MemoryEventBus();
    const seen: TaskEvent[] = [];
    bus.subscribe({ taskIds: new Set(['a']) }, (b) => seen.push(...b));
    const writer = new EventWriter(store, bus, () => {}, () => {}, 10_000);
    writer.push(log('a', 'hello'));
    await new Promise((r) => setImmediate(r));
    await writer.flush();
    expect(batches).toHaveLength(1);
    expect(seen.map((e) => e.data)).toEqual([{ message: 'hello' }]);
  });

  it('a busy writer groups what arrives within the interval into one transaction', async () => {
    const { store, batches } = recordingStore();
    const writer = new EventWriter(store, new MemoryEventBus(), () => {}, () => {}, 60);
    writer.push(log('a', '1'));
    await new Promise((r) => setImmediate(r)); // first flush: at once
    writer.push(log('a', '2'));
    writer.push(log('b', '3'));
    await sleep(15);
    expect(batches).toHaveLength(1); // the next flush waits for the interval
    await sleep(80);
    expect(batches.map((b) => b.map((e) => e.data.message))).toEqual([['1'], ['2', '3']]);
  });

  it('a store that keeps up loses no progress event, even when a flush takes longer than the events are apart', async () => {
    const { store, batches, release } = recordingStore(true);
    const writer = new EventWriter(store, new MemoryEventBus(), () => {}, () => {}, 2);
    writer.push(progress('a', 0.1));
    await new Promise((r) => setImmediate(r)); // the first write starts, and is held (a slow flush)
    for (const fraction of [0.2, 0.3]) {
      writer.push(progress('a', fraction));
      await sleep(10);
    }
    writer.push(log('a', 'x'));
    writer.push(progress('a', 0.4));
    await sleep(40);
    release();
    await vi.waitFor(() => expect(batches).toHaveLength(2));
    release();
    await writer.flush();
    expect(batches.map((b) => b.map((e) => e.data.fraction ?? e.data.message))).toEqual([[0.1], [0.2, 0.3, 'x', 0.4]]);
  });

  it('once the oldest buffered event is older than the bound, a task keeps only its latest progress, after its other events', async () => {
    const { store, batches, release } = recordingStore(true);
    const writer = new EventWriter(store, new MemoryEventBus(), () => {}, () => {}, 2, 20);
    writer.push(progress('a', 0.1));
    await new Promise((r) => setImmediate(r)); // held: the backlog builds behind it
    writer.push(progress('a', 0.2));
    writer.push(progress('a', 0.25)); // the buffer is young: both kept
    await sleep(30);
    writer.push(log('a', 'x'));
    writer.push(progress('a', 0.3));
    writer.push(progress('b', 0.5));
    writer.push(progress('a', 0.4));
    release();
    await vi.waitFor(() => expect(batches).toHaveLength(2));
    release();
    await writer.flush();
    expect(batches[1]?.map((e) => [e.task_id, e.data.fraction ?? e.data.message])).toEqual([
      ['a', 0.2],
      ['a', 'x'],
      ['b', 0.5],
      ['a', 0.4],
    ]);
    // the next buffer starts young again: nothing coalesced
    writer.push(progress('a', 0.6));
    writer.push(progress('a', 0.7));
    const last = writer.flush();
    release();
    await last;
    expect(batches[2]?.map((e) => e.data.fraction)).toEqual([0.6, 0.7]);
  });

  it('flush() writes at once, cancelling a pending timer', async () => {
    const { store, batches } = recordingStore();
    const writer = new EventWriter(store, new MemoryEventBus(), () => {}, () => {}, 10_000);
    writer.push(log('a', '1'));
    await writer.flush();
    writer.push(log('a', '2')); // inside the interval: a timer 10 s away
    await writer.flush();
    expect(batches.map((b) => b.map((e) => e.data.message))).toEqual([['1'], ['2']]);
    await sleep(20);
    expect(batches).toHaveLength(2);
  });

  it('while a write runs, what arrives is buffered and written as one batch after it, not queued batch by batch', async () => {
    const { store, batches, release } = recordingStore(true);
    const bus = new MemoryEventBus();
    const seen: string[] = [];
    bus.subscribe({}, (b) => seen.push(...b.map((e) => String(e.data.message))));
    const writer = new EventWriter(store, bus, () => {}, () => {}, 2);
    writer.push(log('a', '1'));
    await new Promise((r) => setImmediate(r)); // the first write starts, and is held
    for (let i = 2; i <= 6; i++) {
      writer.push(log(i % 2 ? 'a' : 'b', String(i)));
      await sleep(5); // well past the 2 ms pacing each time
    }
    expect(batches).toHaveLength(1);
    release();
    await vi.waitFor(() => expect(batches).toHaveLength(2));
    release();
    await writer.flush();
    expect(batches.map((b) => b.map((e) => e.data.message))).toEqual([['1'], ['2', '3', '4', '5', '6']]);
    expect(seen).toEqual(['1', '2', '3', '4', '5', '6']);
  });

  it('flush() during a write resolves once the events pushed before it are stored too', async () => {
    const { store, batches, release } = recordingStore(true);
    const writer = new EventWriter(store, new MemoryEventBus(), () => {}, () => {}, 2);
    writer.push(log('a', '1'));
    const first = writer.flush();
    writer.push(log('a', '2'));
    let done = false;
    const second = writer.flush().then(() => (done = true));
    release();
    await first;
    await vi.waitFor(() => expect(batches).toHaveLength(2));
    expect(done).toBe(false); // the second batch is still being written
    release();
    await second;
    expect(batches.map((b) => b.map((e) => e.data.message))).toEqual([['1'], ['2']]);
  });
});
