/**
 * The deployments use cases (DESIGN.md §7): create, list, get, reconfigure, delete, predict
 * and stats, per tenant. Deployments are stored (they come back after a restart, with fresh
 * replicas) and may be declared in config (`serving.deployments`, created at start when
 * missing). The API calls this; it calls the engine (replicas are service tasks), the lake
 * (which version of the model) and the store.
 */
import { LakerayError } from '../domain/errors.ts';
import type { Caller, TaskService } from '../engine/task-service.ts';
import type { DeploymentStore } from '../store/deployment-store.ts';
import { LocalBackend, replicaTaskName } from './backends/local-backend.ts';
import { RayBackend } from './backends/ray-backend.ts';
import type { BackendEvents, ServingBackend } from './backends/serving-backend.ts';
import { RayServeTargets, type RayServeExecutor } from './ray/targets.ts';
import { serveDeploymentName } from './ray/serve-config.ts';
import { Deployment, type DeploymentStatus, type ReplicaStatus } from './deployment.ts';
import type { SessionHost } from './sessions.ts';
import {
  batchSettingsOf,
  completeSpec,
  deploymentCreateSchema,
  parseModelRef,
  patchSpec,
  type DeploymentCreateInput,
  type DeploymentPatch,
  type DeploymentSpec,
  type SettingDefaults,
} from './deployment-spec.ts';
import type { DeploymentStats } from './gateway.ts';
import type { BatchSettings, ModelSignature, StateBinding, TensorMap } from './types.ts';

/** What the manager needs of the lake (LakeService has it). */
export interface ServingLake {
  versions(kind: 'models', name: string): Promise<{ version: number; tags: string[] }[]>;
  /** The model's card (files, params) at `version` (default: the latest). */
  describe(kind: 'models', name: string, version?: number): Promise<{ version: number; files?: { file: string }[]; params?: Record<string, unknown> }>;
}

export interface ServingOptions {
  tasks: TaskService;
  store: DeploymentStore;
  /** The tenant's namespace of the lake: a deployment serves its own tenant's models only. */
  lake: (tenant: string) => Promise<ServingLake>;
  /** config `serving.defaults`. */
  defaults: SettingDefaults;
  /** config `serving.deployments`: created at start when missing (tenant `default`). */
  declared: unknown[];
  /** The executor local replicas run on. */
  localExecutor: string;
  /** Seconds a replica may take to load its model and answer its health check. */
  startupTimeoutS: number;
  /** The Ray executors (config executors.<name> of kind ray) whose heads may serve `ray` deployments. */
  rayExecutors?: Record<string, RayServeExecutor>;
  /** Lakeray's API URL (known once listening): a Serve app reads its model there unless the executor's api_url says otherwise. */
  apiUrl?: () => string | undefined;
  /** runtimes/serving: the Serve app's code. */
  serveAppDir?: string;
  /** The tenant's `gpu_seconds_per_day` (null: no limit); a `ray` deployment with GPUs is refused under one (rayGpusUnmetered). */
  gpuQuota?: (tenant: string) => Promise<number | null>;
  /** The credential a `ray` deployment's replicas read their model with: one model version of one tenant (TaskTokens.mintModelRead). */
  modelReadToken?: (claims: { tenant: string; model: string; version: number }) => string;
  onError(err: unknown, context: string): void;
}

export interface DeploymentView extends DeploymentSpec {
  model_version: number;
  status: DeploymentStatus;
  last_error: string | null;
  signature: ModelSignature | null;
  replica_status: ReplicaStatus[];
  created_at: number;
  updated_at: number;
}

interface StoredSpec extends DeploymentSpec {
  model_version: number;
  signature: ModelSignature | null;
  /** The model's label names (params.classes), for seed 004's {"image"} answers. */
  classes: string[] | null;
}

const key = (tenant: string, name: string): string => `${tenant}\u0000${name}`;

export class DeploymentManager {
  private readonly live = new Map<string, Deployment>();
  private readonly deleteListeners: ((tenant: string, name: string) => void)[] = [];
  private readonly ray: RayServeTargets;

  constructor(private readonly opts: ServingOptions) {
    this.ray = new RayServeTargets(opts.rayExecutors ?? {}, opts.serveAppDir, opts.apiUrl ?? (() => undefined));
  }

  /** Bring stored deployments back (fresh replicas: the old ones died with the old server), then create declared ones. */
  async start(): Promise<void> {
    for (const record of await this.opts.store.listDeployments()) {
      const spec = record.spec as StoredSpec;
      if (spec.backend === 'local') await this.cancelLeftovers({ tenant: record.tenant }, spec.name);
      try {
        this.open(record.tenant, spec, record.created_at, record.updated_at);
      } catch (err) {
        // e.g. its Ray executor left the config: the others still come back.
        this.opts.onError(err, `bringing back deployment "${spec.name}"`);
      }
    }
    for (const raw of this.opts.declared) {
      const input = deploymentCreateSchema.parse(raw);
      if (this.live.has(key('default', input.name))) continue;
      // A declared deployment whose model is not in the lake yet must not stop the server.
      await this.create({ tenant: 'default' }, input).catch((err) => this.opts.onError(err, `creating deployment "${input.name}" from config`));
    }
  }

  async create(caller: Caller, input: DeploymentCreateInput): Promise<DeploymentView> {
    let spec: DeploymentSpec;
    try {
      spec = completeSpec(input, this.opts.defaults);
    } catch (err) {
      throw new LakerayError('INVALID_REQUEST', (err as Error).message);
    }
    if (spec.backend === 'ray') spec = { ...spec, executor: this.ray.resolve(spec.executor) };
    if (this.live.has(key(caller.tenant, spec.name))) throw new LakerayError('DEPLOYMENT_EXISTS', `deployment "${spec.name}" already exists; PATCH it to change its settings`);
    await this.rayGpusUnmetered(caller.tenant, spec);
    const { version, params } = await this.resolveModel(caller.tenant, spec.model);
    const stored: StoredSpec = { ...spec, state: spec.state ?? stateFromParams(params), model_version: version, signature: null, classes: classesFromParams(params) };
    const now = Date.now();
    if (!(await this.opts.store.createDeployment({ tenant: caller.tenant, name: spec.name, spec: stored, created_at: now, updated_at: now }))) {
      throw new LakerayError('DEPLOYMENT_EXISTS', `deployment "${spec.name}" already exists; PATCH it to change its settings`);
    }
    return this.view(this.open(caller.tenant, stored, now, now));
  }

  list(caller: Caller): DeploymentView[] {
    return [...this.live.values()].filter((d) => d.tenant === caller.tenant).map((d) => this.view(d));
  }

  get(caller: Caller, name: string): DeploymentView {
    return this.view(this.deployment(caller, name));
  }

  async patch(caller: Caller, name: string, patch: DeploymentPatch): Promise<DeploymentView> {
    const d = this.deployment(caller, name);
    let next: DeploymentSpec;
    try {
      next = patchSpec(d.spec, patch);
    } catch (err) {
      throw new LakerayError('INVALID_REQUEST', (err as Error).message);
    }
    await this.rayGpusUnmetered(caller.tenant, next);
    const now = Date.now();
    const stored: StoredSpec = { ...next, model_version: d.modelVersion, signature: d.signature, classes: d.classes };
    if (!(await this.opts.store.updateDeployment(caller.tenant, name, stored, now))) throw this.notFound(name);
    d.reconfigure(next, now);
    return this.view(d);
  }

  async delete(caller: Caller, name: string): Promise<void> {
    const d = this.deployment(caller, name);
    this.live.delete(key(caller.tenant, name));
    await this.opts.store.deleteDeployment(caller.tenant, name);
    for (const l of this.deleteListeners) l(caller.tenant, name);
    await d.delete();
  }

  /** The deployment's signature (held through a cold start when no replica ever ran). */
  async signature(caller: Caller, name: string): Promise<ModelSignature> {
    const d = this.deployment(caller, name);
    return d.waitSignature(d.spec.request_timeout_ms);
  }

  /** Run validated inputs (every input's first dimension = rows) through the deployment's gateway. */
  predict(caller: Caller, name: string, inputs: TensorMap, rows: number, chain?: string): Promise<TensorMap> {
    return this.deployment(caller, name).gateway.submit({ inputs, rows, chain });
  }

  stats(caller: Caller, name: string): DeploymentStats & { name: string } {
    return { name, ...this.deployment(caller, name).gateway.stats() };
  }

  /** Every live deployment, for /metrics. */
  all(): { tenant: string; name: string; status: DeploymentStatus; stats: DeploymentStats }[] {
    return [...this.live.values()].map((d) => ({ tenant: d.tenant, name: d.spec.name, status: d.status, stats: d.gateway.stats() }));
  }

  /** The deployment itself, for sessions (they submit chunks through its gateway). */
  deployment(caller: Caller, name: string): Deployment {
    const d = this.live.get(key(caller.tenant, name));
    if (!d) throw this.notFound(name);
    return d;
  }

  /** What the sessions need: each session's tenant's deployments. */
  sessionHost(): SessionHost {
    const find = (tenant: string, name: string) => this.live.get(key(tenant, name));
    return {
      gateway: (tenant, name) => find(tenant, name)?.gateway,
      signature: (tenant, name) => find(tenant, name)?.signature ?? undefined,
      stateBindings: (tenant, name) => find(tenant, name)?.spec.state ?? [],
      routing: (tenant, name) => find(tenant, name)?.spec.routing ?? {},
    };
  }

  /** What seed 003's routes need: the caller's tenant's deployments, their stats, and a live reconfigure that is stored like a PATCH. */
  seed003Host(): {
    deployments(tenant: string): string[];
    stats(tenant: string, name: string): object | undefined;
    reconfigure(tenant: string, name: string, settings: Partial<BatchSettings>): Promise<BatchSettings>;
  } {
    return {
      deployments: (tenant) => this.list({ tenant }).map((d) => d.name),
      stats: (tenant, name) => this.live.get(key(tenant, name))?.gateway.stats(),
      reconfigure: async (tenant, name, settings) => {
        const view = await this.patch({ tenant }, name, settings);
        return batchSettingsOf(view);
      },
    };
  }

  /** Called when a tenant's deployment goes (its sessions end with it). */
  onDelete(listener: (tenant: string, name: string) => void): void {
    this.deleteListeners.push(listener);
  }

  async close(): Promise<void> {
    const all = [...this.live.values()];
    this.live.clear();
    await Promise.all(all.map((d) => d.close()));
    await this.ray.close();
  }

  /**
   * Serve places and scales a `ray` deployment's replicas on the cluster itself: their GPUs are
   * in no ledger of Lakeray's, so they are not charged GPU-seconds and no quota could hold
   * their start. A tenant with a GPU-seconds quota therefore may not have one with GPUs
   * (docs/serving-ray.md), rather than a quota that silently does not count them.
   */
  private async rayGpusUnmetered(tenant: string, spec: DeploymentSpec): Promise<void> {
    if (spec.backend !== 'ray' || spec.resources.gpu <= 0 || !this.opts.gpuQuota) return;
    const quota = await this.opts.gpuQuota(tenant);
    if (quota !== null)
      throw new LakerayError(
        'INVALID_REQUEST',
        `tenant "${tenant}" has a GPU-seconds quota (${quota}/day), and a ray deployment's GPUs are Serve's to place, not metered by Lakeray: serve it with backend "local" (its replicas are charged), or without GPUs`,
      );
  }

  private notFound(name: string): LakerayError {
    return new LakerayError('DEPLOYMENT_NOT_FOUND', `no deployment named "${name}"`);
  }

  private open(tenant: string, spec: StoredSpec, createdAt: number, updatedAt: number): Deployment {
    const { model_version, signature, classes, ...plain } = spec;
    const ref: { d?: Deployment } = {};
    const events: BackendEvents = { ready: (r, s) => ref.d?.replicaReady(r, s), gone: (id, error) => ref.d?.replicaGone(id, error) };
    const backend = this.backendOf(tenant, plain, model_version, events);
    const d = new Deployment(plain, tenant, model_version, signature, classes ?? null, createdAt, updatedAt, backend, {
      signatureLearned: (s) => void this.remember(tenant, spec.name, s),
      onError: this.opts.onError,
    });
    ref.d = d;
    this.live.set(key(tenant, spec.name), d);
    return d;
  }

  private backendOf(tenant: string, spec: DeploymentSpec, version: number, events: BackendEvents): ServingBackend {
    const model = parseModelRef(spec.model).name;
    if (spec.backend === 'ray') {
      const target = this.ray.target(this.ray.resolve(spec.executor));
      if (!this.opts.modelReadToken) throw new LakerayError('INVALID_REQUEST', 'backend "ray" needs the server\'s task tokens (its replicas read the model with a token minted from them)');
      const token = this.opts.modelReadToken({ tenant, model, version });
      return new RayBackend(target, { deployment: serveDeploymentName(tenant, spec.name), model, version, token }, spec, events, this.opts.onError);
    }
    const plan = {
      deployment: spec.name,
      model,
      version,
      cpu: spec.resources.cpu,
      gpu: spec.resources.gpu,
      executor: this.opts.localExecutor,
      startupTimeoutS: this.opts.startupTimeoutS,
    };
    return new LocalBackend(this.opts.tasks, { tenant }, plan, events, this.opts.onError);
  }

  /** Store the signature learned from the first replica, so a restart validates before any replica runs. */
  private async remember(tenant: string, name: string, signature: ModelSignature): Promise<void> {
    const d = this.live.get(key(tenant, name));
    if (!d) return;
    const stored: StoredSpec = { ...d.spec, model_version: d.modelVersion, signature, classes: d.classes };
    await this.opts.store.updateDeployment(tenant, name, stored, d.updatedAt).catch((err) => this.opts.onError(err, `storing the signature of "${name}"`));
  }

  /** Replica tasks a previous server left queued or running: they belong to no live deployment now. */
  private async cancelLeftovers(caller: Caller, name: string): Promise<void> {
    const page = await this.opts.tasks.list(caller, { name: replicaTaskName(name), status: ['pending', 'running'], limit: 1000 });
    for (const task of page.tasks) await this.opts.tasks.cancel(caller, task.id).catch(() => undefined);
  }

  /** The version number the model reference names now (a tag resolves once, at create), and that version's params. */
  private async resolveModel(tenant: string, ref: string): Promise<{ version: number; params: Record<string, unknown> }> {
    const { name, ref: at } = parseModelRef(ref);
    const lake = await this.opts.lake(tenant);
    let version: number | undefined;
    if (at !== undefined) {
      const versions = await lake.versions('models', name);
      const found = /^\d+$/.test(at) ? versions.find((v) => v.version === Number(at)) : versions.find((v) => v.tags.includes(at));
      if (!found) throw new LakerayError('VERSION_NOT_FOUND', `model "${name}" has no version or tag "${at}"`);
      version = found.version;
    }
    const card = await lake.describe('models', name, version);
    if (!card.files?.some((f) => f.file === 'model.onnx')) {
      throw new LakerayError('INVALID_REQUEST', `model "${name}"${at === undefined ? '' : ` version ${card.version}`} has no model.onnx file: a deployment serves ONNX models`);
    }
    return { version: card.version, params: card.params ?? {} };
  }

  private view(d: Deployment): DeploymentView {
    return {
      ...d.spec,
      model_version: d.modelVersion,
      status: d.status,
      last_error: d.error,
      signature: d.signature,
      replica_status: d.replicaStatus(),
      created_at: d.createdAt,
      updated_at: d.updatedAt,
    };
  }
}

/** A model that says how sessions carry its state (mnist_rnn.py: params.serving.state). */
const stateFromParams = (params: Record<string, unknown>): StateBinding[] | null => {
  const serving = params.serving as { state?: unknown } | undefined;
  if (!Array.isArray(serving?.state)) return null;
  const ok = serving.state.every((b) => typeof (b as StateBinding)?.input === 'string' && typeof (b as StateBinding)?.output === 'string');
  return ok ? (serving.state as StateBinding[]) : null;
};

const classesFromParams = (params: Record<string, unknown>): string[] | null =>
  Array.isArray(params.classes) && params.classes.every((c) => typeof c === 'string' || typeof c === 'number') ? params.classes.map(String) : null;
