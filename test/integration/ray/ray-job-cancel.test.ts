/**
 * Must hold (issue 12): a cancelled Ray task is `cancelled` within 2 s of Ray stopping it, and
 * its job is STOPPED; a settled job is deleted from Ray once the retention has passed.
 */
import { afterAll, expect, it, vi } from 'vitest';
import type { RunOutcome } from '../../../src/executors/executor.ts';
import { makeTask } from '../executor/helpers.ts';
import { openRayJobExecutor, rayUrl, reportFront } from './ray-job-fixture.ts';

vi.setConfig({ testTimeout: 240_000 });
const front = await reportFront();
const ex = openRayJobExecutor(await rayUrl(), front, { retentionMs: 60_000 });
afterAll(async () => {
  await ex.close();
  await front.close();
});

it('cancel: the task is cancelled within 2 s of Ray reporting STOPPED; the retention sweep then deletes the job', async () => {
  const task = { ...makeTask({ script: 'waits.py' }), id: `cancel-${Date.now().toString(36)}` };
  front.known(task);
  let exitAt = 0;
  const exited = new Promise<RunOutcome>((resolve) =>
    ex.run(task, [], {
      started: () => {},
      event: (type, data) => {
        if (type === 'log' && String(data.message).startsWith('waiting ')) ex.cancel(task.id);
      },
      exit: (outcome) => {
        exitAt = Date.now();
        resolve(outcome);
      },
    }),
  );
  expect(await exited).toEqual({ kind: 'cancelled' });
  const id = `lr-${task.id}-1`;
  const job = await ex.client.get(id);
  expect(job?.status).toBe('STOPPED');
  const lag = exitAt - (job?.end_time ?? 0);
  console.info(`[measure] Ray STOPPED → task cancelled: ${lag} ms`);
  expect(lag).toBeLessThan(2000);

  await ex.sweep(Date.now()); // younger than the retention: kept
  expect(await ex.client.get(id)).not.toBeNull();
  expect(await ex.sweep(Date.now() + 61_000)).toBeGreaterThanOrEqual(1);
  expect(await ex.client.get(id)).toBeNull();
});
