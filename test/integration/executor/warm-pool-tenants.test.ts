/**
 * A warm worker never passes from one tenant to another (worker-choice.ts, warm-pool.ts): a
 * process keeps what a script left in it (modules, globals), so a tenant's job never runs in
 * a worker that ran another tenant's. Real pools of real Python harnesses.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { makeExecutor, makeTask, runTask, succeeded } from './helpers.ts';

describe('local executor: warm workers and tenants', () => {
  const executor = makeExecutor({
    pools: [
      { name: 'one', runtime: 'python', preload: [], min: 0, max: 1, idle_timeout_s: 60, concurrency: 1 },
      { name: 'two', runtime: 'python', preload: [], min: 0, max: 2, idle_timeout_s: 60, concurrency: 1 },
    ],
  });
  afterAll(() => executor.close());
  const stats = (name: string) => executor.poolStats().find((s) => s.pool === name)!;
  const pidOf = async (pool: string, tenant: string): Promise<unknown> =>
    succeeded((await runTask(executor, makeTask({ script: 'ok.py', pool, tenant }))).exits[0]!).pid;

  it("reuses a tenant's own worker, and gives another tenant a worker of its own", async () => {
    const a1 = await pidOf('two', 'acme');
    const a2 = await pidOf('two', 'acme');
    const b1 = await pidOf('two', 'other');
    const a3 = await pidOf('two', 'acme');
    const b2 = await pidOf('two', 'other');
    expect(a2).toBe(a1);
    expect(b1).not.toBe(a1);
    expect(a3).toBe(a1);
    expect(b2).toBe(b1);
    expect(stats('two').started_total).toBe(2);
  });

  it("at max, retires the idle worker of another tenant instead of handing it over", async () => {
    const a = await pidOf('one', 'acme');
    const b = await pidOf('one', 'other');
    expect(b).not.toBe(a);
    expect(stats('one')).toMatchObject({ started_total: 2, retired_total: 1 });
  });

  it('a slot reserved for one tenant is not taken by another, and is free again once given back', async () => {
    const reserveOf = (tenant: string) => makeTask({ script: 'ok.py', pool: 'two', tenant });
    await pidOf('two', 'acme'); // both workers of `two` exist: acme's and other's
    const acmeTask = reserveOf('acme');
    expect(executor.reserve(acmeTask, [])).toBe(true);
    const third = reserveOf('third');
    // Both workers are bound (acme's holds a slot, other's is other's) and the pool is at max.
    expect(executor.reserve(third, [])).toBe(false);
    executor.unreserve(acmeTask.id);
  });
});
