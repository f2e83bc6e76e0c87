/**
 * A Ray executor from its config, `executors.<name>: {kind: ray, mode: job, address, …}` in
 * lakeray.yaml: the schema (parsed once at start with the rest of the config) and the factory
 * the engine's executor registry calls for kind `ray`.
 */
import { z } from 'zod';
import { LakerayError } from '../../domain/errors.ts';
import { rayActorPoolSchema } from '../../config/schema.ts';
import type { ActorPoolConfig } from './actors/driver-job.ts';
import { RayActorsExecutor, type RayActorsExecutorOptions } from './actors/ray-actors-executor.ts';
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
    /** mode actors: the pools of warm actors (the first is the default of a task without `pool`); the config's schema */
    pools: z.array(rayActorPoolSchema).default([]),
  })
  .strict()
  .refine((c) => c.mode === 'actors' || c.pools.length === 0, { message: 'pools are for mode: actors', path: ['pools'] })
  .refine((c) => c.mode !== 'actors' || c.pools.length > 0, { message: 'mode: actors needs at least one pool', path: ['pools'] });

export type RayExecutorConfig = z.infer<typeof rayExecutorSchema>;
type ConfigPool = z.infer<typeof rayActorPoolSchema>;

/** The config's pools as the driver reads them (LAKERAY_POOLS, ray_pool.py PoolConfig). */
export const driverPools = (pools: readonly ConfigPool[]): Record<string, ActorPoolConfig> =>
  Object.fromEntries(
    pools.map((p) => [
      p.name,
      { num_cpus: p.cpu, num_gpus: p.gpu, resources: {}, min_actors: p.min, max_actors: p.max, idle_timeout_s: p.idle_timeout_s, preload: p.preload, gang: p.gang_size ?? 1 },
    ]),
  );

export type RayExecutorContext = Pick<RayJobExecutorOptions, 'scriptRoots' | 'dataRoots' | 'runtimesDir' | 'apiUrl' | 'logger'> & {
  maxLogLineBytes?: number;
};

/** What mode actors needs from the server besides the config: tokens and the reports hub. */
export type RayActorsContext = RayExecutorContext & Pick<RayActorsExecutorOptions, 'executorToken' | 'taskToken' | 'reports'>;

export function createRayExecutor(name: string, config: Omit<RayExecutorConfig, 'pools'> & { pools: readonly ConfigPool[] }, ctx: RayExecutorContext | RayActorsContext): RayJobExecutor | RayActorsExecutor {
  if (config.mode === 'actors') {
    if (!('reports' in ctx)) throw new LakerayError('INVALID_REQUEST', `executors.${name}: mode actors needs the server's reports hub and tokens`);
    return new RayActorsExecutor({
      name,
      address: config.address,
      token: config.token,
      python: config.python,
      pools: driverPools(config.pools),
      settings: { graceMs: config.grace_ms },
      ...(ctx.maxLogLineBytes !== undefined ? { limits: { maxLineBytes: ctx.maxLogLineBytes } } : {}),
      ...ctx,
    });
  }
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
