/**
 * The one configuration schema (lakeray.yaml + LAKERAY_* env overrides). Parsed once at
 * start by load.ts, then frozen. Every field has a default so an empty file is valid.
 */
import { servingConfigSchema } from '../serving/deployment-spec.ts';
import { tenantsSchema } from './tenants-schema.ts';
import { authSchema } from './auth-schema.ts';
import { z } from 'zod';
import { nodeSchema } from './node-schema.ts';

const resourcesSchema = z
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

const executorsSchema = z
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

/** "W*H" (the seeds' size notation, e.g. "832*480"). */
const sizeString = z.string().regex(/^\d{1,5}\*\d{1,5}$/, 'expected "W*H", e.g. "832*480"');

/** A value a template placeholder can take (model defaults and extra variables). */
const templateValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/**
 * How a video model becomes a task (generation/template.ts): a script of the script roots
 * with a params object, or a command line (argv) for an executor that runs commands (Ray).
 * `{name}` placeholders are substituted into values, never into a shell string.
 */
export const videoTemplateSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('script'),
      script: z.string().min(1),
      params: z.record(z.string(), z.unknown()).default({}),
    })
    .strict(),
  z
    .object({
      kind: z.literal('entrypoint'),
      argv: z.array(z.string()).min(1),
      /** Extra fields passed to the executor as they are (e.g. Ray's runtime_env). */
      options: z.record(z.string(), z.unknown()).default({}),
    })
    .strict(),
]);

export const videoModelSchema = z
  .object({
    id: z.string().max(64).regex(/^[a-z0-9][a-z0-9_.-]*$/, 'lower-case letters, digits and _ . - only'),
    name: z.string().min(1).max(200).optional(),
    description: z.string().max(2000).default(''),
    /** Executor that runs it: "local" for scripts; entrypoint templates default to "ray". */
    executor: z.string().min(1).optional(),
    template: videoTemplateSchema,
    /** Per generation; cpu defaults to 1 (gpu to 0), like a task's. */
    resources: resourcesSchema.extend({ cpu: z.number().nonnegative().default(1) }).default({ cpu: 1, memory_mb: 0, gpu: 0, custom: {} }),
    /** Task timeout (default: generation.timeout_s). */
    timeout_s: z.number().positive().nullable().optional(),
    /** Request defaults; any other key is a template variable (e.g. ckpt_dir). */
    defaults: z
      .object({
        size: sizeString.default('832*480'),
        fps: z.number().int().min(1).max(120).default(16),
        num_frames: z.number().int().positive().optional(),
        duration: z.number().positive().optional(),
        negative_prompt: z.string().default(''),
        watermark: z.union([z.boolean(), z.string().max(64)]).default(true),
      })
      .catchall(templateValue)
      .default({ size: '832*480', fps: 16, negative_prompt: '', watermark: true }),
    limits: z
      .object({
        max_width: z.number().int().positive().default(1920),
        max_height: z.number().int().positive().default(1920),
        max_frames: z.number().int().positive().default(241),
        max_fps: z.number().int().positive().default(60),
        /** When set, only these sizes are accepted. */
        sizes: z.array(sizeString).min(1).optional(),
      })
      .strict()
      .default({ max_width: 1920, max_height: 1920, max_frames: 241, max_fps: 60 }),
  })
  .strict();

/** The catalog when the config names none: the demo renderer of examples/video. */
export const DEFAULT_VIDEO_MODELS: z.input<typeof videoModelSchema>[] = [
  {
    id: 'demo',
    name: 'Demo renderer',
    description: 'Procedural text/image-to-video renderer (numpy + ffmpeg, no GPU): the shape of a real model, in seconds',
    executor: 'local',
    template: {
      kind: 'script',
      script: 'video/generate.py',
      params: {
        prompt: '{prompt}',
        negative_prompt: '{negative_prompt}',
        width: '{width}',
        height: '{height}',
        num_frames: '{num_frames}',
        fps: '{fps}',
        seed: '{seed}',
        image: '{image}',
        watermark: '{watermark}',
        model: '{model}',
      },
    },
    resources: { cpu: 1, gpu: 0 },
    defaults: { size: '832*480', fps: 16, num_frames: 48 },
    limits: { max_width: 1920, max_height: 1080, max_frames: 480 },
  },
];

const generationSchema = z
  .object({
    /** The model catalog; each model is a task template (docs/video.md). */
    models: z.array(videoModelSchema).default(() => DEFAULT_VIDEO_MODELS.map((m) => videoModelSchema.parse(m))),
    /** Model of a request that names none (default: the first). */
    default_model: z.string().optional(),
    max_prompt_chars: z.number().int().positive().default(2000),
    /** Timeout of a generation task whose model sets none. */
    timeout_s: z.number().positive().nullable().default(3600),
    uploads: z
      .object({
        /** Largest image (upload, data: URI or fetched URL), in bytes. */
        max_bytes: z.number().int().positive().default(10 * 1024 * 1024),
        fetch_timeout_ms: z.number().int().positive().default(10_000),
        max_redirects: z.number().int().nonnegative().default(3),
        /** Let `image` URLs reach private, loopback and link-local addresses. */
        allow_private: z.boolean().default(false),
      })
      .strict()
      .default({ max_bytes: 10 * 1024 * 1024, fetch_timeout_ms: 10_000, max_redirects: 3, allow_private: false }),
  })
  .strict();

const progressStreamSchema = z
  .object({
    /** redis://[[user]:password@]host[:port][/db] */
    url: z.string().regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL'),
    stream: z.string().min(1).default('wan22-progress-stream'),
    /** Consumer group; servers sharing one store share it, so each entry is applied once. */
    group: z.string().min(1).default('lakeray'),
    /** An entry left unacked this long by a consumer (it crashed) is taken over. */
    claim_idle_ms: z.number().int().positive().default(30_000),
    /**
     * After a COMPLETED/FAILED entry, how long the task's process may take to end on its own
     * (its exit then settles the task, with its own result and files); past it the entry's
     * outcome settles the task and the process is stopped.
     */
    result_grace_ms: z.number().int().nonnegative().default(5_000),
  })
  .strict();

/**
 * The event bus (events/event-bus.ts): `memory` carries events inside one process; `redis`
 * carries them between every process on one Redis Stream (events/redis-event-bus.ts).
 */
const eventsSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('memory') }).strict(),
  z
    .object({
      kind: z.literal('redis'),
      /** redis://[[user]:password@]host[:port][/db] */
      url: z.string().regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL'),
      /** Every process of one deployment uses the same stream. */
      stream: z.string().min(1).default('lakeray:events'),
      /** Approximate bound of the stream (XADD MAXLEN ~): a node further behind than this misses events, then re-reads the store. */
      max_len: z.number().int().positive().default(100_000),
    })
    .strict(),
]);

const webhooksSchema = z
  .object({
    /** HMAC-SHA256 key of X-Lakeray-Signature (a task's own secret wins). Unsigned when neither is set. */
    secret: z.string().min(1).nullable().default(null),
    /** Let webhook URLs reach private, loopback and link-local addresses. */
    allow_private: z.boolean().default(false),
    /** At most one `progress` delivery per task per this interval (always the latest). */
    progress_interval_ms: z.number().int().nonnegative().default(1000),
    /** Attempts per delivery (network errors, 408, 429 and 5xx are retried). */
    max_attempts: z.number().int().min(1).max(50).default(5),
    /** First retry delay; doubled per attempt, at most max_backoff_ms. */
    backoff_ms: z.number().int().nonnegative().default(1000),
    max_backoff_ms: z.number().int().nonnegative().default(60_000),
    /** Per-attempt timeout. */
    timeout_ms: z.number().int().positive().default(10_000),
    /** Deliveries in flight at once (all tasks). */
    concurrency: z.number().int().positive().default(8),
  })
  .strict();

const localArtifactsSchema = z
  .object({
    kind: z.literal('local'),
    /** Where task artifacts are kept: <root>/<task_id>/<name> (default: <state_dir>/artifacts). */
    root: z.string().optional(),
  })
  .strict();

const s3ArtifactsSchema = z
  .object({
    kind: z.literal('s3'),
    /** Objects at s3://<bucket>/<prefix><task_id>/<name>. */
    bucket: z.string().min(1),
    /** Prepended to every key as is (e.g. 'lakeray/artifacts/'). */
    prefix: z.string().default(''),
    /** An S3-compatible endpoint (MinIO, R2…); default: AWS for the region. */
    endpoint: z.string().url().optional(),
    region: z.string().default('us-east-1'),
    /** Both or neither; neither: the AWS SDK's default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles, instance roles). */
    access_key_id: z.string().optional(),
    secret_access_key: z.string().optional(),
    /** http://endpoint/bucket/key instead of http://bucket.endpoint/key (MinIO and most self-hosted servers need this). */
    force_path_style: z.boolean().default(false),
    /** Local directory holding the tasks' work dirs before upload (default: <state_dir>/artifacts-staging). */
    staging_root: z.string().optional(),
  })
  .strict()
  .refine((s) => (s.access_key_id === undefined) === (s.secret_access_key === undefined), {
    message: 'artifacts.access_key_id and artifacts.secret_access_key go together',
  });

/** `kind` defaults to local (an `artifacts: {root}` without it stays valid). */
const artifactsSchema = z.preprocess(
  (v) => (v !== null && typeof v === 'object' && !('kind' in v) ? { ...v, kind: 'local' } : v),
  z.discriminatedUnion('kind', [localArtifactsSchema, s3ArtifactsSchema]),
);

const sqliteStoreSchema = z
  .object({
    kind: z.literal('sqlite'),
    /** The database file (default: <state_dir>/lakeray.db); ':memory:' for a throwaway store. */
    path: z.string().optional(),
  })
  .strict();

const postgresStoreSchema = z
  .object({
    kind: z.literal('postgres'),
    /** postgres://user:password@host:port/database (libpq's URL form; ?sslmode=… is honoured). */
    url: z.string().regex(/^postgres(ql)?:\/\/./, 'must be a postgres:// URL'),
    /** Connections this process keeps to the database. */
    pool_size: z.number().int().min(1).max(1000).default(10),
  })
  .strict();

/** `kind` defaults to sqlite (a `store: {path}` without it stays valid); several processes share one queue only on postgres. */
const storeSchema = z.preprocess(
  (v) => (v !== null && typeof v === 'object' && !('kind' in v) ? { ...v, kind: 'sqlite' } : v),
  z.discriminatedUnion('kind', [sqliteStoreSchema, postgresStoreSchema]),
);

export const configSchema = z
  .object({
    server: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8000),
        body_limit_bytes: z.number().int().positive().default(1024 * 1024),
        /** Deepest nesting of a JSON request body (`{}` is 1 level); deeper is refused with 400. */
        max_json_depth: z.number().int().min(2).max(1000).default(64),
        /** Largest batch accepted by POST /api/v1/tasks/batch. */
        max_batch: z.number().int().positive().default(10_000),
        /** Log one line per HTTP request. */
        request_log: z.boolean().default(false),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 8000, body_limit_bytes: 1024 * 1024, max_json_depth: 64, max_batch: 10_000, request_log: false }),
    /** Directory for the database and runtime state. */
    state_dir: z.string().default('.lakeray'),
    store: storeSchema.default({ kind: 'sqlite' }),
    /** Scripts resolve only inside these directories. */
    script_roots: z.array(z.string()).default(['examples']),
    /** Task input/output paths resolve only inside these directories (env: LAKERAY_DATA_ROOTS, colon-separated). */
    data_roots: z.array(z.string().min(1)).default(['data']),
    lake: z
      .object({
        /** Root of the lake: a directory (relative to the working directory) or an object-store URI (s3://bucket/prefix). */
        root: z.string().min(1).default('lance_storage'),
        /** Passed to LanceDB for object stores (aws_access_key_id, aws_endpoint, region, …). */
        storage_options: z.record(z.string(), z.string()).default({}),
        /** Largest Arrow upload (PUT …/arrow) in bytes. */
        max_upload_bytes: z.number().int().positive().default(4 * 1024 ** 3),
        /**
         * Lance file format of new tables. 2.0 writes the 70k-image MNIST table faster and
         * reads random 100-row pages with a shorter tail than LanceDB's default here.
         */
        data_storage_version: z.enum(['2.0', '2.1', 'stable', 'legacy']).default('2.0'),
        /** Bytes of local Arrow snapshots kept for tasks on this machine (0: always stream). */
        snapshot_cache_bytes: z.number().int().nonnegative().default(4 * 1024 ** 3),
      })
      .strict()
      .default({ root: 'lance_storage', storage_options: {}, max_upload_bytes: 4 * 1024 ** 3, data_storage_version: '2.0', snapshot_cache_bytes: 4 * 1024 ** 3 }),
    python: z
      .object({ interpreter: z.string().optional() })
      .strict()
      .default({}),
    executors: executorsSchema,
    tasks: z
      .object({
        default_timeout_s: z.number().positive().nullable().default(null),
        default_resources: resourcesSchema.default({ cpu: 1, memory_mb: 0, gpu: 0, custom: {} }),
        lease_ms: z.number().int().positive().default(30_000),
        max_log_line_bytes: z.number().int().positive().default(16 * 1024),
        /** Largest `params` of a task, as JSON bytes; larger is refused with 400 (data belongs in input). */
        max_params_bytes: z.number().int().positive().default(256 * 1024),
      })
      .strict()
      .default({
        default_timeout_s: null,
        default_resources: { cpu: 1, memory_mb: 0, gpu: 0, custom: {} },
        lease_ms: 30_000,
        max_log_line_bytes: 16 * 1024,
        max_params_bytes: 256 * 1024,
      }),
    /**
     * Executor ownership among scheduler processes (docs/architecture.md, "Executor ownership"):
     * an owner renews every renew_ms; a standby takes over once ttl_ms passed without a renewal.
     */
    scheduler: z
      .object({
        ownership_ttl_ms: z.number().int().positive().default(6000),
        ownership_renew_ms: z.number().int().positive().default(2000),
      })
      .strict()
      .refine((s) => s.ownership_renew_ms < s.ownership_ttl_ms, { message: 'ownership_renew_ms must be less than ownership_ttl_ms' })
      .default({ ownership_ttl_ms: 6000, ownership_renew_ms: 2000 }),
    /** Files tasks produce (ctx.artifact), served at /api/v1/tasks/{id}/artifacts. */
    artifacts: artifactsSchema.default({ kind: 'local' }),
    /** How task events reach subscribers (SSE, WebSocket, webhooks) in this process, or on every node (env: LAKERAY_EVENTS_URL). */
    events: eventsSchema.default({ kind: 'memory' }),
    /** Who this process is among several nodes, how others reach it, what they share (config/node-schema.ts). */
    node: nodeSchema.default(() => nodeSchema.parse({})),
    /**
     * The seed's Redis progress streams (seed 001 §2): generators that only know Redis XADD
     * task_id/status/progress/url/error there, and Lakeray applies the entries to its tasks
     * (events/sources/redis-progress-stream.ts, engine/seed-progress.ts).
     */
    progress_streams: z.array(progressStreamSchema).default([]),
    /** Webhook deliveries of every task that has a `webhook` (webhooks/notifier.ts). */
    webhooks: webhooksSchema.default(() => webhooksSchema.parse({})),
    /** The video-generation center (/v1/video/generations): model catalog, limits, uploads. */
    generation: generationSchema.default(() => generationSchema.parse({})),
    /** Model serving (src/serving): deployment defaults and deployments declared up front. */
    serving: servingConfigSchema.default(() => servingConfigSchema.parse({})),
    /** Per-tenant fair-share weight and quotas (config/tenants-schema.ts, src/tenants/). */
    tenants: tenantsSchema,
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Server log lines: `pretty` for people, `json` for machines, `auto`: pretty on a terminal, else JSON. */
    log_format: z.enum(['auto', 'pretty', 'json']).default('auto'),
    /** API keys, roles, rate limits (config/auth-schema.ts). */
    auth: authSchema.default(() => authSchema.parse({})),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type PoolConfig = z.infer<typeof poolSchema>;
export type LocalExecutorConfig = z.infer<typeof localExecutorSchema>;
export type NamedExecutorConfig = z.infer<typeof namedExecutorSchema>;
export type RayExecutorConfig = z.infer<typeof rayExecutorSchema>;
export type RayActorPoolConfig = z.infer<typeof rayActorPoolSchema>;
export type VideoModelConfig = z.infer<typeof videoModelSchema>;
export type VideoTemplateConfig = z.infer<typeof videoTemplateSchema>;
export type GenerationConfig = Config['generation'];
export type WebhooksConfig = Config['webhooks'];
export type ProgressStreamConfig = z.infer<typeof progressStreamSchema>;
export type EventsConfig = Config['events'];
