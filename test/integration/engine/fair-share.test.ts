/**
 * Weighted fair share, measured on the real engine: three tenants weighted 1:2:4 saturate a
 * pool of 4 (configured, fake) GPUs with 0.4 s sleep tasks holding one GPU each. The first two
 * run alone for a while; the third arrives late. Its first task starts within one task
 * duration of its arrival, and over the window that follows, each tenant's GPU-seconds are
 * within ±10% of 1/7, 2/7 and 4/7 of what the pool gave out.
 */
import { describe, expect, it } from 'vitest';
import { until } from '../../helpers/until.ts';
import { gpuSecondsIn, startTenantRig } from './tenant-rig.ts';

const TASK_MS = 400;
const GPUS = 4;
const WINDOW_MS = 30_000;
const WEIGHTS = { light: 1, middle: 2, heavy: 4 } as const;
/** More than each tenant can run in the window (4 GPUs × 30 s / 0.4 s = 300 tasks in all). */
const BACKLOG = 320;

describe('engine: weighted fair share between tenants', () => {
  it(
    'gives tenants weighted 1:2:4 GPU-seconds within ±10% of 1/7, 2/7, 4/7, a late one included from its first task duration on',
    { timeout: 180_000 },
    async () => {
      const rig = await startTenantRig({
        gpus: GPUS,
        tenants: Object.fromEntries(Object.entries(WEIGHTS).map(([t, weight]) => [t, { weight }])),
      });
      try {
        await rig.sleeps('light', BACKLOG, TASK_MS);
        await rig.sleeps('middle', BACKLOG, TASK_MS);
        // light and middle alone for a while: the late tenant finds a busy pool with history.
        await until('light and middle running', async () => (await rig.tasksOf('middle')).some((t) => t.status === 'completed'), 60_000);
        await new Promise((r) => setTimeout(r, 3000));

        // It arrives when its tasks are in the queue: once the submit (compile and insert of the
        // batch, during which this process starts nothing at all) returned.
        const called = Date.now();
        await rig.sleeps('heavy', BACKLOG, TASK_MS);
        const arrived = Date.now();
        const first = await until(
          'the late tenant starting',
          async () => {
            const started = (await rig.tasksOf('heavy')).filter((t) => t.started_at !== null);
            return started.length > 0 ? Math.min(...started.map((t) => t.started_at as number)) : null;
          },
          30_000,
          10,
        );
        const othersBefore = (await Promise.all(['light', 'middle'].map((t) => rig.tasksOf(t))))
          .flat()
          .filter((t) => t.started_at !== null && t.started_at >= arrived && t.started_at < first).length;
        console.info(
          `[fair-share] the late tenant's first task started ${first - arrived} ms after it arrived (${first - called} ms after its submit began; task duration ${TASK_MS} ms); ${othersBefore} task(s) of the others started in between`,
        );
        expect(first - arrived).toBeLessThanOrEqual(TASK_MS);
        expect(othersBefore).toBeLessThanOrEqual(GPUS); // it took one of the next slots that freed

        // The window starts one task duration after the arrival: from then on the share is due.
        const from = arrived + TASK_MS;
        const to = from + WINDOW_MS;
        await new Promise((r) => setTimeout(r, to - Date.now() + 200));
        const used = Object.fromEntries(
          await Promise.all(Object.keys(WEIGHTS).map(async (t) => [t, gpuSecondsIn(await rig.tasksOf(t), from, to)] as const)),
        ) as Record<keyof typeof WEIGHTS, number>;
        const total = used.light + used.middle + used.heavy;
        const shares = Object.fromEntries(Object.entries(used).map(([t, s]) => [t, s / total]));
        console.info(
          `[fair-share] GPU-seconds in the ${WINDOW_MS / 1000} s window: ${JSON.stringify(used)} of ${total.toFixed(1)} (pool: ${(GPUS * WINDOW_MS) / 1000}); shares ${JSON.stringify(shares)}`,
        );
        // Saturated: the pool was busy through the window (the backlog never ran dry).
        for (const t of Object.keys(WEIGHTS)) expect((await rig.tasksOf(t)).some((x) => x.status === 'pending')).toBe(true);
        for (const [t, w] of Object.entries(WEIGHTS)) {
          const due = w / 7;
          expect(shares[t], `${t}'s share (due ${due.toFixed(3)})`).toBeGreaterThanOrEqual(due * 0.9);
          expect(shares[t], `${t}'s share (due ${due.toFixed(3)})`).toBeLessThanOrEqual(due * 1.1);
        }
      } finally {
        await rig.stop();
      }
    },
  );
});
