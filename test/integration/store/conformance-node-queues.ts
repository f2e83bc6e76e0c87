/**
 * Conformance: node-scoped executors' queues (TaskStore.takeQueued, returnQueued). A node's
 * executor `local@<node>` takes queued tasks from the shared queue `local` just before it
 * claims them (a compare-and-set: one node gets each task); what a dead or stopped node took
 * and did not start goes back, while tasks pinned to that node stay.
 */
import { describe, expect, it } from 'vitest';
import { makeTask, type OpenStore, seed, start, T0, uniq, useStore } from './fixtures.ts';

export function nodeQueueConformance(name: string, open: OpenStore): void {
  describe(`node queue conformance: ${name}`, () => {
    const store = useStore(open);

    it('takes queued tasks of the shared queue to a node, once: a second node gets none of them', async () => {
      const shared = uniq('local');
      const [a, b, c] = await seed(store(), [makeTask({ executor: shared }), makeTask({ executor: shared, created_at: T0 + 1 }), makeTask({ executor: shared, created_at: T0 + 2 })]);
      await store().transition([{ id: c!.id, from: ['queued'], to: 'cancelled', patch: { finished_at: T0 + 3 }, now: T0 + 3 }]);
      const moved = await store().takeQueued([b!.id, a!.id, c!.id], shared, `${shared}@n1`);
      expect(moved.map((t) => [t.id, t.executor, t.status])).toEqual([
        [b!.id, `${shared}@n1`, 'queued'],
        [a!.id, `${shared}@n1`, 'queued'],
      ]);
      expect(await store().takeQueued([a!.id, b!.id], shared, `${shared}@n2`)).toEqual([]);
      expect((await store().get(a!.id))?.executor).toBe(`${shared}@n1`);
      expect((await store().queued({ executor: `${shared}@n1`, now: T0 + 10, per_tenant: 10, limit: 10 })).map((t) => t.id).sort()).toEqual([a!.id, b!.id].sort());
      expect(await store().queued({ executor: shared, now: T0 + 10, per_tenant: 10, limit: 10 })).toEqual([]);
    });

    it('gives back what a node took and did not start; its pinned, running and other tasks stay', async () => {
      const shared = uniq('local');
      const node = `${shared}@n1`;
      const [taken, pinned, runs] = await seed(store(), [makeTask({ executor: shared }), makeTask({ executor: node }), makeTask({ executor: shared })]);
      await store().takeQueued([taken!.id, runs!.id], shared, node);
      await start(store(), runs!.id);
      expect(await store().returnQueued(node)).toEqual([taken!.id]);
      expect((await store().get(taken!.id))?.executor).toBe(shared);
      expect((await store().get(pinned!.id))?.executor).toBe(node);
      expect((await store().get(runs!.id))?.executor).toBe(node);
      expect(await store().returnQueued(node)).toEqual([]);
      // Given back, it is the shared queue's again: any node may take it.
      expect((await store().takeQueued([taken!.id], shared, `${shared}@n2`)).map((t) => t.executor)).toEqual([`${shared}@n2`]);
    });
  });
}
