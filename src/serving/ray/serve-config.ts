/**
 * A Lakeray deployment as one Ray Serve application (the `applications[]` entry of Serve's
 * declarative config, ServeApplicationSchema): the generic app runtimes/serving/ray_serve_app.py
 * configured by `args` (which model) and by its deployment's `user_config` (the batch settings,
 * applied by `reconfigure` without restarting replicas). Pure: no I/O.
 */

/** Every application Lakeray creates is named with this prefix; others are left alone. */
export const LAKERAY_APP_PREFIX = 'lakeray-';
/** The Serve deployment inside each application (ray_serve_app.py DEPLOYMENT). */
export const SERVE_DEPLOYMENT = 'LakerayOnnx';
export const SERVE_IMPORT_PATH = 'ray_serve_app:build';

export interface RayServeAppSpec {
  /** the Lakeray deployment's name */
  deployment: string;
  model: string;
  version: number;
  /** where the replicas fetch model.onnx: the Lakeray API as the Ray nodes reach it */
  lakerayUrl: string;
  /**
   * what they fetch it with: the deployment's model-read token (TaskTokens.mintModelRead), never
   * an API key. Anyone who can read the Serve config on the cluster can read it, and with it
   * only this model version's model.onnx. Left out (a bench or test against a keyless server),
   * the replicas read without one.
   */
  lakerayToken?: string;
  /** runtime_env.working_dir: the gcs:// package of runtimes/serving */
  workingDir: string;
  /** min === max: that many replicas; else Serve's autoscaler between them (min 0 allowed) */
  replicas: { min: number; max: number; idle_timeout_s?: number };
  resources: { cpu: number; gpu: number };
  max_batch_size: number;
  batch_timeout_ms: number;
  /** Off: Serve runs every request alone (max_batch_size 1). */
  enable_dynamic_batching: boolean;
}

/** The part of ServeApplicationSchema Lakeray writes (Ray 2.58 python/ray/serve/schema.py). */
export interface ServeApplicationConfig {
  name: string;
  route_prefix: string;
  import_path: string;
  runtime_env: Record<string, unknown>;
  args: Record<string, unknown>;
  deployments: Record<string, unknown>[];
  [key: string]: unknown;
}

/**
 * The name a tenant's deployment has on a Ray head, which every tenant's deployments share:
 * `default`'s keep their own name (the apps a server made before tenants are found again);
 * another tenant's are `<tenant>~<name>`. `~` is in neither a tenant's nor a deployment's
 * name, so two tenants' deployments of one name never meet in one Serve application.
 */
export const serveDeploymentName = (tenant: string, deployment: string): string => (tenant === 'default' ? deployment : `${tenant}~${deployment}`);

export const serveAppName = (deployment: string): string => `${LAKERAY_APP_PREFIX}${deployment}`;
export const serveRoutePrefix = (deployment: string): string => `/lakeray/${encodeURIComponent(deployment)}`;

/** What `reconfigure` in the app reads. */
export function serveUserConfig(s: Pick<RayServeAppSpec, 'max_batch_size' | 'batch_timeout_ms' | 'enable_dynamic_batching'>): Record<string, number> {
  return {
    max_batch_size: s.enable_dynamic_batching ? s.max_batch_size : 1,
    batch_wait_timeout_s: s.enable_dynamic_batching ? s.batch_timeout_ms / 1000 : 0,
  };
}

export function serveApplication(spec: RayServeAppSpec): ServeApplicationConfig {
  const user = serveUserConfig(spec);
  // A replica takes at most this many requests at once: a full batch being filled while
  // another runs. Serve warns (and batches stay small) when it is below max_batch_size.
  const maxOngoing = Math.max(8, 2 * user.max_batch_size!);
  const { min, max } = spec.replicas;
  const scaling =
    min === max
      ? { num_replicas: Math.max(1, max) }
      : {
          autoscaling_config: {
            min_replicas: min,
            max_replicas: max,
            // Serve scales on requests in flight per replica: a replica is "full" at one batch.
            target_ongoing_requests: user.max_batch_size,
            ...(spec.replicas.idle_timeout_s !== undefined ? { downscale_to_zero_delay_s: spec.replicas.idle_timeout_s } : {}),
          },
        };
  return {
    name: serveAppName(spec.deployment),
    route_prefix: serveRoutePrefix(spec.deployment),
    import_path: SERVE_IMPORT_PATH,
    runtime_env: { working_dir: spec.workingDir },
    args: {
      lakeray_url: spec.lakerayUrl,
      ...(spec.lakerayToken !== undefined ? { lakeray_token: spec.lakerayToken } : {}),
      model: spec.model,
      version: spec.version,
      threads: Math.max(1, Math.floor(spec.resources.cpu)),
    },
    deployments: [
      {
        name: SERVE_DEPLOYMENT,
        ...scaling,
        max_ongoing_requests: maxOngoing,
        user_config: user,
        ray_actor_options: { num_cpus: spec.resources.cpu, num_gpus: spec.resources.gpu },
      },
    ],
  };
}
