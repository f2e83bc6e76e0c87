/**
 * Conformance: executor ownership and fenced writes (TaskStore.claimExecutor, renewExecutor,
 * releaseExecutor, executorOwners, and the `fence` of transition, renewLeases, takeLeases and
 * recordPlacements). Every implementation runs it unchanged:
 *
 *   ownershipConformance('sqlite', () => SqliteTaskStore.open(path));
 *
 * The race the fence closes: an owner stalls (GC pause, partition), a standby takes the
 * executor over and recovers its tasks, then the old owner wakes up and writes what it had in
 * flight. Each of those late writes must be refused by the store, in the write's transaction.
 */
import { describe, expect, it } from 'vitest';
import type { Fence, TaskStore, TransitionRequest } from '../../../src/store/task-store.ts';
import { makeTask, type OpenStore, seed, start, T0, uniq, useStore } from './fixtures.ts';
import { pruneParts } from './conformance-prune.ts';

const TTL = 10_000;

/** An executor owned by `a` (epoch 1), then taken over by `b` after a's ownership expired (epoch 2). */
const takenOver = async (store: TaskStore) => {
  const executor = uniq('exec');
  const a = await store.claimExecutor(executor, 'owner-a', T0, TTL);
  const b = await store.claimExecutor(executor, 'owner-b', T0 + TTL, TTL);
  if (!a || !b) throw new Error('setup: claims failed');
  const old: Fence = { executor, epoch: a.epoch };
  const current: Fence = { executor, epoch: b.epoch };
  return { executor, old, current };
};

const succeed = (id: string, owner: string, fence: Fence, now = T0 + TTL + 5): TransitionRequest => ({
  id,
  from: ['running'],
  to: 'completed',
  lease_owner: owner,
  fence,
  patch: { finished_at: now, lease_owner: null, lease_expires_at: null, result: 1 },
  before: [{ type: 'result', data: { value: 1 } }],
  now,
});

export function ownershipConformance(name: string, open: OpenStore): void {
  describe(`ownership conformance: ${name}`, () => ownershipParts(open));
}

function ownershipParts(open: OpenStore): void {
  const store = useStore(open);
  pruneParts(store);

  describe('executor ownership', () => {
    it('a first claim gets epoch 1 until now + ttl, and is listed', async () => {
      const executor = uniq('exec');
      expect(await store().claimExecutor(executor, 'owner-a', T0, TTL)).toEqual({ executor, owner: 'owner-a', epoch: 1, expires_at: T0 + TTL });
      expect((await store().executorOwners()).filter((o) => o.executor === executor)).toEqual([
        { executor, owner: 'owner-a', epoch: 1, expires_at: T0 + TTL },
      ]);
    });

    it('refuses a claim while anyone holds it unexpired, the holder included, and changes nothing', async () => {
      const executor = uniq('exec');
      await store().claimExecutor(executor, 'owner-a', T0, TTL);
      expect(await store().claimExecutor(executor, 'owner-b', T0 + TTL - 1, TTL)).toBeNull();
      expect(await store().claimExecutor(executor, 'owner-a', T0 + 1, TTL)).toBeNull();
      expect((await store().executorOwners()).find((o) => o.executor === executor)).toEqual({ executor, owner: 'owner-a', epoch: 1, expires_at: T0 + TTL });
    });

    it('a claim from the instant of expiry takes over with the next epoch', async () => {
      const executor = uniq('exec');
      await store().claimExecutor(executor, 'owner-a', T0, TTL);
      expect(await store().claimExecutor(executor, 'owner-b', T0 + TTL, TTL)).toEqual({ executor, owner: 'owner-b', epoch: 2, expires_at: T0 + 2 * TTL });
      // The old owner coming back after its own expiry is a new claim too: a new epoch.
      expect(await store().claimExecutor(executor, 'owner-a', T0 + 3 * TTL, TTL)).toMatchObject({ owner: 'owner-a', epoch: 3 });
    });

    it('a steal takes it at once, unexpired, with the next epoch', async () => {
      const executor = uniq('exec');
      await store().claimExecutor(executor, 'owner-a', T0, TTL);
      expect(await store().claimExecutor(executor, 'owner-a2', T0 + 1, TTL, true)).toEqual({ executor, owner: 'owner-a2', epoch: 2, expires_at: T0 + 1 + TTL });
    });

    it('of many concurrent claims on a free executor exactly one wins', async () => {
      const executor = uniq('exec');
      const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => store().claimExecutor(executor, `owner-${i}`, T0, TTL)));
      const won = claims.filter((c) => c !== null);
      expect(won).toHaveLength(1);
      expect(won[0]?.epoch).toBe(1);
    });

    it('renews only with the current epoch and owner, even after expiry when nobody took it', async () => {
      const executor = uniq('exec');
      const a = (await store().claimExecutor(executor, 'owner-a', T0, TTL))!;
      const fence = { executor, epoch: a.epoch };
      expect(await store().renewExecutor(fence, 'owner-a', T0 + 100, TTL)).toBe(true);
      expect((await store().executorOwners()).find((o) => o.executor === executor)?.expires_at).toBe(T0 + 100 + TTL);
      expect(await store().renewExecutor(fence, 'owner-x', T0 + 200, TTL)).toBe(false);
      expect(await store().renewExecutor({ executor, epoch: a.epoch + 1 }, 'owner-a', T0 + 200, TTL)).toBe(false);
      expect(await store().renewExecutor(fence, 'owner-a', T0 + 5 * TTL, TTL)).toBe(true);
      const b = await store().claimExecutor(executor, 'owner-b', T0 + 7 * TTL, TTL);
      expect(b?.epoch).toBe(2);
      // Deposed: its renew is refused and leaves the new owner's row alone.
      expect(await store().renewExecutor(fence, 'owner-a', T0 + 7 * TTL + 1, TTL)).toBe(false);
      expect((await store().executorOwners()).find((o) => o.executor === executor)).toEqual({ executor, owner: 'owner-b', epoch: 2, expires_at: T0 + 8 * TTL });
    });

    it('a release frees it at once and keeps the epoch; the next claim moves it on', async () => {
      const executor = uniq('exec');
      const a = (await store().claimExecutor(executor, 'owner-a', T0, TTL))!;
      expect(await store().releaseExecutor({ executor, epoch: a.epoch }, 'owner-x', T0 + 1)).toBe(false);
      expect(await store().releaseExecutor({ executor, epoch: a.epoch }, 'owner-a', T0 + 1)).toBe(true);
      expect((await store().executorOwners()).find((o) => o.executor === executor)).toEqual({ executor, owner: null, epoch: 1, expires_at: T0 + 1 });
      expect(await store().renewExecutor({ executor, epoch: a.epoch }, 'owner-a', T0 + 2, TTL)).toBe(false);
      expect(await store().claimExecutor(executor, 'owner-b', T0 + 2, TTL)).toMatchObject({ owner: 'owner-b', epoch: 2 });
      expect(await store().releaseExecutor({ executor, epoch: a.epoch }, 'owner-a', T0 + 3)).toBe(false);
    });
  });

  describe('fenced writes', () => {
    it("refuses a deposed owner's completion and applies the current owner's (the rescue-versus-complete race)", async () => {
      const { executor, old, current } = await takenOver(store());
      const [t] = await seed(store(), [makeTask({ executor, tenant: uniq('tenant') })]);
      await start(store(), t!.id, 'owner-a');
      const [late] = await store().transition([succeed(t!.id, 'owner-a', old)]);
      expect(late).toBeNull();
      expect(await store().get(t!.id)).toMatchObject({ status: 'running', lease_owner: 'owner-a', result: null });
      expect((await store().readEvents(t!.id, 0, 100)).map((e) => e.type)).toEqual(['state', 'state']);
      // The new owner recovers it: takes the lease and re-queues it, fenced by its own epoch.
      const stale = (await store().staleLeases('owner-b', T0 + TTL + 10, true)).filter((s) => s.id === t!.id);
      expect(await store().takeLeases('owner-b', stale, T0 + 2 * TTL, current)).toEqual([t!.id]);
      const [requeue] = await store().transition([
        { id: t!.id, from: ['running'], to: 'pending', lease_owner: 'owner-b', fence: current, patch: { lease_owner: null, lease_expires_at: null }, now: T0 + TTL + 11 },
      ]);
      expect(requeue?.task.status).toBe('pending');
    });

    it("refuses a deposed owner's claim of a queued task", async () => {
      const { executor, old, current } = await takenOver(store());
      const [t] = await seed(store(), [makeTask({ executor, tenant: uniq('tenant') })]);
      const claim = (owner: string, fence: Fence): TransitionRequest => ({
        id: t!.id,
        from: ['pending'],
        to: 'running',
        fence,
        patch: { attempt: 1, started_at: T0 + TTL + 1, lease_owner: owner, lease_expires_at: T0 + 3 * TTL },
        now: T0 + TTL + 1,
      });
      expect(await store().transition([claim('owner-a', old)])).toEqual([null]);
      expect((await store().get(t!.id))?.status).toBe('pending');
      const [r] = await store().transition([claim('owner-b', current)]);
      expect(r?.task).toMatchObject({ status: 'running', lease_owner: 'owner-b' });
    });

    it('refuses, in one batch, only the requests whose fence is stale', async () => {
      const first = await takenOver(store());
      const other = uniq('exec');
      const o = (await store().claimExecutor(other, 'owner-a', T0, 100 * TTL))!;
      const tenant = uniq('tenant');
      const [t1, t2] = await seed(store(), [makeTask({ executor: first.executor, tenant }), makeTask({ executor: other, tenant })]);
      await start(store(), t1!.id, 'owner-a');
      await start(store(), t2!.id, 'owner-a');
      const results = await store().transition([succeed(t1!.id, 'owner-a', first.old), succeed(t2!.id, 'owner-a', { executor: other, epoch: o.epoch })]);
      expect(results.map((r) => r?.task.status ?? null)).toEqual([null, 'completed']);
    });

    it("refuses a fenced write to a task of another executor than the fence's", async () => {
      const executor = uniq('exec');
      const mine = (await store().claimExecutor(executor, 'owner-a', T0, 100 * TTL))!;
      const fence = { executor, epoch: mine.epoch };
      const [t] = await seed(store(), [makeTask({ executor: uniq('exec'), tenant: uniq('tenant') })]);
      await start(store(), t!.id, 'owner-a');
      expect(await store().transition([succeed(t!.id, 'owner-a', fence)])).toEqual([null]);
      expect(await store().recordPlacements('owner-a', [{ id: t!.id, assignment: { gpus: [] as string[], placement: { kind: 'cold', pid: 1 } } }], fence)).toBe(0);
      await store().renewLeases('owner-a', [t!.id], T0 + 99 * TTL, fence);
      expect((await store().get(t!.id))?.lease_expires_at).toBe(T0 + 1 + 30_000);
    });

    it("refuses a deposed owner's lease renewal and keeps the current owner's", async () => {
      const { executor, old, current } = await takenOver(store());
      const [t] = await seed(store(), [makeTask({ executor, tenant: uniq('tenant') })]);
      await start(store(), t!.id, 'owner-a');
      await store().renewLeases('owner-a', [t!.id], T0 + 50 * TTL, old);
      expect((await store().get(t!.id))?.lease_expires_at).toBe(T0 + 1 + 30_000);
      await store().takeLeases('owner-b', [(await store().get(t!.id))!], T0 + 2 * TTL, current);
      await store().renewLeases('owner-b', [t!.id], T0 + 3 * TTL, current);
      expect(await store().get(t!.id)).toMatchObject({ lease_owner: 'owner-b', lease_expires_at: T0 + 3 * TTL });
    });

    it("refuses a deposed owner's takeover of leases", async () => {
      const { executor, old } = await takenOver(store());
      const [t] = await seed(store(), [makeTask({ executor, tenant: uniq('tenant') })]);
      const running = await start(store(), t!.id, 'owner-z', T0, 1);
      expect(await store().takeLeases('owner-a', [running], T0 + 99 * TTL, old)).toEqual([]);
      expect(await store().get(t!.id)).toMatchObject({ lease_owner: 'owner-z', lease_expires_at: T0 + 1 });
    });

    it("refuses a deposed owner's placement and records the current owner's", async () => {
      const { executor, old, current } = await takenOver(store());
      const [t] = await seed(store(), [makeTask({ executor, tenant: uniq('tenant') })]);
      const running = await start(store(), t!.id, 'owner-a');
      const placement = { gpus: [] as string[], placement: { kind: 'cold', pid: 4242 } };
      expect(await store().recordPlacements('owner-a', [{ id: t!.id, assignment: placement }], old)).toBe(0);
      expect((await store().get(t!.id))?.assignment).toBeNull();
      await store().takeLeases('owner-b', [running], T0 + 2 * TTL, current);
      expect(await store().recordPlacements('owner-b', [{ id: t!.id, assignment: placement }], current)).toBe(1);
      expect((await store().get(t!.id))?.assignment).toEqual(placement);
    });

    it("drops a deposed owner's events (a frozen owner's late progress) and keeps the current owner's and unfenced ones", async () => {
      const { executor, old, current } = await takenOver(store());
      const tenant = uniq('tenant');
      const [t] = await seed(store(), [makeTask({ executor, tenant })]);
      await start(store(), t!.id, 'owner-a');
      const progress = (fraction: number, fence?: Fence) => ({ task_id: t!.id, tenant, type: 'progress' as const, ts: T0 + TTL + 1, data: { fraction }, fence });
      const stored = await store().appendEvents([progress(0.1, old), progress(0.2, current), progress(0.3, { executor: uniq('exec'), epoch: 1 }), progress(0.4)]);
      expect(stored.map((e) => e.data.fraction)).toEqual([0.2, 0.4]);
      expect(stored.map((e) => e.seq)).toEqual([3, 4]);
      expect((await store().readEvents(t!.id, 2, 100)).map((e) => [e.seq, e.data.fraction])).toEqual([[3, 0.2], [4, 0.4]]);
      // Only refused events: nothing stored, the log's head does not move.
      expect(await store().appendEvents([progress(0.5, old)])).toEqual([]);
      expect((await store().appendEvents([progress(0.6)])).map((e) => e.seq)).toEqual([5]);
    });

    it('refuses a fence of an executor nobody ever claimed', async () => {
      const executor = uniq('exec');
      const [t] = await seed(store(), [makeTask({ executor, tenant: uniq('tenant') })]);
      await start(store(), t!.id, 'owner-a');
      expect(await store().transition([succeed(t!.id, 'owner-a', { executor, epoch: 1 })])).toEqual([null]);
    });
  });
}
