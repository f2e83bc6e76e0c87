/** The Ray executor, mode `actors`, passes the Executor conformance suite against a real Ray head. */
import { afterAll, vi } from 'vitest';
import { executorConformance } from '../../executor/conformance.ts';
import { makeTask, nested } from '../../executor/helpers.ts';
import { rayUrl, SCRIPTS } from '../ray-job-fixture.ts';
import { ActorsPlatform } from './actors-platform.ts';

// The first task waits for the driver job and its first actor (tens of seconds under load).
vi.setConfig({ testTimeout: 300_000, hookTimeout: 300_000 });

const platform = new ActorsPlatform(await rayUrl());
await platform.listen();
afterAll(() => platform.close());

const run = Math.random().toString(36).slice(2, 8);
executorConformance('ray, mode actors', {
  // one executor name per server instance (owner): instances of one owner share its driver
  open: (owner) => platform.open(`c${run}-${owner.slice(-6)}`, [SCRIPTS]),
  task: (kind, params = {}, attempt = 1) => {
    const task = makeTask({ script: `${kind}.py`, params, attempt });
    return { ...task, id: `${task.id}-${run}` };
  },
  // a cancelled actor is killed and replaced right after its script stopped (ray-actors-cancel.test.ts)
  processGone: () => true,
  sharedProcess: true,
  undecodableParams: () => nested(3000),
  graceMs: 3000,
  startMs: 240_000,
  reattach: 'follows',
  endedAway: 'gone',
});
