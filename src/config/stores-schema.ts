/** Where state goes (schema.ts): the task store, artifacts, the event bus and webhooks. */
import { z } from 'zod';

/**
 * The event bus (events/event-bus.ts): `memory` carries events inside one process; `redis`
 * carries them between every process on one Redis Stream (events/redis-event-bus.ts).
 */
export const eventsSchema = z.discriminatedUnion('kind', [
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

export const webhooksSchema = z
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
export const artifactsSchema = z.preprocess(
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
export const storeSchema = z.preprocess(
  (v) => (v !== null && typeof v === 'object' && !('kind' in v) ? { ...v, kind: 'sqlite' } : v),
  z.discriminatedUnion('kind', [sqliteStoreSchema, postgresStoreSchema]),
);

