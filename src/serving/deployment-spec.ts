/**
 * What a deployment is, as users write it (POST /api/v1/deployments, `serving.deployments` in
 * lakeray.yaml) and as it is stored. Validation only: one readable error per bad field.
 */
import { z } from 'zod';
import { LOAD_BALANCE_STRATEGIES, type BatchSettings } from './types.ts';

/** Deployment names are URL path segments and metrics labels. */
export const DEPLOYMENT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
const name = z.string().regex(DEPLOYMENT_NAME, 'a deployment name is 1-63 letters, digits, _ . - (starting with a letter or digit)');

/** `<lake model>[@version|tag]`: the model's name, then an optional version number or tag. */
const MODEL_REF = /^([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})(?:@([A-Za-z0-9_.-]{1,64}))?$/;
const modelRef = z.string().regex(MODEL_REF, 'model is "<lake model>" or "<lake model>@<version or tag>"');

export interface ModelRef {
  name: string;
  /** A version number, a tag, or undefined for the latest. */
  ref: string | undefined;
}

export const parseModelRef = (value: string): ModelRef => {
  const m = MODEL_REF.exec(value);
  if (!m) throw new Error(`not a model reference: ${value}`);
  return { name: m[1] as string, ref: m[2] };
};

const stateBinding = z.object({ input: z.string().min(1).max(200), output: z.string().min(1).max(200) }).strict();

const replicasShape = {
  min: z.number().int().min(0).max(64),
  max: z.number().int().min(1).max(64),
  /** A replica with nothing to do for this long retires (down to `min`). */
  idle_timeout_s: z.number().positive().max(7 * 24 * 3600),
};

const settingsShape = {
  max_batch_size: z.number().int().min(1).max(4096),
  batch_timeout_ms: z.number().min(0).max(60_000),
  enable_dynamic_batching: z.boolean(),
  /** Also close a batch early when a replica is idle and this turn's arrivals are in (batcher.ts). */
  close_batch_when_idle: z.boolean(),
  load_balance_strategy: z.enum(LOAD_BALANCE_STRATEGIES),
  max_queue: z.number().int().min(1).max(1_000_000),
  request_timeout_ms: z.number().int().min(1).max(3_600_000),
};

const resourcesShape = {
  /** CPU cores per replica; also its onnxruntime intra-op threads (whole cores, at least 1). */
  cpu: z.number().int().min(1).max(256),
  gpu: z.number().int().min(0).max(16),
};

export const DEFAULT_DEPLOYMENT = {
  backend: 'local' as const,
  replicas: { min: 1, max: 1, idle_timeout_s: 300 },
  max_batch_size: 32,
  batch_timeout_ms: 5,
  enable_dynamic_batching: true,
  close_batch_when_idle: false,
  load_balance_strategy: 'least_loaded' as const,
  resources: { cpu: 1, gpu: 0 },
  max_queue: 4096,
  request_timeout_ms: 10_000,
};

const settingsSchema = z.object(settingsShape).strict();
const routing = z.record(z.string().min(1).max(200), z.string().min(1).max(64));

/** The body of POST /api/v1/deployments (and an entry of `serving.deployments`). */
export const deploymentCreateSchema = z
  .object({
    name,
    model: modelRef,
    backend: z.enum(['local', 'ray']).default(DEFAULT_DEPLOYMENT.backend),
    /** The Ray executor (config executors.<name>, kind ray) whose head serves a `ray` deployment; default: the only one. */
    executor: z.string().min(1).max(100).optional(),
    replicas: z.object(replicasShape).strict().partial().default({}),
    resources: z.object(resourcesShape).strict().partial().default({}),
    /** Session state carried between chunks; default: the model's params.serving.state. */
    state: z.array(stateBinding).max(16).optional(),
    /** Seed 003's gpu_language_map turned around: routing key (e.g. a language pair) → GPU id. */
    routing: routing.optional(),
    ...settingsSchema.partial().shape,
  })
  .strict();
export type DeploymentCreateInput = z.output<typeof deploymentCreateSchema>;

type Settings = z.infer<typeof settingsSchema>;
export type Replicas = z.infer<z.ZodObject<typeof replicasShape>>;
export type ReplicaResources = z.infer<z.ZodObject<typeof resourcesShape>>;

/** A deployment with every default filled in: what is stored. */
export interface DeploymentSpec extends Settings {
  name: string;
  model: string;
  backend: 'local' | 'ray';
  executor: string | null;
  replicas: Replicas;
  resources: ReplicaResources;
  state: { input: string; output: string }[] | null;
  routing: Record<string, string> | null;
}

/** PATCH /api/v1/deployments/{name}: live settings and replica counts (the model stays). */
export const deploymentPatchSchema = z
  .object({
    replicas: z.object(replicasShape).strict().partial().optional(),
    routing: routing.optional(),
    ...settingsSchema.partial().shape,
  })
  .strict();
export type DeploymentPatch = z.output<typeof deploymentPatchSchema>;

export type SettingDefaults = Partial<Settings & { replicas: Partial<Replicas>; resources: Partial<ReplicaResources> }>;

const checkReplicas = (r: Replicas, what: string): void => {
  if (r.min > r.max) throw new RangeError(`${what}: replicas.min (${r.min}) is more than replicas.max (${r.max})`);
};

/** Fill defaults (config `serving.defaults`, then the built-in ones). Throws RangeError on a contradiction. */
export const completeSpec = (input: DeploymentCreateInput, defaults: SettingDefaults = {}): DeploymentSpec => {
  const pick = <K extends keyof Settings>(k: K): Settings[K] => (input[k] ?? defaults[k] ?? DEFAULT_DEPLOYMENT[k]) as Settings[K];
  const replicas: Replicas = { ...DEFAULT_DEPLOYMENT.replicas, ...defaults.replicas, ...input.replicas };
  // A max left to its default follows a larger min (replicas: {min: 2} means 2 replicas).
  if (input.replicas.max === undefined && defaults.replicas?.max === undefined) replicas.max = Math.max(replicas.max, replicas.min);
  checkReplicas(replicas, `deployment "${input.name}"`);
  return {
    name: input.name,
    model: input.model,
    backend: input.backend,
    executor: input.executor ?? null,
    replicas,
    resources: { ...DEFAULT_DEPLOYMENT.resources, ...defaults.resources, ...input.resources },
    max_batch_size: pick('max_batch_size'),
    batch_timeout_ms: pick('batch_timeout_ms'),
    enable_dynamic_batching: pick('enable_dynamic_batching'),
    close_batch_when_idle: pick('close_batch_when_idle'),
    load_balance_strategy: pick('load_balance_strategy'),
    max_queue: pick('max_queue'),
    request_timeout_ms: pick('request_timeout_ms'),
    state: input.state ?? null,
    routing: input.routing ?? null,
  };
};

/** The spec after a PATCH. Throws RangeError on a contradiction (nothing applied). */
export const patchSpec = (spec: DeploymentSpec, patch: DeploymentPatch): DeploymentSpec => {
  const { replicas, routing, ...settings } = patch;
  const next: DeploymentSpec = { ...spec, ...stripUndefined(settings), replicas: { ...spec.replicas, ...stripUndefined(replicas ?? {}) } };
  if (routing !== undefined) next.routing = routing;
  checkReplicas(next.replicas, `deployment "${spec.name}"`);
  return next;
};

const stripUndefined = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

export const batchSettingsOf = (spec: DeploymentSpec): BatchSettings => ({
  max_batch_size: spec.max_batch_size,
  batch_timeout_ms: spec.batch_timeout_ms,
  enable_dynamic_batching: spec.enable_dynamic_batching,
  close_batch_when_idle: spec.close_batch_when_idle ?? false,
  max_queue: spec.max_queue,
  request_timeout_ms: spec.request_timeout_ms,
  load_balance_strategy: spec.load_balance_strategy,
});

/** config `serving` (lakeray.yaml). */
export const servingConfigSchema = z
  .object({
    /** Defaults for deployments that leave a setting out (env: MAX_BATCH_SIZE, BATCH_TIMEOUT_MS, … override these). */
    defaults: z
      .object({
        ...settingsSchema.partial().shape,
        replicas: z.object(replicasShape).strict().partial().optional(),
        resources: z.object(resourcesShape).strict().partial().optional(),
      })
      .strict()
      .default({}),
    /** Deployments created at start when missing (tenant `default`); afterwards the stored deployment wins. */
    deployments: z.array(deploymentCreateSchema).default([]),
    /** The executor that runs local replicas. */
    executor: z.string().min(1).default('local'),
    /** Seconds a replica may take to load its model and pass its health check. */
    replica_startup_timeout_s: z.number().positive().max(3600).default(120),
    /** Largest binary predict body (raw float32 or Arrow IPC). */
    max_predict_bytes: z.number().int().positive().default(64 * 1024 * 1024),
    /** Streaming sessions (/api/v1/deployments/{name}/sessions, seed 003's /init). */
    sessions: z
      .object({
        /** A session with no chunk or status read for this long is reaped and its state freed. */
        idle_timeout_s: z.number().positive().max(7 * 24 * 3600).default(300),
        max_sessions: z.number().int().positive().max(1_000_000).default(4096),
        /** Chunks of one session waiting or running; beyond it 429 QUEUE_FULL. */
        max_pending_chunks: z.number().int().positive().max(100_000).default(1024),
      })
      .strict()
      .default({ idle_timeout_s: 300, max_sessions: 4096, max_pending_chunks: 1024 }),
    /** Seed 003's routes (/init, /queue_status, /wss, /ray/stats, /ray/configure) serve this deployment (default: the only one). */
    seed003: z.object({ deployment: z.string().min(1).optional() }).strict().default({}),
  })
  .strict();
export type ServingConfig = z.infer<typeof servingConfigSchema>;
