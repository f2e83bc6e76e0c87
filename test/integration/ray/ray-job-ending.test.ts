/**
 * A Ray job whose harness has sent its last report is watched closely: the task exits (and its
 * slot frees) within a few polls of Ray saying SUCCEEDED, even with polling set slow. Without
 * it a job waits for the backed-off poll (here 20 s), and in a burst every next job waits too.
 */
import { afterAll, expect, it, vi } from 'vitest';
import type { RunOutcome } from '../../../src/executors/executor.ts';
import { makeTask } from '../executor/helpers.ts';
import { openRayJobExecutor, rayUrl, reportFront } from './ray-job-fixture.ts';

vi.setConfig({ testTimeout: 240_000 });
const front = await reportFront();
const SLOW_POLL_MS = 20_000;
const ex = openRayJobExecutor(await rayUrl(), front, { timing: { pollMs: SLOW_POLL_MS, maxPollMs: SLOW_POLL_MS, submitDeadlineMs: 300_000, lostAfterMs: 300_000 } });
afterAll(async () => {
  await ex.close();
  await front.close();
});

it('the task exits soon after Ray says SUCCEEDED, however slow the configured polling', async () => {
  const task = { ...makeTask({ script: 'echo.py', params: { value: 1 } }), id: `ending-${Date.now().toString(36)}` };
  front.known(task);
  let exitAt = 0;
  const outcome = await new Promise<RunOutcome>((resolve) =>
    ex.run(task, [], {
      started: () => {},
      event: () => {},
      exit: (o) => {
        exitAt = Date.now();
        resolve(o);
      },
    }),
  );
  expect(outcome.kind, JSON.stringify(outcome)).toBe('completed');
  const job = await ex.client.get(`lr-${task.id}-1`);
  expect(job?.status).toBe('SUCCEEDED');
  const lag = exitAt - (job?.end_time ?? 0);
  console.info(`[measure] Ray SUCCEEDED → task exit with ${SLOW_POLL_MS} ms polling: ${lag} ms`);
  expect(lag).toBeLessThan(2000);
});
