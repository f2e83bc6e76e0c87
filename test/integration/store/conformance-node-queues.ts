/**
 * Conformance: node-scoped executors' queues. A node's executor `local@<node>` reads its own
 * queue and the shared queue `local` together (QueuedQuery.shared), and its fenced claim takes
 * a shared task and starts it in one compare-and-set (TransitionRequest.shared_queue): one node
 * gets each task, a deposed owner none. What a node re-queued and did not start again goes
 * back (returnQueued), while tasks pinned to that node stay.
 */
import { describe, expect, it } from 'vitest';
import type { Task } from '../../../src/domain/task.ts';
import type { Fence, TaskStore, TransitionRequest } from '../../../src/store/task-store.ts';
import { makeTask, type OpenStore, seed, T0, uniq, useStore } from './fixtures.ts';

const TTL = 10_000;

/** The claim a node's dispatcher makes (engine/claims.ts): queued → running under its fence, naming the shared queue. */
const claim = (id: string, fence: Fence, shared: string, owner = 'node-a', now = T0 + 5): TransitionRequest => ({
  id,
  fence,
  shared_queue: shared,
  from: ['pending'],
  to: 'running',
  patch: { attempt: 1, started_at: now, lease_owner: owner, lease_expires_at: now + TTL },
  now,
});

/** Back to the queue without using an attempt (a stop, a retry), under the fence. */
const requeue = (id: string, fence: Fence, owner = 'node-a', now = T0 + 6): TransitionRequest => ({
  id,
  fence,
  lease_owner: owner,
  from: ['running'],
  to: 'pending',
  patch: { lease_owner: null, lease_expires_at: null },
  now,
});

const own = async (store: TaskStore, executor: string, owner = 'node-a', now = T0): Promise<Fence> => {
  const won = await store.claimExecutor(executor, owner, now, TTL);
  if (won === null) throw new Error(`setup: could not own ${executor}`);
  return { executor, epoch: won.epoch };
};

const summary = (results: readonly ({ task: Task } | null)[]) => results.map((r) => (r === null ? null : [r.task.id, r.task.executor, r.task.status]));

export function nodeQueueConformance(name: string, open: OpenStore): void {
  describe(`node queue conformance: ${name}`, () => {
    const store = useStore(open);

    it("reads a node's own queue and its shared queue as one, in dispatch order, per-tenant caps over both", async () => {
      const shared = uniq('local');
      const node = `${shared}@n1`;
      const [t1, t2] = [uniq('tenant'), uniq('tenant')];
      const [a, p, b, c] = await seed(store(), [
        makeTask({ executor: shared, tenant: t1, created_at: T0 }),
        makeTask({ executor: node, tenant: t1, created_at: T0 + 1 }),
        makeTask({ executor: shared, tenant: t1, created_at: T0 + 2 }),
        makeTask({ executor: node, tenant: t2, created_at: T0 + 3 }),
        makeTask({ executor: `${shared}@n2`, tenant: t1, created_at: T0 - 1 }),
        makeTask({ executor: uniq('other'), tenant: t1, created_at: T0 - 2 }),
      ]);
      const ids = async (per_tenant: number, limit: number) => (await store().queued({ executor: node, shared, now: T0 + 10, per_tenant, limit })).map((t) => t.id);
      expect(await ids(10, 10)).toEqual([a!.id, p!.id, b!.id, c!.id]);
      expect(await ids(10, 2)).toEqual([a!.id, p!.id]);
      expect(await ids(2, 10)).toEqual([a!.id, p!.id, c!.id]);
      // Without `shared`, the node's own queue only.
      expect((await store().queued({ executor: node, now: T0 + 10, per_tenant: 10, limit: 10 })).map((t) => t.id)).toEqual([p!.id, c!.id]);
    });

    it("claims a shared task and a pinned one in one call: both run on the node; another node's pinned task is refused", async () => {
      const shared = uniq('local');
      const node = `${shared}@n1`;
      const [a, p, q] = await seed(store(), [makeTask({ executor: shared }), makeTask({ executor: node }), makeTask({ executor: `${shared}@n2` })]);
      const fence = await own(store(), node);
      const results = await store().transition([claim(a!.id, fence, shared), claim(p!.id, fence, shared), claim(q!.id, fence, shared)]);
      expect(summary(results)).toEqual([
        [a!.id, node, 'running'],
        [p!.id, node, 'running'],
        null,
      ]);
      expect(results[0]?.event).toMatchObject({ seq: 2, data: { status: 'running' } });
      expect(await store().get(a!.id)).toMatchObject({ executor: node, status: 'running', attempt: 1 });
      expect(await store().get(q!.id)).toMatchObject({ executor: `${shared}@n2`, status: 'pending' });
      expect(await store().queued({ executor: shared, now: T0 + 10, per_tenant: 10, limit: 10 })).toEqual([]);
    });

    it('of two nodes claiming the same shared task, one gets it', async () => {
      const shared = uniq('local');
      const [a] = await seed(store(), [makeTask({ executor: shared })]);
      const f1 = await own(store(), `${shared}@n1`, 'node-a');
      const f2 = await own(store(), `${shared}@n2`, 'node-b');
      expect(summary(await store().transition([claim(a!.id, f1, shared, 'node-a')]))).toEqual([[a!.id, `${shared}@n1`, 'running']]);
      expect(await store().transition([claim(a!.id, f2, shared, 'node-b')])).toEqual([null]);
      expect(await store().get(a!.id)).toMatchObject({ executor: `${shared}@n1`, lease_owner: 'node-a' });
    });

    it("refuses a deposed owner's claim of a shared task: the task stays on the shared queue for the new owner", async () => {
      const shared = uniq('local');
      const node = `${shared}@n1`;
      const [a] = await seed(store(), [makeTask({ executor: shared })]);
      const old = await own(store(), node, 'owner-a', T0);
      const current = await own(store(), node, 'owner-b', T0 + TTL);
      expect(await store().transition([claim(a!.id, old, shared, 'owner-a', T0 + TTL + 1)])).toEqual([null]);
      expect(await store().get(a!.id)).toMatchObject({ executor: shared, status: 'pending', attempt: 0 });
      expect(summary(await store().transition([claim(a!.id, current, shared, 'owner-b', T0 + TTL + 2)]))).toEqual([[a!.id, node, 'running']]);
    });

    it('ignores a shared queue the fenced executor does not serve, and a claim without a fence', async () => {
      const shared = uniq('local');
      const [a] = await seed(store(), [makeTask({ executor: shared })]);
      const stranger = await own(store(), `${uniq('ray')}@n1`);
      expect(await store().transition([claim(a!.id, stranger, shared)])).toEqual([null]);
      const { fence: _, ...unfenced } = claim(a!.id, stranger, shared);
      const [started] = await store().transition([unfenced]);
      // Unfenced, it is a plain CAS of the task where it is: nothing moves it.
      expect(started?.task).toMatchObject({ executor: shared, status: 'running' });
    });

    it('gives back what a node claimed from the shared queue and re-queued; its pinned, running and other tasks stay', async () => {
      const shared = uniq('local');
      const node = `${shared}@n1`;
      const [back, pinned, runs, pinnedRequeued] = await seed(store(), [
        makeTask({ executor: shared }),
        makeTask({ executor: node }),
        makeTask({ executor: shared }),
        makeTask({ executor: node }),
      ]);
      const fence = await own(store(), node);
      await store().transition([back, runs, pinnedRequeued].map((t) => claim(t!.id, fence, shared)));
      await store().transition([requeue(back!.id, fence), requeue(pinnedRequeued!.id, fence)]);
      expect((await store().get(back!.id))?.executor).toBe(node);
      expect(await store().returnQueued(node)).toEqual([back!.id]);
      expect(await store().get(back!.id)).toMatchObject({ executor: shared, status: 'pending' });
      expect((await store().get(pinned!.id))?.executor).toBe(node);
      expect((await store().get(pinnedRequeued!.id))?.executor).toBe(node);
      expect(await store().get(runs!.id)).toMatchObject({ executor: node, status: 'running' });
      expect(await store().returnQueued(node)).toEqual([]);
      // Given back, it is the shared queue's again: any node may claim it.
      const f2 = await own(store(), `${shared}@n2`, 'node-b');
      expect(summary(await store().transition([claim(back!.id, f2, shared, 'node-b', T0 + 7)]))).toEqual([[back!.id, `${shared}@n2`, 'running']]);
    });

    it('a claimed task re-queued and claimed again by its node keeps its home', async () => {
      const shared = uniq('local');
      const node = `${shared}@n1`;
      const [a] = await seed(store(), [makeTask({ executor: shared })]);
      const fence = await own(store(), node);
      await store().transition([claim(a!.id, fence, shared)]);
      await store().transition([requeue(a!.id, fence)]);
      await store().transition([claim(a!.id, fence, shared, 'node-a', T0 + 7)]);
      await store().transition([requeue(a!.id, fence, 'node-a', T0 + 8)]);
      expect(await store().returnQueued(node)).toEqual([a!.id]);
      expect((await store().get(a!.id))?.executor).toBe(shared);
    });
  });
}
