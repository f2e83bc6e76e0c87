/**
 * The factory the executor registry calls for `executors.<name>: {kind: ray, …}` in
 * lakeray.yaml (schema: rayExecutorSchema in config/schema.ts). Mode `job` is this
 * directory's RayJobExecutor; mode `actors` is built elsewhere.
 */
import type { RayExecutorConfig } from '../../config/schema.ts';
import { LakerayError } from '../../domain/errors.ts';
import type { TaskReportAccess } from '../task-reports.ts';
import { RayJobExecutor, type RayJobExecutorOptions } from './ray-job-executor.ts';

export type RayExecutorContext = Pick<RayJobExecutorOptions, 'scriptRoots' | 'dataRoots' | 'runtimesDir' | 'apiUrl' | 'logger'> & {
  reports: TaskReportAccess;
  maxLogLineBytes?: number;
};

export function createRayExecutor(name: string, config: RayExecutorConfig, ctx: RayExecutorContext): RayJobExecutor {
  if (config.mode !== 'job') throw new LakerayError('INVALID_REQUEST', `executors.${name}: Ray mode "${config.mode}" is not built by this factory; use mode: job`);
  const { maxLogLineBytes, reports, ...rest } = ctx;
  return new RayJobExecutor({
    ...rest,
    name,
    address: config.address,
    token: config.token,
    python: config.python ?? 'python',
    settings: { graceMs: config.grace_ms },
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
    reports: config.api_url !== undefined ? { ...reports, url: config.api_url } : reports,
    ...(maxLogLineBytes !== undefined ? { limits: { maxLineBytes: maxLogLineBytes } } : {}),
  });
}
