/**
 * Conformance: the webhook outbox (store/webhook-outbox-store.ts): claims hold a delivery for
 * one owner until the lease lapses, only the holder settles, a task's deliveries go in order,
 * untouched progress is replaced or dropped, and concurrent claims never share a delivery.
 * The database may hold other tests' deliveries: assertions look at this test's tasks only.
 */
import { expect, it } from 'vitest';
import type { TaskStatus, WebhookEvent } from '../../../src/domain/task.ts';
import type { TaskStore } from '../../../src/store/task-store.ts';
import type { NewWebhookDelivery } from '../../../src/store/webhook-outbox-store.ts';
import { makeTask, type OpenStore, seed, start, T0, uniq, useStore } from './fixtures.ts';

const LEASE = 10_000;
const delivery = (task_id: string, event: WebhookEvent = 'completed', data: Record<string, unknown> = {}, created_at = T0): NewWebhookDelivery => ({
  id: uniq('wh'),
  task_id,
  tenant: 'default',
  event,
  url: 'http://127.0.0.1:9/hook',
  secret: null,
  task: { id: task_id, status: 'running' },
  data,
  created_at,
});

export function webhookOutboxConformance(open: OpenStore): void {
  const store = useStore(open);
  const outbox = () => store().webhooks;
  const claim = async (owner: string, now: number, ids: readonly string[], limit = 1000) =>
    (await outbox().claimWebhooks(owner, limit, now, LEASE)).filter((d) => ids.includes(d.task_id));

  it('claims a due delivery for one owner until its lease lapses; only the holder settles it', async () => {
    const task = uniq('task');
    const d = delivery(task, 'completed', { status: 'completed' });
    await outbox().enqueueWebhook(d);
    const [got] = await claim('a', T0, [task]);
    expect(got).toMatchObject({ ...d, body: null, attempt: 0, state: 'pending', next_at: T0 });
    expect(await claim('b', T0 + LEASE - 1, [task])).toEqual([]);
    // Lapsed: b takes it over, a's late settle is refused, b's counts.
    expect((await claim('b', T0 + LEASE, [task])).map((x) => x.id)).toEqual([d.id]);
    expect(await outbox().settleWebhook(d.id, 'a', { state: 'done', attempt: 1, body: 'x', next_at: T0 })).toBe(false);
    expect(await outbox().settleWebhook(d.id, 'b', { state: 'pending', attempt: 1, body: '{"same":"bytes"}', next_at: T0 + LEASE + 500 })).toBe(true);
    expect(await outbox().settleWebhook(d.id, 'b', { state: 'done', attempt: 2, body: 'x', next_at: T0 })).toBe(false); // the lease ended
    // Retried after its backoff, with the bytes and the attempt count it was settled with.
    expect(await claim('c', T0 + LEASE + 499, [task])).toEqual([]);
    const [retry] = await claim('c', T0 + LEASE + 500, [task]);
    expect(retry).toMatchObject({ id: d.id, attempt: 1, body: '{"same":"bytes"}' });
    expect(await outbox().settleWebhook(d.id, 'c', { state: 'failed', attempt: 2, body: retry!.body, next_at: T0 })).toBe(true);
    expect(await claim('d', T0 + 10 * LEASE, [task])).toEqual([]);
    // Settled rows are pruned once older than the cut-off (updated_at is the store's clock: now).
    const pending = delivery(uniq('task'));
    await outbox().enqueueWebhook(pending);
    expect(await outbox().pruneWebhooks(Date.now() + 60_000, Date.now() + 60_000)).toBeGreaterThanOrEqual(1);
    expect((await claim('e', T0 + 10 * LEASE, [pending.task_id])).map((x) => x.id)).toEqual([pending.id]);
  });

  it("sends a task's deliveries one at a time in order; other tasks are not held up", async () => {
    const [t1, t2] = [uniq('task'), uniq('task')];
    const start = delivery(t1, 'start', { attempt: 1 });
    const done = delivery(t1, 'completed');
    const other = delivery(t2, 'start');
    for (const d of [start, done, other]) await outbox().enqueueWebhook(d);
    const first = await claim('a', T0, [t1, t2]);
    expect(first.map((d) => d.id).sort()).toEqual([start.id, other.id].sort());
    // The start is in backoff: completed still waits behind it.
    await outbox().settleWebhook(start.id, 'a', { state: 'pending', attempt: 1, body: 'b', next_at: T0 + 100 });
    expect(await claim('a', T0 + 50, [t1])).toEqual([]);
    expect((await claim('a', T0 + 100, [t1])).map((d) => d.id)).toEqual([start.id]);
    await outbox().settleWebhook(start.id, 'a', { state: 'done', attempt: 2, body: 'b', next_at: T0 + 100 });
    expect((await claim('a', T0 + 100, [t1])).map((d) => d.id)).toEqual([done.id]);
  });

  it('replaces and drops only progress never attempted nor claimed', async () => {
    const task = uniq('task');
    const p1 = delivery(task, 'progress', { fraction: 0.1 });
    await outbox().enqueueWebhook(p1);
    expect(await outbox().replaceWebhookProgress(task, { id: task, progress: { fraction: 0.2 } }, { fraction: 0.2 }, T0)).toBe(true);
    const [claimed] = await claim('a', T0, [task]);
    expect(claimed).toMatchObject({ id: p1.id, data: { fraction: 0.2 }, task: { id: task, progress: { fraction: 0.2 } } });
    // Being sent: neither replaced nor dropped.
    expect(await outbox().replaceWebhookProgress(task, { id: task }, { fraction: 0.3 }, T0 + 1)).toBe(false);
    expect(await outbox().dropWebhookProgress(task, T0 + 1)).toBe(0);
    const p2 = delivery(task, 'progress', { fraction: 0.4 });
    await outbox().enqueueWebhook(p2);
    expect(await outbox().dropWebhookProgress(task, T0 + 1)).toBe(1);
    await outbox().settleWebhook(p1.id, 'a', { state: 'done', attempt: 1, body: 'b', next_at: T0 });
    expect(await claim('a', T0 + 2, [task])).toEqual([]);
  });

  it('never gives one delivery to two concurrent claims', async () => {
    const tasks = Array.from({ length: 30 }, () => uniq('task'));
    for (const t of tasks) await outbox().enqueueWebhook(delivery(t));
    const claims = await Promise.all(['a', 'b', 'c', 'd'].map((owner) => claim(owner, T0, tasks, 12)));
    const ids = claims.flat().map((d) => d.task_id);
    expect(new Set(ids).size).toBe(ids.length);
    const rest = await claim('e', T0, tasks);
    expect(new Set([...ids, ...rest.map((d) => d.task_id)]).size).toBe(tasks.length);
    expect(ids.length + rest.length).toBe(tasks.length);
  });

  it('keeps one completed delivery per task: a second is ignored', async () => {
    const task = uniq('task');
    const first = delivery(task, 'completed', { n: 1 });
    expect(await outbox().enqueueWebhook(first)).toBe(true);
    expect(await outbox().enqueueWebhook(delivery(task, 'completed', { n: 2 }))).toBe(false);
    expect(await outbox().enqueueWebhook(delivery(task, 'progress'))).toBe(true);
    expect((await claim('a', T0, [task])).map((d) => [d.id, d.data])).toEqual([[first.id, { n: 1 }]]);
  });

  it('finds ended tasks with a webhook whose completed delivery was never written, from a cursor', async () => {
    // Shared databases hold other tests' tasks: a window of finish times of this test's own.
    const F = T0 + 1_000_000_000 + Math.floor(Math.random() * 1e9);
    const ended = async (status: TaskStatus, finishedAt: number, webhook: string | null = 'http://127.0.0.1:9/hook') => {
      const [t] = await seed(store(), [makeTask({ webhook })]);
      await start(store(), t!.id);
      return endAs(store(), t!.id, status, finishedAt);
    };
    const a = await ended('completed', F + 1);
    const b = await ended('failed', F + 2);
    await ended('completed', F + 3, null); // no webhook
    const [running] = await seed(store(), [makeTask({ webhook: 'http://127.0.0.1:9/hook' })]);
    await start(store(), running!.id);
    const written = await ended('completed', F + 4);
    await outbox().enqueueWebhook(delivery(written, 'completed'));
    await ended('completed', F + 10); // after `until`
    const ours = new Set([a, b, written, running!.id]);
    const missed = async (after: { finished_at: number; id: string }, limit = 1000) =>
      (await outbox().missedCompletions(after, F + 5, limit)).filter((t) => ours.has(t.id));
    const all = await missed({ finished_at: F, id: '' });
    expect(all.map((t) => [t.id, t.status, t.finished_at])).toEqual([[a, 'completed', F + 1], [b, 'failed', F + 2]]);
    expect(all[0]!.webhook).toBe('http://127.0.0.1:9/hook');
    expect((await missed({ finished_at: F + 1, id: a })).map((t) => t.id)).toEqual([b]);
    // Once a completed delivery is written, the task is no longer missed.
    await outbox().enqueueWebhook(delivery(a, 'completed'));
    expect((await missed({ finished_at: F, id: '' })).map((t) => t.id)).toEqual([b]);
  });

  it('prunes settled completed deliveries only past their own, longer cut-off', async () => {
    const [done, progress] = [delivery(uniq('task'), 'completed'), delivery(uniq('task'), 'progress')];
    for (const d of [done, progress]) {
      await outbox().enqueueWebhook(d);
      await claim('a', T0, [d.task_id]);
      await outbox().settleWebhook(d.id, 'a', { state: 'done', attempt: 1, body: 'b', next_at: T0 });
    }
    const later = Date.now() + 60_000;
    expect(await outbox().pruneWebhooks(later, 0)).toBeGreaterThanOrEqual(1); // the progress one
    // The completed one is kept: it still counts as written (a second is ignored).
    expect(await outbox().enqueueWebhook(delivery(done.task_id, 'completed'))).toBe(false);
    await outbox().pruneWebhooks(later, later);
    expect(await outbox().enqueueWebhook(delivery(done.task_id, 'completed'))).toBe(true);
  });
}

/** Ends a running task as the settler would (inside its lease), recording it finished at `finishedAt`. */
async function endAs(store: TaskStore, id: string, to: TaskStatus, finishedAt: number): Promise<string> {
  const [r] = await store.transition([{ id, from: ['running'], to, patch: { finished_at: finishedAt, lease_owner: null, lease_expires_at: null }, now: T0 + 2 }]);
  if (!r) throw new Error(`could not end ${id}`);
  return id;
}
