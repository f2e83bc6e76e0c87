/**
 * The batcher driven through random arrivals, row counts, settings, replica slots and service
 * times, by a discrete-event simulation of the gateway's loop (ask nextBatch only while a slot
 * is free; wake when it says). Checked against per-request runs of out = in * 2. Each step
 * takes every arrival of its instant before asking, so the asks are at the turn's end
 * (`turnOver`) for a replica slot that runs nothing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { admit, eligibleRequests, nextBatch, ServiceTimeEstimator, type BatchSlice, type QueuedRequest } from '../../../src/serving/batcher.ts';
import { concatRows, sliceRows } from '../../../src/serving/gateway/tensor-rows.ts';
import type { BatchSettings, TensorMap } from '../../../src/serving/types.ts';

interface Arrival { at: number; rows: number; chain: number | null }
interface Sim { settings: BatchSettings; slots: number; serviceMs: number; arrivals: Arrival[] }

const arrival = fc.record({ at: fc.integer({ min: 0, max: 200 }), rows: fc.integer({ min: 1, max: 20 }), chain: fc.option(fc.integer({ min: 0, max: 3 })) });
const sim: fc.Arbitrary<Sim> = fc.record({
  settings: fc.record({
    max_batch_size: fc.integer({ min: 1, max: 16 }),
    batch_timeout_ms: fc.integer({ min: 0, max: 20 }),
    enable_dynamic_batching: fc.boolean(),
    close_batch_when_idle: fc.boolean(),
    max_queue: fc.integer({ min: 1, max: 60 }),
    request_timeout_ms: fc.constant(1e9),
    load_balance_strategy: fc.constant('least_loaded' as const),
  }),
  slots: fc.integer({ min: 1, max: 3 }),
  serviceMs: fc.integer({ min: 1, max: 30 }),
  arrivals: fc.array(arrival, { minLength: 1, maxLength: 40 }).map((a) => [...a].sort((x, y) => x.at - y.at)),
});

const tensorOf = (id: number, rows: number): TensorMap => ({
  x: { dtype: 'float32', shape: [rows, 3], data: new Float32Array(rows * 3).map((_, i) => id * 1000 + i) },
});
const doubled = (m: TensorMap): TensorMap => ({ y: { ...m.x!, data: (m.x!.data as Float32Array).map((v) => v * 2) } });

interface Req extends QueuedRequest { sent: number; answered: number; inputs: TensorMap; parts: Map<number, TensorMap>; seen: number[] }

function run(s: Sim): void {
  const { settings } = s;
  const queue: Req[] = [];
  const all: Req[] = [];
  const byChain = new Map<string, Req[]>();
  const inFlight: { at: number; slices: BatchSlice[]; out: TensorMap }[] = [];
  const noEstimate = new ServiceTimeEstimator();
  let wake: number | null;
  let t = 0;
  let next = 0;
  for (let step = 0; step < 10_000; step++) {
    // Answers due now free their slots and unblock their chains.
    for (const b of inFlight.filter((f) => f.at === t)) {
      inFlight.splice(inFlight.indexOf(b), 1);
      let offset = 0;
      for (const sl of b.slices) {
        const r = all[sl.id - 1]!;
        r.parts.set(sl.start, sliceRows(b.out, offset, sl.count));
        r.answered += sl.count;
        offset += sl.count;
      }
    }
    while (next < s.arrivals.length && s.arrivals[next]!.at === t) {
      const a = s.arrivals[next++]!;
      const queueRows = queue.reduce((n, r) => n + r.rows - r.sent, 0);
      const v = admit({ rows: a.rows, deadline: 1e9, now: t, queueRows, queueDepth: queue.length, slots: s.slots, inFlightBatches: inFlight.length, settings, serviceMs: noEstimate });
      if (queueRows + a.rows > settings.max_queue) expect(v).toMatchObject({ ok: false, code: 'QUEUE_FULL' });
      if (!v.ok) continue;
      const id = all.length + 1;
      const chain = a.chain === null ? undefined : `c${a.chain}`;
      const r: Req = { id, rows: a.rows, sent: 0, enqueuedAt: t, deadline: 1e9, chain, answered: 0, inputs: tensorOf(id, a.rows), parts: new Map(), seen: new Array<number>(a.rows).fill(0) };
      all.push(r);
      queue.push(r);
      if (chain !== undefined) byChain.set(chain, [...(byChain.get(chain) ?? []), r]);
    }
    for (let i = queue.length - 1; i >= 0; i--) if (queue[i]!.sent >= queue[i]!.rows) queue.splice(i, 1);
    expect(queue.reduce((n, r) => n + r.rows - r.sent, 0)).toBeLessThanOrEqual(settings.max_queue);
    const busy = new Set(all.filter((r) => r.chain !== undefined && r.sent >= r.rows && r.answered < r.rows).map((r) => r.chain!));
    wake = null;
    while (inFlight.length < s.slots) {
      const d = nextBatch(queue, busy, settings, t, undefined, true);
      if (d.kind === 'idle') break;
      if (d.kind === 'wait') {
        expect(d.ms).toBeGreaterThan(0);
        // close_batch_when_idle: an idle slot never waits on the timer while a request is eligible.
        expect(settings.close_batch_when_idle).toBe(false);
        // No eligible request has waited batch_timeout_ms while a slot is free.
        for (const r of eligibleRequests(queue, busy)) expect(t - r.enqueuedAt).toBeLessThan(settings.batch_timeout_ms);
        wake = t + d.ms;
        break;
      }
      expect(d.rows).toBeGreaterThan(0);
      expect(d.rows).toBeLessThanOrEqual(settings.max_batch_size);
      expect(d.slices.reduce((n, x) => n + x.count, 0)).toBe(d.rows);
      if (!settings.enable_dynamic_batching) expect(d.slices).toHaveLength(1);
      for (const sl of d.slices) {
        const r = all[sl.id - 1]!;
        expect(sl.start).toBe(r.sent);
        if (r.chain !== undefined && sl.start === 0) {
          const chain = byChain.get(r.chain)!;
          // Chain order: every earlier request of the chain is answered in full.
          for (const prev of chain.slice(0, chain.indexOf(r))) expect(prev.answered).toBe(prev.rows);
        }
        for (let i = sl.start; i < sl.start + sl.count; i++) r.seen[i]! += 1;
        r.sent += sl.count;
        if (r.chain !== undefined && r.sent >= r.rows) busy.add(r.chain);
      }
      for (let i = queue.length - 1; i >= 0; i--) if (queue[i]!.sent >= queue[i]!.rows) queue.splice(i, 1);
      const inputs = concatRows(d.slices.map((sl) => sliceRows(all[sl.id - 1]!.inputs, sl.start, sl.count)));
      inFlight.push({ at: t + s.serviceMs, slices: d.slices, out: doubled(inputs) });
    }
    const times = [wake, s.arrivals[next]?.at ?? null, ...inFlight.map((f) => f.at)].filter((x): x is number => x !== null);
    if (times.length === 0) break;
    t = Math.min(...times);
  }
  expect(queue).toHaveLength(0);
  for (const r of all) {
    expect(r.seen.every((n) => n === 1)).toBe(true);
    expect(r.answered).toBe(r.rows);
    const parts = [...r.parts].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
    const out = concatRows(parts);
    expect(out.y!.shape).toEqual([r.rows, 3]);
    expect(Array.from(out.y!.data as Float32Array)).toEqual(Array.from(doubled(r.inputs).y!.data as Float32Array));
  }
}

describe('batcher properties', () => {
  it('sends every row once, within max_batch_size, in chain order, on time, with an exact reassembly and a bounded queue', () => {
    fc.assert(fc.property(sim, run), { numRuns: 300 });
  });
});
