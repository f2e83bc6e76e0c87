/**
 * The gateway closes a batch of session chunks before batch_timeout_ms once the wave is in:
 * every chain answered within the timeout has its next request queued (or running). On a
 * manual clock and timers, so "at once" and "after the timeout" are exact.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LakerayError } from '../../../src/domain/errors.ts';
import { Gateway, type GatewayTimers } from '../../../src/serving/gateway.ts';
import type { BatchSettings } from '../../../src/serving/types.ts';
import { DoublingReplica, rowsOf } from './test-replica.ts';

const TIMEOUT = 100;
const SETTINGS: BatchSettings = {
  max_batch_size: 8, batch_timeout_ms: TIMEOUT, enable_dynamic_batching: true, max_queue: 1000,
  request_timeout_ms: 60_000, load_balance_strategy: 'least_loaded',
};

/** A clock and timers that move only when told to. */
class ManualTime {
  now = 0;
  private nextId = 0;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();
  readonly clock = (): number => this.now;
  readonly timers: GatewayTimers = {
    setTimeout: (fn, ms) => {
      const id = ++this.nextId;
      this.pending.set(id, { at: this.now + ms, fn });
      return id;
    },
    clearTimeout: (h) => void this.pending.delete(h as number),
  };

  /** Move the clock by `ms`, firing the timers due on the way (in time order), then let promises settle. */
  async advance(ms: number): Promise<void> {
    const to = this.now + ms;
    for (;;) {
      const due = [...this.pending].filter(([, t]) => t.at <= to).sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.pending.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
      await settle();
    }
    this.now = to;
    await settle();
  }
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

const gateways: Gateway[] = [];
const setup = () => {
  const time = new ManualTime();
  const g = new Gateway({ settings: SETTINGS, clock: time.clock, timers: time.timers });
  gateways.push(g);
  const r = new DoublingReplica('r1');
  g.addReplica(r);
  const answered: string[] = [];
  const chunk = (chain: string | undefined, label: string): void => {
    void g.submit({ inputs: rowsOf(1, 0), rows: 1, chain }).then(() => answered.push(label));
  };
  return { time, g, r, answered, chunk };
};
afterEach(() => {
  for (const g of gateways.splice(0)) g.close(new LakerayError('NOT_READY'));
});

describe('Gateway: a wave of session chunks', () => {
  it('closes the batch as soon as every session answered within the timeout has sent its next chunk', async () => {
    const { time, r, answered, chunk } = setup();
    // New sessions: nothing tells how many will come, so the plain rule (the timeout) holds.
    chunk('a', 'a0');
    chunk('b', 'b0');
    chunk('c', 'c0');
    await time.advance(TIMEOUT - 1);
    expect(r.batches).toEqual([]);
    await time.advance(1);
    expect(r.batches).toEqual([3]);
    expect(answered.sort()).toEqual(['a0', 'b0', 'c0']);
    // Their next chunks: the batch waits while one of them is still to come, and goes when it comes.
    chunk('a', 'a1');
    chunk('b', 'b1');
    await time.advance(10);
    expect(r.batches).toEqual([3]);
    chunk('c', 'c1');
    await time.advance(0);
    expect(r.batches).toEqual([3, 3]);
    expect(answered).toHaveLength(6);
  });

  it('does not wait for a session quiet longer than the timeout, and keeps the plain rule for requests without a chain', async () => {
    const { time, r, chunk } = setup();
    chunk('a', 'a0');
    chunk('b', 'b0');
    await time.advance(TIMEOUT);
    expect(r.batches).toEqual([2]);
    // b stays quiet: a's chunk waits the timeout for it, once.
    chunk('a', 'a1');
    await time.advance(TIMEOUT - 1);
    expect(r.batches).toEqual([2]);
    await time.advance(1);
    expect(r.batches).toEqual([2, 1]);
    // b was answered a timeout ago: only a streams now, and its wave is itself.
    chunk('a', 'a2');
    await time.advance(0);
    expect(r.batches).toEqual([2, 1, 1]);
    // A request without a chain may be joined by others: it waits the timeout, chunks with it.
    chunk(undefined, 'plain');
    chunk('a', 'a3');
    await time.advance(TIMEOUT - 1);
    expect(r.batches).toEqual([2, 1, 1]);
    await time.advance(1);
    expect(r.batches).toEqual([2, 1, 1, 2]);
  });

  it('does not wait for a session that ended', async () => {
    const { time, g, r, chunk } = setup();
    chunk('a', 'a0');
    chunk('b', 'b0');
    await time.advance(TIMEOUT);
    expect(r.batches).toEqual([2]);
    chunk('a', 'a1');
    await time.advance(10);
    expect(r.batches).toEqual([2]);
    g.endChain('b');
    await time.advance(0);
    expect(r.batches).toEqual([2, 1]);
  });
});
