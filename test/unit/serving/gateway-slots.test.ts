import { describe, expect, it } from 'vitest';
import type { Flight } from '../../../src/serving/gateway/flights.ts';
import { ReplicaSlots } from '../../../src/serving/gateway/slots.ts';
import { DoublingReplica } from './test-replica.ts';

const setup = () => {
  const lost: string[] = [];
  let changes = 0;
  const slots = new ReplicaSlots({ maxConcurrent: 1, lost: (_f, why) => lost.push(why), changed: () => (changes += 1) });
  return { slots, lost, changes: () => changes };
};

/** A batch in flight on the slot, as gateway/flights.ts records one. */
const busy = (slots: ReplicaSlots, id: string): Flight => {
  const slot = slots.get(id)!;
  const f = { slices: [], rows: 2, attempt: 1, abort: null, tried: new Set([id]), lostRetries: 0 } satisfies Flight;
  slot.inFlight.add(f);
  slot.batchesInFlight += 1;
  slot.rowsInFlight += 2;
  return f;
};

const release = (slots: ReplicaSlots, id: string, f: Flight): void => {
  const slot = slots.get(id)!;
  slot.inFlight.delete(f);
  slot.batchesInFlight -= 1;
  slot.rowsInFlight -= 2;
  slots.released(slot);
};

describe('gateway replica slots', () => {
  it('a draining replica leaves when its last batch is released, not before, and is no longer ready', async () => {
    const { slots, changes } = setup();
    slots.add(new DoublingReplica('r1'));
    slots.add(new DoublingReplica('r2'));
    const f = busy(slots, 'r1');
    expect(slots.rowsInFlight()).toBe(2);
    let drained = false;
    const done = slots.drain('r1').then(() => (drained = true));
    await Promise.resolve();
    expect(drained).toBe(false);
    expect(slots.ready().map((s) => s.replica.id)).toEqual(['r2']);
    expect(slots.stats().map((s) => [s.id, s.state])).toEqual([['r1', 'draining'], ['r2', 'ready']]);
    const before = changes();
    release(slots, 'r1', f);
    await done;
    expect(slots.get('r1')).toBeUndefined();
    expect(changes()).toBeGreaterThan(before);
  });

  it('a replica added again while its old slot drains keeps its new slot when the old one empties', () => {
    const { slots } = setup();
    slots.add(new DoublingReplica('r1'));
    const f = busy(slots, 'r1');
    const old = slots.get('r1')!;
    void slots.drain('r1');
    slots.add(new DoublingReplica('r1'));
    const fresh = slots.get('r1');
    old.inFlight.delete(f);
    old.batchesInFlight -= 1;
    slots.released(old);
    expect(slots.get('r1')).toBe(fresh);
  });

  it('removing a replica loses its batches in flight and ends its drain', async () => {
    const { slots, lost } = setup();
    slots.add(new DoublingReplica('r1'));
    busy(slots, 'r1');
    const drained = slots.drain('r1');
    slots.remove('r1');
    await drained;
    expect(lost).toEqual(['replica r1 was removed']);
    expect(slots.get('r1')).toBeUndefined();
  });

  it('round robin moves its cursor only when a pick is taken; held GPUs are the ready replicas\'', () => {
    const { slots } = setup();
    const r1 = new DoublingReplica('r1');
    const r2 = new DoublingReplica('r2');
    r2.gpus = ['0'];
    slots.add(r1);
    slots.add(r2);
    expect(slots.choose('round_robin')?.id).toBe('r1');
    expect(slots.choose('round_robin')?.id).toBe('r1');
    expect(slots.take(slots.choose('round_robin'))?.replica.id).toBe('r1');
    expect(slots.choose('round_robin')?.id).toBe('r2');
    expect(slots.choose('round_robin', new Set(['r2']))?.id).toBe('r1');
    expect(slots.take(null)).toBeNull();
    expect([...slots.heldGpus()]).toEqual(['0']);
    r2.state = 'starting';
    expect([...slots.heldGpus()]).toEqual([]);
  });
});
