/** Conformance: appendEvents() sequencing and progress, readEvents() paging and filters. */
import { describe, expect, it } from 'vitest';
import type { NewEvent } from '../../../src/domain/events.ts';
import { makeTask, type OpenStore, seed, start, T0, uniq, useStore } from './fixtures.ts';

export function eventConformance(open: OpenStore): void {
  const store = useStore(open);

  const log = (task_id: string, tenant: string, message: string, ts = T0 + 1): NewEvent => ({ task_id, tenant, type: 'log', ts, data: { message } });

  describe('appendEvents', () => {
    it('assigns gap-free seqs per task, continuing after the state events', async () => {
      const tenant = uniq('tenant');
      const [a, b] = await seed(store(), [makeTask({ tenant }), makeTask({ tenant })]);
      await start(store(), a!.id); // seq 2
      const out = await store().appendEvents([log(a!.id, tenant, 'a1'), log(b!.id, tenant, 'b1'), log(a!.id, tenant, 'a2')]);
      expect(out.map((e) => [e.task_id, e.seq, e.data.message])).toEqual([
        [a!.id, 3, 'a1'],
        [b!.id, 2, 'b1'],
        [a!.id, 4, 'a2'],
      ]);
      expect((await store().get(a!.id))?.last_seq).toBe(4);
      expect((await store().get(b!.id))?.last_seq).toBe(2);
      // A later transition continues the same sequence.
      const [done] = await store().transition([{ id: a!.id, from: ['running'], to: 'completed', patch: {}, now: T0 + 5 }]);
      expect(done?.event.seq).toBe(5);
      expect((await store().readEvents(a!.id, 0, 100)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    });

    it('returns the stored events exactly as readEvents gives them back', async () => {
      const tenant = uniq('tenant');
      const [t] = await seed(store(), [makeTask({ tenant })]);
      const data = { message: 'línea "uno"\n\ttab 🚀', nested: { a: [1, null, { b: 'c' }] } };
      const out = await store().appendEvents([
        { task_id: t!.id, tenant, type: 'log', ts: T0 + 77, data },
        { task_id: t!.id, tenant, type: 'metric', ts: T0 + 78, data: { loss: 0.125, step: 3 } },
      ]);
      expect(out[0]).toEqual({ task_id: t!.id, tenant, seq: 2, type: 'log', ts: T0 + 77, data });
      expect(await store().readEvents(t!.id, 1, 100)).toEqual(out);
    });

    it('keeps the latest progress on the task row', async () => {
      const tenant = uniq('tenant');
      const [t] = await seed(store(), [makeTask({ tenant })]);
      const progress = (fraction: number): NewEvent => ({ task_id: t!.id, tenant, type: 'progress', ts: T0 + 2, data: { fraction, message: `at ${fraction}` } });
      await store().appendEvents([progress(0.1), progress(0.2), log(t!.id, tenant, 'after')]);
      expect((await store().get(t!.id))?.progress).toEqual({ fraction: 0.2, message: 'at 0.2' });
      await store().appendEvents([progress(0.5)]);
      expect((await store().get(t!.id))?.progress).toEqual({ fraction: 0.5, message: 'at 0.5' });
    });

    it('skips events of unknown tasks without failing the rest', async () => {
      const tenant = uniq('tenant');
      const [t] = await seed(store(), [makeTask({ tenant })]);
      const ghost = uniq('ghost');
      const out = await store().appendEvents([log(ghost, tenant, 'x'), log(t!.id, tenant, 'real'), log(ghost, tenant, 'y')]);
      expect(out.map((e) => [e.task_id, e.seq])).toEqual([[t!.id, 2]]);
      expect(await store().readEvents(ghost, 0, 10)).toEqual([]);
      expect(await store().get(ghost)).toBeNull();
    });

    it('accepts an empty batch', async () => {
      expect(await store().appendEvents([])).toEqual([]);
    });

    it('stores every event of batches of any length (whole chunks and every remainder)', async () => {
      const tenant = uniq('tenant');
      const [t] = await seed(store(), [makeTask({ tenant })]);
      let total = 1; // the queued state event
      for (const n of [1, 3, 4, 5, 15, 16, 17, 21, 63, 64, 65, 86, 150]) {
        const out = await store().appendEvents(Array.from({ length: n }, (_, i) => log(t!.id, tenant, `batch ${n} line ${i}`)));
        expect(out.map((e) => e.seq)).toEqual(Array.from({ length: n }, (_, i) => total + 1 + i));
        total += n;
      }
      const stored = await store().readEvents(t!.id, 1, 10_000);
      expect(stored).toHaveLength(total - 1);
      expect(stored.map((e) => e.seq)).toEqual(Array.from({ length: total - 1 }, (_, i) => i + 2));
      expect(stored.at(-1)?.data).toEqual({ message: 'batch 150 line 149' });
    });

    it('appends 20k events in one call quickly (the better of two calls: a load spike on the shared machine is not the store)', async () => {
      const tenant = uniq('tenant');
      const eventsFor = (tasks: { id: string }[]): NewEvent[] =>
        Array.from({ length: 20_000 }, (_, i) => ({
          task_id: tasks[i % tasks.length]!.id,
          tenant,
          type: i % 4 === 0 ? 'progress' : 'log',
          ts: T0 + i,
          data: i % 4 === 0 ? { fraction: i / 20_000, message: null } : { message: `line ${i}` },
        }));
      // Warm up on another task first: the figure is for a running server, not a cold JIT.
      const [warm] = await seed(store(), [makeTask({ tenant })]);
      await store().appendEvents(Array.from({ length: 2000 }, (_, i) => log(warm!.id, tenant, `warm ${i}`)));
      const times: number[] = [];
      for (let round = 0; round < 2; round++) {
        const tasks = await seed(store(), Array.from({ length: 10 }, () => makeTask({ tenant })));
        const events = eventsFor(tasks);
        const began = performance.now();
        const out = await store().appendEvents(events);
        times.push(performance.now() - began);
        expect(out).toHaveLength(20_000);
        for (const t of tasks) expect((await store().get(t.id))?.last_seq).toBe(2001);
        expect((await store().get(tasks[0]!.id))?.progress).toEqual({ fraction: 19_980 / 20_000, message: null });
      }
      console.info(`[store] appendEvents: 20000 events in ${times.map((ms) => ms.toFixed(1)).join(' and ')} ms`);
      expect(Math.min(...times)).toBeLessThan(1000);
    });
  });

  describe('readEvents', () => {
    it('reads after a seq, ascending, up to a limit, optionally by type', async () => {
      const tenant = uniq('tenant');
      const [t] = await seed(store(), [makeTask({ tenant })]);
      await start(store(), t!.id);
      await store().appendEvents([
        log(t!.id, tenant, 'l1'),
        { task_id: t!.id, tenant, type: 'progress', ts: T0 + 3, data: { fraction: 0.5, message: null } },
        log(t!.id, tenant, 'l2'),
        { task_id: t!.id, tenant, type: 'metric', ts: T0 + 4, data: { loss: 1 } },
      ]);
      const seqs = async (after: number, limit: number, types?: string[]) => (await store().readEvents(t!.id, after, limit, types)).map((e) => e.seq);
      expect(await seqs(0, 100)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(await seqs(2, 100)).toEqual([3, 4, 5, 6]);
      expect(await seqs(2, 2)).toEqual([3, 4]);
      expect(await seqs(6, 100)).toEqual([]);
      expect(await seqs(0, 100, ['log'])).toEqual([3, 5]);
      expect(await seqs(0, 100, ['state', 'metric'])).toEqual([1, 2, 6]);
      expect(await seqs(3, 1, ['log', 'metric'])).toEqual([5]);
      expect((await store().readEvents(t!.id, 0, 100)).every((e) => e.tenant === tenant)).toBe(true);
    });

    it('returns nothing for an unknown task', async () => {
      expect(await store().readEvents(uniq('missing'), 0, 100)).toEqual([]);
    });
  });
}
