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
import { reportFront, type ReportFront } from './report-front.ts';

export const SCRIPTS = path.join(import.meta.dirname, '../executor/scripts');
const RUNTIMES = path.join(import.meta.dirname, '../../../runtimes');

export const rayUrl = async (): Promise<string> => process.env.LAKERAY_TEST_RAY_URL ?? (await rayHead()).url;

export { reportFront, type ReportFront };

/** Its jobs report to `front` (only the tasks the front knows are taken). */
export const openRayJobExecutor = (address: string, front: ReportFront, extra: Partial<RayJobExecutorOptions> = {}): RayJobExecutor =>
  new RayJobExecutor({
    name: 'ray',
    address,
    reports: front.access,
    scriptRoots: [SCRIPTS],
    dataRoots: [path.join(import.meta.dirname, '../../..')],
    runtimesDir: RUNTIMES,
    settings: { graceMs: 3000 },
    ...extra,
  });

/** Task ids unique across runs, so a head shared by several runs never attaches to an old job. */
const run = Math.random().toString(36).slice(2, 8);

export const rayJobFixture = (address: string, front: ReportFront): ExecutorFixture => ({
  open: () => openRayJobExecutor(address, front),
  task: (kind: TaskKind, params = {}, attempt = 1) => {
    const made = makeTask({ script: `${kind}.py`, params, attempt });
    const task = { ...made, id: `${made.id}-${run}` };
    front.known(task);
    return task;
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
  // The harness exits once its outcome is acked: a job over on Ray had it taken by the previous instance.
  endedAway: 'gone',
});
