/**
 * A Ray executor from its config, `executors.<name>: {kind: ray, mode: job, address, …}` in
 * lakeray.yaml: the schema (parsed once at start with the rest of the config) and the factory
 * the engine's executor registry calls for kind `ray`.
 */
import { z } from 'zod';
import { LakerayError } from '../../domain/errors.ts';
import { RAY_ACTORS_DEFAULTS, RayActorsExecutor, type RayActorsExecutorOptions } from './actors/ray-actors-executor.ts';
import { RAY_JOB_DEFAULTS, RayJobExecutor, type RayJobExecutorOptions } from './ray-job-executor.ts';

const D = RAY_JOB_DEFAULTS;

/** A pool of warm actors (mode actors): Ray resources per actor, how many, what each imports once. */
export const actorPoolSchema = z
  .object({
    num_cpus: z.number().nonnegative().default(1),
    num_gpus: z.number().nonnegative().default(0),
    resources: z.record(z.string().min(1), z.number().nonnegative()).default({}),
    min_actors: z.number().int().nonnegative().default(0),
    max_actors: z.number().int().positive().default(1),
    idle_timeout_s: z.number().nonnegative().default(300),
    preload: z.array(z.string().min(1)).default([]),
    /** N actors in one placement group forming a torch.distributed group; a gang is one slot */
    gang: z.number().int().positive().default(1),
  })
  .strict()
  .refine((p) => p.max_actors >= p.min_actors, 'max_actors must be at least min_actors');

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
    /** mode actors: the pools of warm actors (the first is the default of a task without `pool`) */
    pools: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/), actorPoolSchema).optional(),
    /** mode actors: how long a driver's poll is held when there is no work */
    poll_wait_ms: z.number().int().positive().default(RAY_ACTORS_DEFAULTS.pollWaitMs),
    /** mode actors: a driver that has not polled for this long is replaced */
    driver_silent_s: z.number().positive().default(RAY_ACTORS_DEFAULTS.silentMs / 1000),
  })
  .strict()
  .refine((c) => c.mode !== 'actors' || (c.pools !== undefined && Object.keys(c.pools).length > 0), { message: 'mode actors needs at least one pool', path: ['pools'] });

export type RayExecutorConfig = z.infer<typeof rayExecutorSchema>;

export type RayExecutorContext = Pick<RayJobExecutorOptions, 'scriptRoots' | 'dataRoots' | 'runtimesDir' | 'apiUrl' | 'logger'> & {
  maxLogLineBytes?: number;
};

/** What mode actors needs from the server besides the config: tokens and the reports hub. */
export type RayActorsContext = RayExecutorContext & Pick<RayActorsExecutorOptions, 'executorToken' | 'taskToken' | 'reports'>;

export function createRayExecutor(name: string, config: RayExecutorConfig, ctx: RayExecutorContext | RayActorsContext): RayJobExecutor | RayActorsExecutor {
  if (config.mode === 'actors') {
    if (!('reports' in ctx)) throw new LakerayError('INVALID_REQUEST', `executors.${name}: mode actors needs the server's reports hub and tokens`);
    return new RayActorsExecutor({
      name,
      address: config.address,
      token: config.token,
      python: config.python,
      pools: config.pools!,
      settings: { graceMs: config.grace_ms },
      pollWaitMs: config.poll_wait_ms,
      silentMs: config.driver_silent_s * 1000,
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
