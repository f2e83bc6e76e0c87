/**
 * The factory the executor registry calls for `executors.<name>: {kind: ray, …}` in
 * lakeray.yaml (schema: rayExecutorSchema in config/schema.ts). Mode `job` is this
 * directory's RayJobExecutor; mode `actors` is actors/RayActorsExecutor.
 */
import type { RayActorPoolConfig, RayExecutorConfig } from '../../config/schema.ts';
import { LakerayError } from '../../domain/errors.ts';
import type { TaskReportAccess } from '../task-reports.ts';
import type { ActorPoolConfig } from './actors/driver-job.ts';
import { RayActorsExecutor } from './actors/ray-actors-executor.ts';
import { RayJobExecutor, type RayJobExecutorOptions } from './ray-job-executor.ts';

/** The config's pools as the driver reads them (LAKERAY_POOLS, ray_pool.py PoolConfig). */
export const driverPools = (pools: readonly RayActorPoolConfig[]): Record<string, ActorPoolConfig> =>
  Object.fromEntries(
    pools.map((p) => [
      p.name,
      { num_cpus: p.cpu, num_gpus: p.gpu, resources: {}, min_actors: p.min, max_actors: p.max, idle_timeout_s: p.idle_timeout_s, preload: p.preload, gang: p.gang_size ?? 1 },
    ]),
  );

export type RayExecutorContext = Pick<RayJobExecutorOptions, 'scriptRoots' | 'dataRoots' | 'runtimesDir' | 'apiUrl' | 'logger'> & {
  reports: TaskReportAccess;
  /** The token a mode-actors driver polls with (TaskTokens.mintExecutor). */
  executorToken?: (name: string) => string;
  maxLogLineBytes?: number;
};

export function createRayExecutor(name: string, config: RayExecutorConfig, ctx: RayExecutorContext): RayJobExecutor | RayActorsExecutor {
  const { maxLogLineBytes, reports: access, executorToken, ...rest } = ctx;
  // The platform as the cluster reaches it: api_url when the server's own URL is not reachable there.
  const reports = config.api_url !== undefined ? { ...access, url: config.api_url } : access;
  const limits = maxLogLineBytes !== undefined ? { limits: { maxLineBytes: maxLogLineBytes } } : {};
  // What both modes take alike: where the cluster is, its python, the cancel grace period.
  const common = { ...rest, name, address: config.address, token: config.token, python: config.python ?? 'python', settings: { graceMs: config.grace_ms } };
  if (config.mode === 'actors') {
    if (executorToken === undefined) throw new LakerayError('INVALID_REQUEST', `executors.${name}: mode actors needs the server's executor tokens`);
    return new RayActorsExecutor({
      ...common,
      pools: driverPools(config.pools),
      lostAfterMs: config.lost_after_s * 1000,
      reports: access.reports,
      taskToken: access.token,
      executorToken: executorToken(name),
      ...limits,
    });
  }
  return new RayJobExecutor({
    ...common,
    timing: {
      pollMs: config.poll_ms,
      maxPollMs: Math.max(config.poll_ms, config.max_poll_ms),
      submitDeadlineMs: config.submit_deadline_s * 1000,
      lostAfterMs: config.lost_after_s * 1000,
    },
    retentionMs: config.retention_s * 1000,
    maxPending: config.max_pending,
    capacityRefreshMs: config.capacity_refresh_ms,
    ...(config.max_resources !== undefined ? { maxCapacity: config.max_resources } : {}),
    // The platform as the cluster reaches it: api_url when the server's own URL is not reachable there.
    reports,
    ...limits,
  });
}
