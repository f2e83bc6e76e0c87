/**
 * The one configuration schema (lakeray.yaml + LAKERAY_* env overrides). Parsed once at
 * start by load.ts, then frozen. Every field has a default so an empty file is valid.
 */
import { z } from 'zod';

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
  })
  .strict();

export const configSchema = z
  .object({
    server: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8000),
        body_limit_bytes: z.number().int().positive().default(1024 * 1024),
        /** Largest batch accepted by POST /api/v1/tasks/batch. */
        max_batch: z.number().int().positive().default(10_000),
        /** Log one line per HTTP request. */
        request_log: z.boolean().default(false),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 8000, body_limit_bytes: 1024 * 1024, max_batch: 10_000, request_log: false }),
    /** Directory for the database and runtime state. */
    state_dir: z.string().default('.lakeray'),
    store: z
      .object({ kind: z.literal('sqlite').default('sqlite'), path: z.string().optional() })
      .strict()
      .default({ kind: 'sqlite' }),
    /** Scripts resolve only inside these directories. */
    script_roots: z.array(z.string()).default(['examples']),
    /** Task input/output paths resolve only inside these directories. */
    data_roots: z.array(z.string()).default(['data']),
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
    executors: z
      .object({ local: localExecutorSchema.default(localExecutorSchema.parse({})) })
      .strict()
      .default({ local: localExecutorSchema.parse({}) }),
    tasks: z
      .object({
        default_timeout_s: z.number().positive().nullable().default(null),
        default_resources: resourcesSchema.default({ cpu: 1, memory_mb: 0, gpu: 0, custom: {} }),
        lease_ms: z.number().int().positive().default(30_000),
        max_log_line_bytes: z.number().int().positive().default(16 * 1024),
      })
      .strict()
      .default({
        default_timeout_s: null,
        default_resources: { cpu: 1, memory_mb: 0, gpu: 0, custom: {} },
        lease_ms: 30_000,
        max_log_line_bytes: 16 * 1024,
      }),
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type PoolConfig = z.infer<typeof poolSchema>;
export type LocalExecutorConfig = z.infer<typeof localExecutorSchema>;
