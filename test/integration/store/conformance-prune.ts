/**
 * Conformance: pruning a dead node's executor (TaskStore.pruneExecutors), part of the
 * ownership conformance suite. A row goes only once lapsed and unused; its epoch is kept, so a
 * claim that re-creates it moves on from it and a deposed owner's fence never becomes current.
 */
import { describe, expect, it } from 'vitest';
import type { TaskStore } from '../../../src/store/task-store.ts';
import { makeTask, seed, start, T0, uniq } from './fixtures.ts';

const TTL = 10_000;

/** A node executor claimed `epochs` times in a row (each after the previous one lapsed); returns its last epoch. */
const claimedTimes = async (store: TaskStore, executor: string, epochs: number): Promise<number> => {
  let epoch = 0;
  for (let i = 0; i < epochs; i++) epoch = (await store.claimExecutor(executor, `owner-${i}`, T0 + i * TTL, TTL))!.epoch;
  return epoch;
};

export function pruneParts(store: () => TaskStore): void {
  describe('pruning dead executors', () => {
    it('deletes a lapsed, unused row (a released one too) and keeps its epoch: the next claim moves on from it', async () => {
      const [dead, released] = [uniq('local@dead'), uniq('local@gone')];
      expect(await claimedTimes(store(), dead, 3)).toBe(3);
      const r = (await store().claimExecutor(released, 'owner-r', T0, TTL))!;
      expect(await store().releaseExecutor({ executor: released, epoch: r.epoch }, 'owner-r', T0 + 1)).toBe(true);
      const lapsed = T0 + 3 * TTL; // dead's last ownership expires at T0 + 2 TTL + TTL
      expect(await store().pruneExecutors([dead, released], lapsed)).toEqual([dead, released].sort());
      const names = (await store().executorOwners()).map((o) => o.executor);
      expect(names).not.toContain(dead);
      expect(names).not.toContain(released);
      // The deposed owner of epoch 3 can renew nothing; the node coming back gets epoch 4, not 1.
      expect(await store().renewExecutor({ executor: dead, epoch: 3 }, 'owner-2', lapsed, TTL)).toBe(false);
      expect(await store().claimExecutor(dead, 'owner-back', lapsed + 1, TTL)).toMatchObject({ owner: 'owner-back', epoch: 4 });
      expect(await store().claimExecutor(released, 'owner-back', lapsed + 1, TTL)).toMatchObject({ epoch: 2 });
      // Pruned again and re-created again: still onwards, never back.
      expect(await store().pruneExecutors([dead], lapsed + 1 + TTL)).toEqual([dead]);
      expect(await store().claimExecutor(dead, 'owner-again', lapsed + 2 + TTL, TTL)).toMatchObject({ epoch: 5 });
    });

    it('keeps a row that has not lapsed by `lapsedBefore`, and one not asked for', async () => {
      const [fresh, other] = [uniq('local@fresh'), uniq('local@other')];
      await store().claimExecutor(fresh, 'owner-a', T0, TTL);
      await store().claimExecutor(other, 'owner-b', T0, TTL);
      expect(await store().pruneExecutors([fresh], T0 + TTL - 1)).toEqual([]);
      expect(await store().pruneExecutors([], T0 + 10 * TTL)).toEqual([]);
      const names = (await store().executorOwners()).map((o) => o.executor);
      expect(names).toContain(fresh);
      expect(names).toContain(other);
      expect(await store().pruneExecutors([fresh], T0 + TTL)).toEqual([fresh]);
      expect((await store().executorOwners()).map((o) => o.executor)).toContain(other);
    });

    it('keeps a row that a queued, running or cancelling task names, and prunes it once they finished', async () => {
      const [queued, running, cancelling] = [uniq('local@q'), uniq('local@r'), uniq('local@c')];
      for (const e of [queued, running, cancelling]) await store().claimExecutor(e, 'owner-a', T0, TTL);
      const tenant = uniq('tenant');
      const [q, r, c] = await seed(store(), [makeTask({ executor: queued, tenant }), makeTask({ executor: running, tenant }), makeTask({ executor: cancelling, tenant })]);
      await start(store(), r!.id, 'owner-a');
      await start(store(), c!.id, 'owner-a');
      await store().transition([{ id: c!.id, from: ['running'], to: 'cancelling', patch: {}, now: T0 + 2 }]);
      const later = T0 + 100 * TTL;
      expect(await store().pruneExecutors([queued, running, cancelling], later)).toEqual([]);
      await store().transition([
        { id: q!.id, from: ['pending'], to: 'cancelled', patch: { finished_at: later }, now: later },
        { id: r!.id, from: ['running'], to: 'failed', patch: { finished_at: later, lease_owner: null, lease_expires_at: null }, now: later },
        { id: c!.id, from: ['cancelling'], to: 'cancelled', patch: { finished_at: later, lease_owner: null, lease_expires_at: null }, now: later },
      ]);
      expect(await store().pruneExecutors([queued, running, cancelling], later)).toEqual([queued, running, cancelling].sort());
    });
  });
}
