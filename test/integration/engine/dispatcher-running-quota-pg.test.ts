/**
 * max_running across schedulers, through the real Dispatcher on PostgreSQL: another scheduler
 * (a plain claim under another lease owner, on its own store instance) starts the tenant's
 * quota's worth of tasks just after this dispatcher read the counts, so this dispatcher's view
 * says the tenant has room. Its claims carry the tenant's max_running and the store refuses them:
 * the tasks stay queued, the gate re-reads the counts in the next round (no claim retried every
 * LOST_CLAIM_RETRY_MS meanwhile), and the tasks start here once the other scheduler's tasks end.
 * A tenant without the quota: its claims carry nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Task } from '../../../src/domain/task.ts';
import { PostgresTaskStore } from '../../../src/store/postgres/postgres-store.ts';
import type { Fence, TaskStore, TransitionRequest } from '../../../src/store/task-store.ts';
import { dispatcherRig } from '../../helpers/dispatcher-rig.ts';
import { usePostgres } from '../../helpers/postgres-server.ts';
import { taskFixture } from '../../helpers/task-fixture.ts';
import { until } from '../../helpers/until.ts';

const ME = 'i_me';
const OTHER = 'i_other_scheduler';
const server = usePostgres();

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

describe('dispatcher on PostgreSQL: max_running across schedulers', () => {
  it('a claim over the quota that another scheduler filled meanwhile is refused; the tasks start here when its tasks end', { timeout: 60_000 }, async () => {
    const url = await (await server()).createDatabase();
    const inner = await PostgresTaskStore.open({ url, poolSize: 4 });
    const other = await PostgresTaskStore.open({ url, poolSize: 2 });
    const created = Date.now() - 1000;
    // Tenant r (max_running 2): r0..r3 here, o0 and o1 on another executor for the other scheduler. Tenant f: no quota.
    const mine: Task[] = [0, 1, 2, 3].map((i) => taskFixture({ id: `r${i}`, tenant: 'r', created_at: created + i }));
    const theirs: Task[] = [0, 1].map((i) => taskFixture({ id: `o${i}`, tenant: 'r', executor: 'elsewhere', created_at: created + i }));
    const free = taskFixture({ id: 'f0', tenant: 'f', created_at: created + 10 });
    await inner.insert([...mine, ...theirs, free].map((task) => ({ task, body_hash: null })), created);
    const ownership = await inner.claimExecutor('local', ME, Date.now(), 60_000);
    const fence: Fence = { executor: 'local', epoch: (ownership as { epoch: number }).epoch };

    // The other scheduler starts its two just before this dispatcher's first claim reaches the store.
    const claims: TransitionRequest[][] = [];
    let contended = false;
    const transition: TaskStore['transition'] = async (requests) => {
      if (requests.some((r) => r.to === 'running')) {
        claims.push(requests);
        if (!contended) {
          contended = true;
          const now = Date.now();
          const started = await other.transition(
            theirs.map((t) => ({ id: t.id, from: ['pending'], to: 'running', running_quota: { tenant: 'r', max_running: 2 }, patch: { attempt: 1, started_at: now, lease_owner: OTHER, lease_expires_at: now + 60_000 }, now })),
          );
          expect(started.every((s) => s?.task.status === 'running')).toBe(true);
        }
      }
      return inner.transition(requests);
    };
    const store = new Proxy(inner, {
      get: (target, prop, receiver) => (prop === 'transition' ? transition : (Reflect.get(target, prop, receiver) as unknown)),
    }) as TaskStore;

    const { dispatcher, runs, errors, stop } = dispatcherRig({ store, tenantStore: inner.tenants, instanceId: ME, fence, cpu: 8, tenants: { r: { max_running: 2 } } });
    stops.push(async () => {
      await stop();
      await other.close();
      await inner.close();
    });

    dispatcher.wake();
    await until('the tenant without quota runs', async () => runs.has('f0'), 5000);
    // The first claim carried r's quota (and nothing for f); the store refused r's over it.
    const first = claims[0]!;
    expect(first.filter((r) => r.running_quota !== undefined).map((r) => [r.id, r.running_quota])).toEqual([
      ['r0', { tenant: 'r', max_running: 2 }],
      ['r1', { tenant: 'r', max_running: 2 }],
    ]);
    expect(first.find((r) => r.id === 'f0')?.running_quota).toBeUndefined();
    await new Promise((r) => setTimeout(r, 1500));
    expect([...runs.keys()].filter((id) => id.startsWith('r'))).toEqual([]);
    expect((await inner.get('r0'))?.status).toBe('pending');
    // Refused once, then held back by the re-read counts: not retried every 25 ms.
    const rClaims = claims.filter((c) => c.some((r) => r.running_quota !== undefined));
    expect(rClaims.length).toBeLessThanOrEqual(4);

    // The other scheduler's two end: two of r's start here, never more.
    const now = Date.now();
    await other.transition(theirs.map((t) => ({ id: t.id, from: ['running'], to: 'completed', patch: { finished_at: now, lease_owner: null, lease_expires_at: null }, now })));
    await until('two of r running here', async () => [...runs.keys()].filter((id) => id.startsWith('r')).length === 2, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    const { tasks } = await inner.list({ tenant: 'r', limit: 10 });
    expect(tasks.filter((t) => t.status === 'running')).toHaveLength(2);
    expect(errors).toEqual([]);
  });
});
