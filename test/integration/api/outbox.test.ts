import { describe, expect, it } from 'vitest';
import { Outbox } from '../../../src/api/outbox.ts';

interface Item {
  key: string | null;
  v: number;
}

function harness(maxQueued = 1000) {
  const written: Item[] = [];
  let room = true;
  let overflowed = false;
  const box = new Outbox<Item>(
    { writable: () => room, write: (i) => written.push(i) },
    { keyOf: (i) => i.key, maxQueued, onOverflow: () => (overflowed = true) },
  );
  return {
    box,
    written,
    setRoom: (r: boolean) => (room = r),
    get overflowed() {
      return overflowed;
    },
  };
}

describe('Outbox', () => {
  it('writes at once while the transport has room', () => {
    const h = harness();
    h.box.push({ key: 'a', v: 1 });
    h.box.push({ key: 'a', v: 2 });
    expect(h.written.map((i) => i.v)).toEqual([1, 2]);
    expect(h.box.queued).toBe(0);
  });

  it('while backed up keeps only the latest item per key, in place, and every unkeyed item', () => {
    const h = harness();
    h.setRoom(false);
    const pushes: Item[] = [
      { key: 'a', v: 1 },
      { key: null, v: 2 },
      { key: 'b', v: 3 },
      { key: 'a', v: 4 },
      { key: null, v: 5 },
      { key: 'a', v: 6 },
      { key: 'b', v: 7 },
    ];
    for (const p of pushes) h.box.push(p);
    expect(h.box.queued).toBe(4);
    h.setRoom(true);
    h.box.flush();
    expect(h.written.map((i) => i.v)).toEqual([2, 5, 6, 7]);
    h.box.push({ key: 'a', v: 8 });
    expect(h.written.map((i) => i.v)).toEqual([2, 5, 6, 7, 8]);
  });

  it('survives a million superseded items without growing', () => {
    const h = harness();
    h.setRoom(false);
    for (let v = 0; v < 1_000_000; v++) h.box.push({ key: 'p', v });
    expect(h.box.queued).toBe(1);
    h.setRoom(true);
    h.box.flush();
    expect(h.written).toEqual([{ key: 'p', v: 999_999 }]);
  });

  it('runs drain waiters once the queue is empty and gives up past maxQueued', () => {
    const h = harness(3);
    let drained = 0;
    h.setRoom(false);
    h.box.push({ key: null, v: 1 });
    h.box.onceDrained(() => drained++);
    expect(drained).toBe(0);
    h.setRoom(true);
    h.box.flush();
    expect(drained).toBe(1);
    h.setRoom(false);
    for (let v = 0; v < 4; v++) h.box.push({ key: null, v });
    expect(h.overflowed).toBe(true);
    h.setRoom(true);
    h.box.push({ key: null, v: 9 });
    expect(h.written.map((i) => i.v)).toEqual([1]);
  });
});
