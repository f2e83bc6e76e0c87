/** Submits the actors-mode driver (lakeray.ray_driver) to the run's Ray head, as Lakeray will. */
import { resolve } from 'node:path';
import { RayJobsClient } from '../../../../src/executors/ray/jobs-client.ts';
import { PackageUploader, packWorkingDir } from '../../../../src/executors/ray/package.ts';
import { until } from '../../../helpers/until.ts';
import { rayHead } from '../../../helpers/ray-head.ts';
import { DriverPeer, type RunItem } from './driver-peer.ts';

const RUNTIME = resolve(import.meta.dirname, '../../../../runtimes/python');
export const FIXTURES = resolve(import.meta.dirname, 'fixtures');

export interface StartedDriver {
  submissionId: string;
  scriptPackage: string;
  stop(): Promise<void>;
}

export async function startDriver(
  ray: RayJobsClient,
  peer: DriverPeer,
  opts: { executor: string; token: string; pools: Record<string, unknown> },
): Promise<StartedDriver> {
  const uploader = new PackageUploader(ray);
  // runtimes/python holds only the lakeray package: its zip is a py_modules package as it is.
  const runtime = await uploader.ensure(await packWorkingDir(RUNTIME));
  const scripts = await uploader.ensure(await packWorkingDir(FIXTURES));
  const submissionId = `lr-driver-${opts.executor}-${Date.now().toString(36)}`;
  await ray.submit({
    entrypoint: 'python -u -m lakeray.ray_driver',
    submission_id: submissionId,
    runtime_env: {
      py_modules: [runtime.uri],
      env_vars: {
        LAKERAY_API_URL: peer.url,
        LAKERAY_EXECUTOR: opts.executor,
        LAKERAY_EXECUTOR_TOKEN: opts.token,
        LAKERAY_DRIVER_ID: submissionId,
        LAKERAY_POOLS: JSON.stringify(opts.pools),
      },
    },
  });
  return {
    submissionId,
    scriptPackage: scripts.uri,
    stop: async () => {
      await ray.stop(submissionId).catch(() => undefined);
      await until(`driver ${submissionId} stopped`, async () => {
        const j = await ray.get(submissionId);
        return !j || ['STOPPED', 'FAILED', 'SUCCEEDED'].includes(j.status);
      }, 60_000, 200);
    },
  };
}

export const runItem = (pkg: string, pool: string, taskId: string, script: string, params: Record<string, unknown>): RunItem => ({
  task_id: taskId,
  attempt: 1,
  token: `token-${taskId}`,
  pool,
  package: pkg,
  job: { task_id: taskId, attempt: 1, script, input: null, output: null, params, env: {} },
});

/** The driver's job log (its own prints and tracebacks), for failure messages. */
export const driverLog = (ray: RayJobsClient, id: string): Promise<string> => ray.logs(id).catch((e: unknown) => String(e));

/**
 * The run's Ray head, a test peer playing Lakeray's side of the poll protocol, and a driver
 * submitted to the head that has polled the peer once (its log in the error if it never does).
 */
export async function driverOnHead(opts: { executor: string; token: string; pools: Record<string, unknown> }): Promise<{ ray: RayJobsClient; peer: DriverPeer; driver: StartedDriver }> {
  const head = await rayHead();
  const ray = new RayJobsClient({ address: head.url, timeoutMs: 60_000 });
  const peer = new DriverPeer(opts.token);
  await peer.listen();
  const driver = await startDriver(ray, peer, opts);
  await until('the driver polls', async () => peer.lastPoll(), 300_000, 100).catch(async (e: unknown) => {
    throw new Error(`${String(e)}\n${await driverLog(ray, driver.submissionId)}`);
  });
  return { ray, peer, driver };
}
