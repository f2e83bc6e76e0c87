/** The `executors` part of the config (schema.ts): the local executor, Ray executors and their pools. */
import { z } from 'zod';

export const resourcesSchema = z
  .object({
    cpu: z.number().nonnegative().default(0),
    memory_mb: z.number().nonnegative().default(0),
    gpu: z.number().int().nonnegative().default(0),
    custom: z.record(z.string(), z.number().nonnegative()).default({}),
  })
  .strict();

export const poolSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/),
    runtime: z.enum(['python', 'node']),
    /** Interpreter; defaults to the project venv's python or this node. */
    interpreter: z.string().optional(),
    /** Modules imported once per worker before any task (e.g. ["torch"]). */
    preload: z.array(z.string()).default([]),
    min: z.number().int().nonnegative().default(0),
    max: z.number().int().positive().default(2),
    idle_timeout_s: z.number().positive().default(300),
    /** Tasks one worker runs at once (node only; python workers run one task at a time). */
    concurrency: z.number().int().positive().default(1),
  })
  .strict();

export const localExecutorSchema = z
  .object({
    /** Schedulable CPU cores (default: the machine's cores). */
    cpu: z.number().positive().optional(),
    /** Schedulable memory in MB (default: 80% of the machine's memory). */
    memory_mb: z.number().positive().optional(),
    /** GPU inventory: device ids, or a count (ids "0".."n-1"). */
    gpus: z.union([z.array(z.string().min(1)), z.number().int().nonnegative()]).default([]),
    custom: z.record(z.string(), z.number().nonnegative()).default({}),
    /** Warm pools; tasks pick one with `pool`, or run cold when none is configured for their runtime. */
    pools: z.array(poolSchema).default([]),
    /** Default pool per runtime (a pool name), if any. */
    default_pools: z.object({ python: z.string().optional(), node: z.string().optional() }).strict().default({}),
    /** SIGTERM → SIGKILL grace period. */
    kill_grace_ms: z.number().int().nonnegative().default(5000),
    /** Bound on captured stdout/stderr per task (bytes). */
    max_log_bytes: z.number().int().positive().default(10 * 1024 * 1024),
    /**
     * Give every task an empty LAKERAY_WORK_DIR whose reported files are moved (not copied)
     * into the artifact store. Costs a mkdir and an rmdir per task in its harness; a fleet of
     * no-op tasks can turn it off (reported files are then copied from wherever they are).
     */
    work_dirs: z.boolean().default(true),
    /** Names of the server's environment tasks may see besides the allowlist (docs/security.md), e.g. ["HF_HOME"]. */
    pass_env: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/)).default([]),
    /**
     * CPU priority of the task processes (and what they start): a Unix nice value, 0 (as the
     * server) to 19 (the lowest). A machine that runs the control plane beside its tasks keeps
     * the API, the scheduler and the event path responsive when the tasks use every core.
     */
    nice: z.number().int().min(0).max(19).default(0),
  })
  .strict();

/** A warm pool of Ray actors (mode `actors`): per actor CPUs/GPUs, min/max actors, idle timeout. */
export const rayActorPoolSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/),
    /** Modules imported once per actor before any task (e.g. ["torch"]). */
    preload: z.array(z.string()).default([]),
    cpu: z.number().nonnegative().default(1),
    gpu: z.number().nonnegative().default(0),
    memory_mb: z.number().nonnegative().default(0),
    min: z.number().int().nonnegative().default(0),
    max: z.number().int().positive().default(2),
    /** An idle actor above `min` is retired after this long (scale to zero with min 0). */
    idle_timeout_s: z.number().positive().default(300),
    /** A gang: this many actors form one torch.distributed group and take each task together. */
    gang_size: z.number().int().min(2).optional(),
  })
  .strict()
  .refine((p) => p.min <= p.max, { message: 'min must not exceed max' });

/**
 * A Ray executor (docs/ray.md): tasks run on the Ray cluster whose dashboard (Jobs REST API)
 * is at `address`, one Ray Job per task (`job`) or on warm actors (`actors`).
 */
export const rayExecutorSchema = z
  .object({
    kind: z.literal('ray'),
    /** The Ray dashboard, e.g. http://127.0.0.1:8265 (KubeRay: the head's dashboard service). */
    address: z.url({ protocol: /^https?$/, error: 'expected the dashboard\'s http(s) URL, e.g. http://127.0.0.1:8265' }),
    /**
     * The dashboard's URL as people's browsers reach it, for the UI's links to Ray jobs
     * (e.g. a KubeRay dashboard service behind an ingress); default: `address`.
     */
    dashboard_url: z.url({ protocol: /^https?$/, error: 'expected the dashboard\'s http(s) URL as browsers reach it' }).optional(),
    mode: z.enum(['job', 'actors']).default('job'),
    /** Between asking a task to stop and killing it (the job stopped, the actor killed). */
    grace_ms: z.number().int().nonnegative().default(3000),
    /** Job status polling: the first interval, backed off up to max_poll_ms while nothing changes. */
    poll_ms: z.number().int().positive().default(200),
    max_poll_ms: z.number().int().positive().default(1000),
    /** A submission Ray keeps refusing (5xx, connection refused) fails the task after this long. */
    submit_deadline_s: z.number().positive().default(300),
    /** Ray unreachable this long while a task runs (mode actors: and its driver silent): the task is lost (EXECUTOR_LOST). */
    lost_after_s: z.number().positive().default(300),
    /** Settled jobs are deleted from Ray after this long. */
    retention_s: z.number().nonnegative().default(3600),
    /** Jobs of ours that may wait in PENDING on Ray at once (the queue stays in Lakeray). */
    max_pending: z.number().int().positive().default(4),
    /** How often the cluster's resources are read. */
    capacity_refresh_ms: z.number().int().positive().default(5000),
    /** Ray token auth (RAY_AUTH_MODE=token on the cluster). */
    token: z.string().min(1).optional(),
    /** The interpreter on the cluster's nodes; it must have Ray and the scripts' libraries. */
    python: z.string().min(1).default('python'),
    /** The platform's URL as the cluster's workers reach it (reports, lake); default: the server's own. */
    api_url: z.url({ protocol: /^https?$/ }).optional(),
    /** The most the cluster may grow to (its autoscaler's bound): tasks up to it are accepted while it is smaller. */
    max_resources: resourcesSchema.optional(),
    /** Warm actor pools (mode `actors`). */
    pools: z.array(rayActorPoolSchema).default([]),
    /**
     * Where Ray Serve's HTTP proxy listens when a `ray` deployment of ours is what starts Serve
     * (a Serve already running keeps its own). Default: 127.0.0.1:8366 when the dashboard is on
     * this machine (Serve's own default, 8000, is Lakeray's port), else Serve's default.
     */
    serve_http: z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65535) }).strict().optional(),
  })
  .strict()
  .refine((r) => r.mode === 'actors' || r.pools.length === 0, { message: 'pools are for mode: actors', path: ['pools'] })
  .refine((r) => r.mode === 'job' || r.pools.length > 0, { message: 'mode: actors needs at least one pool', path: ['pools'] });

/** An executor named by the operator (any key of `executors` but `local`), of the kind it says. */
export const namedExecutorSchema = z.discriminatedUnion('kind', [rayExecutorSchema]);

/** `executors`: `local` is the local executor; every other key names an executor of its `kind`. */
export type ExecutorsConfig = { local: LocalExecutorConfig } & { [name: string]: LocalExecutorConfig | NamedExecutorConfig };

const EXECUTOR_KINDS = namedExecutorSchema.options.map((o) => o.shape.kind.value);
const EXECUTOR_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export const executorsSchema = z
  .record(z.string(), z.unknown())
  .default({})
  .transform((raw, ctx): ExecutorsConfig => {
    const out: Record<string, unknown> = {};
    for (const [name, value] of Object.entries({ local: {}, ...raw })) {
      if (!EXECUTOR_NAME.test(name)) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'an executor name is lower-case letters, digits, _ and - (at most 64 characters)' });
        continue;
      }
      if (name !== 'local' && (value === null || typeof value !== 'object' || !('kind' in value))) {
        ctx.addIssue({ code: 'custom', path: [name, 'kind'], message: `an executor other than local says its kind (one of: ${EXECUTOR_KINDS.join(', ')})` });
        continue;
      }
      const parsed = (name === 'local' ? localExecutorSchema : namedExecutorSchema).safeParse(value);
      if (parsed.success) out[name] = parsed.data;
      else for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: [name, ...issue.path] } as Parameters<typeof ctx.addIssue>[0]);
    }
    return out as ExecutorsConfig;
  });

/** The operator's named executors (every key of `executors` but `local`). */
export const namedExecutors = (executors: ExecutorsConfig): [string, NamedExecutorConfig][] =>
  Object.entries(executors).filter((e): e is [string, NamedExecutorConfig] => e[0] !== 'local');

export type PoolConfig = z.infer<typeof poolSchema>;
export type LocalExecutorConfig = z.infer<typeof localExecutorSchema>;
export type NamedExecutorConfig = z.infer<typeof namedExecutorSchema>;
export type RayExecutorConfig = z.infer<typeof rayExecutorSchema>;
export type RayActorPoolConfig = z.infer<typeof rayActorPoolSchema>;
