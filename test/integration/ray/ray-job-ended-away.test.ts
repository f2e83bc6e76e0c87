/**
 * A Ray job that SUCCEEDED while no server followed it: its harness exited only once a server
 * acked its outcome, so a previous instance took that outcome and never settled the task. The
 * next instance answers `gone` (the engine retries or fails TASK_LOST) rather than inventing
 * an outcome. A FAILED job found the same way is `finished` with Ray's reason.
 */
import { afterAll, expect, it, vi } from 'vitest';
import type { RunOutcome } from '../../../src/executors/executor.ts';
import { makeTask } from '../executor/helpers.ts';
import { openRayJobExecutor, rayUrl, reportFront } from './ray-job-fixture.ts';

vi.setConfig({ testTimeout: 240_000 });
const front = await reportFront();
const address = await rayUrl();
afterAll(() => front.close());

it('re-attach: a job that succeeded under a previous instance is gone, one that failed without reporting is finished', async () => {
  const previous = openRayJobExecutor(address, front);
  const stamp = Date.now().toString(36);
  const ok = { ...makeTask({ script: 'echo.py' }), id: `away-ok-${stamp}` };
  // The front does not know this task: its reports are refused (404), so its harness cannot deliver and exits 1.
  const lost = { ...makeTask({ script: 'echo.py' }), id: `away-lost-${stamp}` };
  front.known(ok);
  const placements = new Map<string, unknown>();
  const run = (task: typeof ok) =>
    new Promise<RunOutcome>((resolve) =>
      previous.run(task, [], { started: (info) => placements.set(task.id, info.placement), event: () => {}, exit: resolve }),
    );
  const [okOutcome, lostOutcome] = await Promise.all([run(ok), run(lost)]);
  await previous.close();
  expect(okOutcome.kind).toBe('completed');
  // Nobody knows `lost`: its reports are refused (404), the harness cannot deliver and exits 1.
  expect(lostOutcome).toMatchObject({ kind: 'failed', error: { code: 'EXECUTOR_ERROR' } });

  const next = openRayJobExecutor(address, front);
  try {
    const placed = (task: typeof ok) => ({ ...task, status: 'running' as const, assignment: { gpus: [], placement: placements.get(task.id) as { kind: string } } });
    const answers = await next.reattach([placed(ok), { ...lost, status: 'running' as const }], () => {
      throw new Error('nothing is followed again');
    });
    expect(answers.get(ok.id)).toMatchObject({ state: 'gone', reason: expect.stringContaining('succeeded while no server followed it') });
    expect(answers.get(lost.id)).toMatchObject({ state: 'finished', outcome: { kind: 'failed', error: { code: 'EXECUTOR_ERROR', message: expect.stringContaining('FAILED') } } });
  } finally {
    await next.close();
  }
});
