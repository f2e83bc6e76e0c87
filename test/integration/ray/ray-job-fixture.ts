/**
 * The Ray executor in mode `job` against the run's real Ray head, as the Executor conformance
 * suite and the Ray tests open it. LAKERAY_TEST_RAY_URL points the tests at a head that is
 * already running (iterating on this machine, where a head takes a minute to start) instead.
 */
import path from 'node:path';
import { processAlive } from '../../../src/executors/local/process-group.ts';
import { RayJobExecutor, type RayJobExecutorOptions } from '../../../src/executors/ray/ray-job-executor.ts';
import type { ExecutorFixture, TaskKind } from '../executor/conformance.ts';
import { makeTask, nested } from '../executor/helpers.ts';
import { rayHead } from '../../helpers/ray-head.ts';

export const SCRIPTS = path.join(import.meta.dirname, '../executor/scripts');
const RUNTIMES = path.join(import.meta.dirname, '../../../runtimes');

export const rayUrl = async (): Promise<string> => process.env.LAKERAY_TEST_RAY_URL ?? (await rayHead()).url;

export const openRayJobExecutor = (address: string, extra: Partial<RayJobExecutorOptions> = {}): RayJobExecutor =>
  new RayJobExecutor({
    name: 'ray',
    address,
    scriptRoots: [SCRIPTS],
    dataRoots: [path.join(import.meta.dirname, '../../..')],
    runtimesDir: RUNTIMES,
    settings: { graceMs: 3000 },
    ...extra,
  });

/** Task ids unique across runs, so a head shared by several runs never attaches to an old job. */
const run = Math.random().toString(36).slice(2, 8);

export const rayJobFixture = (address: string): ExecutorFixture => ({
  open: () => openRayJobExecutor(address),
  task: (kind: TaskKind, params = {}, attempt = 1) => {
    const task = makeTask({ script: `${kind}.py`, params, attempt });
    return { ...task, id: `${task.id}-${run}` };
  },
  // The harness's pid is in the placement (single-node head: it runs on this machine).
  processGone: (started) => {
    const pid = started.placement?.pid;
    return typeof pid !== 'number' || !processAlive(pid);
  },
  undecodableParams: () => nested(3000),
  graceMs: 3000,
  startMs: 60_000,
  reattach: 'follows',
});
