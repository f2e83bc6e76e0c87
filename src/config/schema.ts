/**
 * The one configuration schema (lakeray.yaml + LAKERAY_* env overrides). Parsed once at
 * start by load.ts, then frozen. Every field has a default so an empty file is valid. Its parts
 * by concern: executors-schema.ts, generation-schema.ts, stores-schema.ts (and auth, tenants,
 * node); everything they export is exported here too.
 */
import { servingConfigSchema } from '../serving/deployment-spec.ts';
import { tenantsSchema } from './tenants-schema.ts';
import { authSchema } from './auth-schema.ts';
import { z } from 'zod';
import { nodeSchema } from './node-schema.ts';
import { artifactsSchema, eventsSchema, storeSchema, webhooksSchema } from './stores-schema.ts';
import { executorsSchema, resourcesSchema } from './executors-schema.ts';
import { generationSchema, progressStreamSchema } from './generation-schema.ts';

export {
  DEFAULT_VIDEO_MODELS,
  videoModelSchema,
  videoTemplateSchema,
  type ProgressStreamConfig,
  type VideoModelConfig,
  type VideoTemplateConfig,
} from './generation-schema.ts';
export {
  localExecutorSchema,
  namedExecutorSchema,
  namedExecutors,
  poolSchema,
  rayActorPoolSchema,
  rayExecutorSchema,
  type ExecutorsConfig,
  type LocalExecutorConfig,
  type NamedExecutorConfig,
  type PoolConfig,
  type RayActorPoolConfig,
  type RayExecutorConfig,
} from './executors-schema.ts';

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
export type GenerationConfig = Config['generation'];
export type WebhooksConfig = Config['webhooks'];
export type EventsConfig = Config['events'];
