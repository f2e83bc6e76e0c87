/**
 * The driver of an actors-mode executor dies (its Ray job is stopped): the executor notices,
 * fails the tasks that ran on its actors with a retryable EXECUTOR_LOST, submits the next
 * driver, and runs tasks on it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { RunOutcome } from '../../../../src/executors/executor.ts';
import { makeTask } from '../../executor/helpers.ts';
import { until } from '../../../helpers/until.ts';
import { rayUrl } from '../ray-job-fixture.ts';
import { ActorsPlatform } from './actors-platform.ts';
import { FIXTURES } from './start-driver.ts';

const platform = new ActorsPlatform(await rayUrl());
await platform.listen();
afterAll(() => platform.close());

const run = (ex: ReturnType<ActorsPlatform['open']>, params: Record<string, unknown>) => {
  const task = { ...makeTask({ script: 'task.py', params }), id: `t-${Math.random().toString(36).slice(2, 10)}` };
  const logs: string[] = [];
  const exited = new Promise<RunOutcome>((resolve) => ex.run(task, [], { started: () => {}, event: (type, data) => type === 'log' && logs.push(String(data.message)), exit: resolve }));
  return { task, logs, exited };
};

describe('actors mode: a driver that dies is replaced', { timeout: 600_000 }, () => {
  it("fails its running task (retryable EXECUTOR_LOST), submits the next driver, and runs on it", async () => {
    const ex = platform.open(`dr${Math.random().toString(36).slice(2, 8)}`, [FIXTURES], { watchMs: 500 });
    await until('the driver polls', async () => ex.health().ok, 300_000, 100);
    const first = ex.driver.id!;
    expect(first).toMatch(/^lr-driver-dr\w+-1$/);
    const victim = run(ex, { mode: 'loop' });
    await until('the task runs', async () => victim.logs.some((m) => m.startsWith('pid ')), 120_000, 20);
    await ex.client.stop(first); // the driver job dies; its actors die with it
    const outcome = await victim.exited;
    expect(outcome).toMatchObject({ kind: 'failed', error: { code: 'EXECUTOR_LOST', message: expect.stringContaining(first) } });
    await until('the next driver is submitted', async () => ex.driver.id?.endsWith('-2'), 60_000, 50);
    await until('the next driver polls', async () => ex.health().ok, 300_000, 100);
    const next = run(ex, { value: 7 });
    expect(await next.exited).toMatchObject({ kind: 'completed', result: { echo: 7 } });
  });
});
