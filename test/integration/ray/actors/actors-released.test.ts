/**
 * A task on a warm actor can end (its harness's `done` over HTTP) before any driver poll has
 * listed it running: the driver's poller sends its next poll before the answer's run items
 * start, and a short task reports its end before the poll after that. That poll then lists the
 * task running while its actor's call returns. The executor took it for an orphan and cancelled
 * it (killing the warm actor: the next task waited for a cold one), and counted its slot
 * nowhere (submissions refused until the next poll, up to 20 s later). Now a task that ended
 * here is released whatever the last poll said: its slot is free and it is never an orphan.
 *
 * The executor's driver is a real Ray job on the run's head, given a URL where nothing listens:
 * it never polls, so the polls here are the only ones (made as the route makes them), and the
 * harness's reports are posted to the hub as the route posts them.
 */
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { DriverPoll, DriverPollAnswer } from '../../../../src/domain/driver-poll.ts';
import { RemoteReports } from '../../../../src/engine/remote-reports.ts';
import { TaskTokens } from '../../../../src/engine/task-tokens.ts';
import type { RunOutcome } from '../../../../src/executors/executor.ts';
import { freePort, ROOT, tempDir } from '../../../helpers/server-process.ts';
import { unpolledActorsExecutor } from './actors-platform.ts';
import { until } from '../../../helpers/until.ts';
import { makeTask } from '../../executor/helpers.ts';
import { rayUrl } from '../ray-job-fixture.ts';

const SCRIPTS = join(ROOT, 'test/fault/scripts');
const NAME = `rel-${Math.random().toString(36).slice(2, 8)}`;
const dir = tempDir();
const tokens = TaskTokens.fromStateDir(join(dir, 'state'));
const reports = new RemoteReports({ tokens, task: () => Promise.resolve({ status: 'running', attempt: 1 }) });
const executor = await unpolledActorsExecutor({ name: NAME, address: await rayUrl(), scriptRoot: SCRIPTS, dataRoot: dir, tokens, reports, maxActors: 1, freePort });

afterAll(async () => {
  await executor.stopDriver();
  await executor.close();
});

const poll = (body: Omit<DriverPoll, 'driver_id'>): Promise<DriverPollAnswer> =>
  executor.poll({ driver_id: executor.driver.id!, ...body }, new AbortController().signal);
const idle = { running: [], capacity: { py: 1 }, busy: { py: 0 }, done: [] };
const task = (n: number) => ({ ...makeTask({ script: 'ledger.py', params: { ledger: dir, ms: 1 }, pool: 'py', resources: { cpu: 0.1, gpu: 0, memory_mb: 0, custom: {} } }), id: `${NAME}-t${n}` });

it('a task that ended before a poll listed it running is released, not cancelled as an orphan, and its slot is free at once', { timeout: 300_000 }, async () => {
  await until('the executor to have its driver on Ray', async () => executor.driver.id !== undefined, 240_000, 100);
  await executor.reattach([], () => {
    throw new Error('nothing to re-attach');
  });
  await poll(idle);

  const first = task(1);
  expect(executor.reserve(first)).toBe(true);
  let outcome: RunOutcome | undefined;
  executor.run(first, [], { started: () => {}, event: () => {}, exit: (o) => (outcome = o) });
  // The poll that carries its run item says nothing runs (its snapshot is older than the task).
  await until('the run item in a poll answer', async () => (await poll(idle)).run.some((r) => r.task_id === first.id), 60_000, 0);

  // The actor runs it and reports its end over HTTP before the driver's next poll lists it.
  const messages = [
    { seq: 1, type: 'started', task_id: first.id, ts: Date.now() },
    { seq: 2, type: 'result', task_id: first.id, value: { ok: true } },
    { seq: 3, type: 'done', task_id: first.id },
  ];
  await reports.receive(first.id, `Bearer ${tokens.mint(first.id, 1)}`, { attempt: 1, messages });
  expect(outcome).toEqual({ kind: 'completed', result: { ok: true } });

  // That poll lists it running, its actor busy: the executor knows it is over.
  const answer = await poll({ running: [first.id], capacity: { py: 0 }, busy: { py: 1 }, done: [] });
  expect(answer.cancel).toEqual([]);
  expect(executor.reserve(task(2))).toBe(true); // the actor is about to be free: no wait for the next poll
  executor.unreserve(task(2).id);
});
