/**
 * A Ray executor from its config, `executors.<name>: {kind: ray, mode: job, address, …}` in
 * lakeray.yaml: the schema (parsed once at start with the rest of the config) and the factory
 * the engine's executor registry calls for kind `ray`.
 */
import { z } from 'zod';
import { LakerayError } from '../../domain/errors.ts';
import { RAY_JOB_DEFAULTS, RayJobExecutor, type RayJobExecutorOptions } from './ray-job-executor.ts';

const D = RAY_JOB_DEFAULTS;

export const rayExecutorSchema = z
  .object({
    kind: z.literal('ray'),
    /** `job`: one Ray job per task attempt; `actors`: warm pools (not built yet) */
    mode: z.enum(['job', 'actors']).default('job'),
    /** the cluster's dashboard (Jobs REST API), e.g. http://raycluster-head-svc:8265 */
    address: z.string().url().refine((a) => /^https?:/.test(a), 'must be an http(s) URL'),
    /** Ray token auth (RAY_AUTH_MODE=token on the cluster) */
    token: z.string().min(1).optional(),
    /** the interpreter on the cluster's nodes; it must have Ray and the scripts' libraries */
    python: z.string().min(1).default('python'),
    /** how long a stopped job may clean up: Ray's own RAY_JOB_STOP_WAIT_TIME_S on the cluster decides; kept for the engine */
    grace_ms: z.number().int().nonnegative().default(3000),
    poll_ms: z.number().int().positive().default(D.timing.pollMs),
    max_poll_ms: z.number().int().positive().default(D.timing.maxPollMs),
    submit_deadline_s: z.number().positive().default(D.timing.submitDeadlineMs / 1000),
    lost_after_s: z.number().positive().default(D.timing.lostAfterMs / 1000),
    /** settled jobs are deleted from Ray after this long */
    retention_s: z.number().nonnegative().default(D.retentionMs / 1000),
    /** jobs of ours that may wait in PENDING on Ray at once */
    max_pending: z.number().int().positive().default(D.maxPending),
    capacity_refresh_ms: z.number().int().positive().default(D.capacityRefreshMs),
  })
  .strict();

export type RayExecutorConfig = z.infer<typeof rayExecutorSchema>;

export type RayExecutorContext = Pick<RayJobExecutorOptions, 'scriptRoots' | 'dataRoots' | 'runtimesDir' | 'apiUrl' | 'reports' | 'logger'> & {
  maxLogLineBytes?: number;
};

export function createRayExecutor(name: string, config: RayExecutorConfig, ctx: RayExecutorContext): RayJobExecutor {
  if (config.mode !== 'job') throw new LakerayError('INVALID_REQUEST', `executors.${name}: Ray mode "${config.mode}" is not available yet; use mode: job`);
  return new RayJobExecutor({
    name,
    address: config.address,
    token: config.token,
    python: config.python,
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
    ...(ctx.maxLogLineBytes !== undefined ? { limits: { maxLineBytes: ctx.maxLogLineBytes } } : {}),
    ...ctx,
  });
}
