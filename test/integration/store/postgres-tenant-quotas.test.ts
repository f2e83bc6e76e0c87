/**
 * Tenant quotas exact across processes on PostgreSQL: two PostgresTaskStore instances on one
 * database stand for two API or scheduler processes (the exactness comes from the database:
 * per-tenant advisory locks in the insert's and the claim's transaction, tenant-quotas.ts).
 * - max_running: two schedulers claiming at once, each with a view that says the tenant has
 *   room for the whole quota, never have more than it running together.
 * - max_queued: submissions through several processes at once never queue more than it; the
 *   refused ones are 429 QUOTA_EXCEEDED and nothing of them is stored.
 */
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { TenantsConfig } from '../../../src/config/tenants-schema.ts';
import { LakerayError } from '../../../src/domain/errors.ts';
import type { Task } from '../../../src/domain/task.ts';
import { PostgresTaskStore } from '../../../src/store/postgres/postgres-store.ts';
import type { TransitionRequest } from '../../../src/store/task-store.ts';
import { TenantDirectory } from '../../../src/tenants/directory.ts';
import { GpuMeter } from '../../../src/tenants/gpu-meter.ts';
import { SubmitQuotas } from '../../../src/tenants/quotas.ts';
import { usePostgres } from '../../helpers/postgres-server.ts';
import { makeTask, seed, T0, uniq } from './fixtures.ts';

const server = usePostgres();
const opened: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

async function stores(n: number): Promise<{ url: string; stores: PostgresTaskStore[] }> {
  const url = await (await server()).createDatabase();
  const out = [];
  for (let i = 0; i < n; i++) out.push(await PostgresTaskStore.open({ url, poolSize: 4 }));
  opened.push(...out);
  return { url, stores: out };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const claimOf = (t: Task, owner: string, max_running: number, now: number): TransitionRequest => ({
  id: t.id,
  from: ['pending'],
  to: 'running',
  running_quota: { tenant: t.tenant, max_running },
  patch: { attempt: t.attempt + 1, started_at: now, lease_owner: owner, lease_expires_at: now + 60_000 },
  now,
});

const finishOf = (t: Task, now: number): TransitionRequest => ({ id: t.id, from: ['running'], to: 'completed', patch: { finished_at: now, lease_owner: null, lease_expires_at: null }, now });

describe('PostgreSQL: tenant quotas across processes', () => {
  it('max_running: two schedulers claiming at once never run more than the quota together, and all tasks run', { timeout: 60_000 }, async () => {
    const { url, stores: [a, b] } = await stores(2);
    const tenant = uniq('tenant');
    // Each scheduler owns its executor; the tenant's tasks are queued on both.
    const executors = [uniq('ex'), uniq('ex')] as const;
    const MAX = 3;
    const TOTAL = 24;
    await seed(a!, Array.from({ length: TOTAL }, (_, i) => makeTask({ tenant, executor: executors[i % 2], created_at: T0 + i })));
    const sampler = new pg.Client({ connectionString: url });
    await sampler.connect();
    opened.push({ close: () => sampler.end() });
    let most = 0;
    let done = false;
    const sample = (async () => {
      while (!done) {
        const { rows } = await sampler.query<{ n: number }>("SELECT COUNT(*)::int AS n FROM tasks WHERE tenant = $1 AND status = 'running'", [tenant]);
        most = Math.max(most, rows[0]!.n);
        await sleep(1);
      }
    })();
    // A scheduler whose view (stale, as across processes) says the tenant has room for MAX.
    const scheduler = async (store: PostgresTaskStore, owner: string, executor: string): Promise<number> => {
      let claimed = 0;
      for (let round = 0; round < 2000; round++) {
        const now = T0 + 1000 + round;
        const queued = await store.queued({ executor, now, limit: MAX, per_tenant: MAX });
        if (queued.length === 0) break;
        const results = await store.transition(queued.map((t) => claimOf(t, owner, MAX, now)));
        const started = results.flatMap((r) => (r ? [r.task] : []));
        claimed += started.length;
        await sleep(15);
        if (started.length > 0) await store.transition(started.map((t) => finishOf(t, now + 1)));
        else await sleep(2);
      }
      return claimed;
    };
    const claims = await Promise.all([scheduler(a!, 'node-a', executors[0]), scheduler(b!, 'node-b', executors[1])]);
    done = true;
    await sample;
    expect(most).toBeLessThanOrEqual(MAX);
    expect(most).toBeGreaterThan(0);
    expect(claims[0]! + claims[1]!).toBe(TOTAL);
    const { tasks } = await a!.list({ tenant, limit: 100 });
    expect(tasks.map((t) => t.status)).toEqual(Array(TOTAL).fill('completed'));
  });

  it('max_running: a claim over the quota is refused (null) and leaves the task queued; other tenants are not limited', async () => {
    const { stores: [a] } = await stores(1);
    const [limited, free] = [uniq('tenant'), uniq('tenant')];
    const executor = uniq('ex');
    const lt = await seed(a!, [0, 1, 2].map((i) => makeTask({ tenant: limited, executor, created_at: T0 + i })));
    const ft = await seed(a!, [0, 1, 2].map((i) => makeTask({ tenant: free, executor, created_at: T0 + i })));
    const now = T0 + 10;
    const plain = (t: Task): TransitionRequest => ({ ...claimOf(t, 'node-a', 0, now), running_quota: undefined });
    const results = await a!.transition([...lt.map((t) => claimOf(t, 'node-a', 2, now)), ...ft.map(plain)]);
    expect(results.map((r) => r?.task.status ?? null)).toEqual(['running', 'running', null, 'running', 'running', 'running']);
    expect((await a!.get(lt[2]!.id))?.status).toBe('pending');
    // One ends and, in the same transaction (a settle with its claims), the next claim takes its slot.
    const settle = await a!.transition([finishOf(results[0]!.task, now + 1), claimOf(lt[2]!, 'node-a', 2, now + 1)]);
    expect(settle.map((r) => r?.task.status ?? null)).toEqual(['completed', 'running']);
  });

  it('max_queued: concurrent inserts through several stores never queue more than the quota; the refused store nothing', { timeout: 60_000 }, async () => {
    const { stores: all } = await stores(3);
    const tenant = uniq('tenant');
    const MAX = 5;
    const quota = { tenant, max_queued: MAX, refuse: (queued: number, adds: number) => new LakerayError('QUOTA_EXCEEDED', `queued ${queued} + ${adds} > ${MAX}`) };
    const submitted = all.flatMap((store) => Array.from({ length: 4 }, () => makeTask({ tenant })).map((t) => ({ store, task: t })));
    const outcomes = await Promise.allSettled(submitted.map(({ store, task }) => store.insert([{ task, body_hash: null }], T0, quota)));
    const accepted = submitted.filter((_, i) => outcomes[i]!.status === 'fulfilled').map((s) => s.task.id);
    const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as LakerayError] : []));
    expect(accepted).toHaveLength(MAX);
    expect(refused).toHaveLength(submitted.length - MAX);
    for (const e of refused) expect([e.code, e.status]).toEqual(['QUOTA_EXCEEDED', 429]);
    const { tasks } = await all[0]!.list({ tenant, limit: 100 });
    expect(tasks.map((t) => t.id).sort()).toEqual([...accepted].sort());
  });

  it('max_queued: submitters in several processes (SubmitQuotas on their own stores) together stay within it; the over-quota batch gets 429 QUOTA_EXCEEDED', { timeout: 60_000 }, async () => {
    const { stores: all } = await stores(3);
    const tenant = uniq('tenant');
    const MAX = 6;
    const config: TenantsConfig = { [tenant]: { max_queued: MAX } };
    const submitters = all.map((store) => {
      const directory = new TenantDirectory(store.tenants, config, Date.now);
      const meter = new GpuMeter({ store: store.tenants, now: Date.now, onError: () => {} });
      return { store, quotas: new SubmitQuotas({ directory, store: store.tenants, meter, now: Date.now }) };
    });
    // Every process submits batches of 2 at once: 3 × 3 × 2 = 18 tasks asked for, 6 allowed.
    const batches = submitters.flatMap((s) => [0, 1, 2].map(() => ({ s, tasks: [makeTask({ tenant }), makeTask({ tenant })] })));
    const outcomes = await Promise.allSettled(
      batches.map(({ s, tasks }) => s.quotas.admit(tenant, tasks, (quota) => s.store.insert(tasks.map((task) => ({ task, body_hash: null })), T0, quota))),
    );
    const accepted = batches.filter((_, i) => outcomes[i]!.status === 'fulfilled').flatMap((b) => b.tasks.map((t) => t.id));
    const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as LakerayError] : []));
    expect(accepted).toHaveLength(MAX);
    expect(refused).toHaveLength(batches.length - MAX / 2);
    for (const e of refused) {
      expect(e).toBeInstanceOf(LakerayError);
      expect([e.code, e.status]).toEqual(['QUOTA_EXCEEDED', 429]);
      expect(e.message).toMatch(new RegExp(`^max_queued: tenant "${tenant}" has \\d+ task\\(s\\) queued and may have at most ${MAX}; this submission adds 2`));
    }
    const { tasks } = await all[0]!.list({ tenant, limit: 100 });
    expect(tasks.map((t) => t.id).sort()).toEqual([...accepted].sort());
  });
});
