/** Conformance: tenant settings overrides, GPU-seconds per day, and active-task counts per tenant. */
import { expect, it } from 'vitest';
import { makeTask, type OpenStore, seed, start, T0, uniq, useStore } from './fixtures.ts';

export function tenantConformance(open: OpenStore): void {
  const store = useStore(open);

  it('stores an override per tenant, replaces it on a second put, and keeps null as "no limit"', async () => {
    const tenant = uniq('tenant');
    await store().tenants.putTenantOverride({ tenant, settings: { weight: 2, max_queued: 5 }, updated_at: T0 });
    await store().tenants.putTenantOverride({ tenant, settings: { max_running: null, gpu_seconds_per_day: 3600 }, updated_at: T0 + 1 });
    const mine = (await store().tenants.listTenantOverrides()).filter((o) => o.tenant === tenant);
    expect(mine).toEqual([{ tenant, settings: { max_running: null, gpu_seconds_per_day: 3600 }, updated_at: T0 + 1 }]);
  });

  it('adds GPU-seconds per tenant and UTC day, several charges of one pair in one call included', async () => {
    const [a, b] = [uniq('tenant'), uniq('tenant')];
    const day = `2031-01-${String((Number(a.slice(-2)) % 27) + 1).padStart(2, '0')}`;
    await store().tenants.chargeGpuSeconds([
      { tenant: a, day, gpu_seconds: 1.5 },
      { tenant: a, day, gpu_seconds: 2 },
      { tenant: b, day: '2031-02-01', gpu_seconds: 7 },
    ]);
    await store().tenants.chargeGpuSeconds([{ tenant: a, day, gpu_seconds: 0.25 }]);
    await store().tenants.chargeGpuSeconds([]);
    const on = await store().tenants.gpuSecondsOn(day);
    expect(on.get(a)).toBeCloseTo(3.75, 9);
    expect(on.has(b)).toBe(false);
    expect((await store().tenants.gpuSecondsOn('2031-02-01')).get(b)).toBeCloseTo(7, 9);
  });

  it("counts each tenant's queued and running tasks, leaving out an owner's running ones when asked", async () => {
    const [a, b] = [uniq('tenant'), uniq('tenant')];
    const tasks = await seed(store(), [
      makeTask({ tenant: a }),
      makeTask({ tenant: a }),
      makeTask({ tenant: a }),
      makeTask({ tenant: b }),
      makeTask({ tenant: b }),
    ]);
    await start(store(), tasks[0]!.id, 'node-a');
    await start(store(), tasks[1]!.id, 'node-b');
    await start(store(), tasks[3]!.id, 'node-a');
    await store().transition([{ id: tasks[3]!.id, from: ['running'], to: 'completed', patch: { finished_at: T0 + 2 }, now: T0 + 2 }]);
    const all = (await store().tenants.tenantActivity()).filter((r) => r.tenant === a || r.tenant === b);
    expect(all).toEqual([
      { tenant: a, queued: 1, running: 2 },
      { tenant: b, queued: 1, running: 0 },
    ].sort((x, y) => (x.tenant < y.tenant ? -1 : 1)));
    expect(await store().tenants.tenantActivity(a, 'node-a')).toEqual([{ tenant: a, queued: 1, running: 1 }]);
    expect(await store().tenants.tenantActivity(uniq('tenant'))).toEqual([]);
  });
}
