/**
 * Tenant quotas on the real engine (SQLite file, local executor with fake GPUs): max_queued
 * refuses submits (single and batch, all or nothing), max_running keeps tasks queued until a
 * slot frees, GPU-seconds per day are charged while tasks hold GPUs and hold GPU work back once
 * used up; an operator's override applies at run time.
 */
import { describe, expect, it } from 'vitest';
import { LakerayError } from '../../../src/domain/errors.ts';
import { TenantAdmin } from '../../../src/tenants/admin.ts';
import { utcDay } from '../../../src/tenants/settings.ts';
import { until } from '../../helpers/until.ts';
import { startTenantRig } from './tenant-rig.ts';

const OPERATOR = { tenant: 'default', role: 'admin', key_id: null } as const;
const refusal = (p: Promise<unknown>): Promise<LakerayError> =>
  p.then(
    () => {
      throw new Error('the submit was accepted');
    },
    (e: unknown) => e as LakerayError,
  );

describe('engine: tenant quotas', () => {
  it('max_queued refuses a submit (single or batch) that would pass it with 429 QUOTA_EXCEEDED, storing nothing of it', async () => {
    // max_running 0: nothing starts, so what is queued stays queued.
    const rig = await startTenantRig({ gpus: 0, tenants: { q: { max_queued: 3, max_running: 0 } } });
    try {
      await rig.sleeps('q', 2, 10, 0);
      const batch = await refusal(rig.sleeps('q', 2, 10, 0));
      expect(batch).toBeInstanceOf(LakerayError);
      expect(batch.code).toBe('QUOTA_EXCEEDED');
      expect(batch.status).toBe(429);
      expect(batch.message).toMatch(/max_queued: tenant "q" has 2 task\(s\) queued and may have at most 3; this submission adds 2/);
      expect(await rig.tasksOf('q')).toHaveLength(2); // not half of the batch
      await rig.sleeps('q', 1, 10, 0);
      expect((await refusal(rig.sleeps('q', 1, 10, 0))).code).toBe('QUOTA_EXCEEDED');
      // Another tenant is not affected.
      await rig.sleeps('other', 5, 10, 0);
      expect((await rig.tasksOf('q')).map((t) => t.status)).toEqual(['pending', 'pending', 'pending']);
    } finally {
      await rig.stop();
    }
  });

  it('max_running keeps the rest queued (not failed) and starts them as slots free; other tenants run meanwhile', { timeout: 120_000 }, async () => {
    const rig = await startTenantRig({ gpus: 0, tenants: { r: { max_running: 2 } } });
    try {
      const ids = (await rig.sleeps('r', 6, 400, 0)).map((t) => t.id);
      let most = 0;
      let done = false;
      const watch = (async () => {
        while (!done) {
          const tasks = await rig.tasksOf('r');
          most = Math.max(most, tasks.filter((t) => t.status === 'running').length);
          if (tasks.every((t) => t.status === 'completed')) done = true;
          await new Promise((r) => setTimeout(r, 15));
        }
      })();
      await until('a task of r running', async () => (await rig.tasksOf('r')).some((t) => t.status === 'running'), 30_000);
      const [other] = await rig.sleeps('s', 1, 10, 0);
      await until("the other tenant's task", async () => (await rig.engine.get({ tenant: 's' }, other!.id)).status === 'completed', 30_000);
      expect((await rig.tasksOf('r')).some((t) => t.status === 'pending')).toBe(true); // s ran while r waited
      await until('all of r', async () => done, 60_000);
      await watch;
      expect(most).toBe(2);
      for (const id of ids) expect((await rig.engine.get({ tenant: 'r' }, id)).attempt).toBe(1);
    } finally {
      await rig.stop();
    }
  });

  it('charges GPU-seconds while a task runs; a used-up day refuses GPU submits, holds queued GPU tasks, and an operator can lift it', { timeout: 120_000 }, async () => {
    const rig = await startTenantRig({ gpus: 1, gpuChargeMs: 200, tenants: { g: { gpu_seconds_per_day: 0.5 } } });
    const admin = new TenantAdmin({ store: rig.store, tenants: rig.engine.tenants });
    try {
      const [long] = await rig.sleeps('g', 1, 1500);
      const [waiting] = await rig.sleeps('g', 1, 10); // behind the long one: the only GPU is taken
      const day = utcDay(Date.now());
      // Stored while it still runs (the meter's tick), not only at its end.
      await until('GPU-seconds stored while the task runs', async () => ((await rig.store.tenants.gpuSecondsOn(day)).get('g') ?? 0) > 0.2, 30_000);
      expect((await rig.engine.get({ tenant: 'g' }, long!.id)).status).toBe('running');
      await until('the long task', async () => (await rig.engine.get({ tenant: 'g' }, long!.id)).status === 'completed', 30_000);
      const after = await admin.get({ tenant: 'g', role: 'viewer', key_id: 'k1' }, 'g');
      expect(after.usage.gpu_seconds_today).toBeGreaterThanOrEqual(1.4);
      expect(after.usage.gpu_seconds_today).toBeLessThan(3);
      // Over the day's quota: the queued GPU task waits, a new GPU submit is refused, CPU work is not.
      await new Promise((r) => setTimeout(r, 1500));
      expect((await rig.engine.get({ tenant: 'g' }, waiting!.id)).status).toBe('pending');
      const refused = await refusal(rig.sleeps('g', 1, 10));
      expect(refused.code).toBe('QUOTA_EXCEEDED');
      expect(refused.message).toMatch(/gpu_seconds_per_day: tenant "g" used \d+ of its 0.5 GPU-seconds/);
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      const [cpu] = await rig.sleeps('g', 1, 10, 0);
      await until('the CPU task', async () => (await rig.engine.get({ tenant: 'g' }, cpu!.id)).status === 'completed', 30_000);
      // The operator raises the quota: the held task starts without a restart.
      await admin.put(OPERATOR, 'g', { gpu_seconds_per_day: 3600 });
      await until('the held GPU task', async () => (await rig.engine.get({ tenant: 'g' }, waiting!.id)).status === 'completed', 30_000);
    } finally {
      await rig.stop();
    }
  });
});
