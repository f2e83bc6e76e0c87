/**
 * The video-generation facade (seeds 000–002): a generation is an ordinary task built from
 * a catalog model's template — name `video:<model>`, labels {kind: video, model, size, …} —
 * submitted through the engine like any other, so queueing, GPU limits, cancel, events,
 * webhooks and artifacts are the platform's own. This file only translates: request →
 * template variables → task input, and task (+ artifacts) → the video view.
 */
import { randomInt } from 'node:crypto';
import type { Upload, UploadStore } from '../artifacts/upload-store.ts';
import type { GenerationConfig, VideoModelConfig } from '../config/schema.ts';
import { LakerayError } from '../domain/errors.ts';
import { isTerminal, type Task } from '../domain/task.ts';
import type { ArtifactService } from '../engine/artifact-service.ts';
import type { TaskInput } from '../engine/task-input.ts';
import type { Caller, TaskService } from '../engine/task-service.ts';
import { executorOf } from './catalog.ts';
import { type CatalogExecutor, chooseExecutor } from './executor-choice.ts';
import { ImageInputs } from './images.ts';
import { type GenerationRequest, MAX_SEED, planGeneration } from './request.ts';
import { renderArgv, renderValue, type Vars } from './template.ts';
import { isVideoTask, TASK_PREFIX, type VideoView, videoView } from './view.ts';

export interface GenerationDeps {
  config: Readonly<GenerationConfig>;
  tasks: TaskService;
  artifacts: ArtifactService | null;
  uploads: UploadStore;
  /** Configured executors by name (catalogExecutors of the engine's). */
  executors: ReadonlyMap<string, CatalogExecutor>;
  /** True when a script resolves inside the script roots now. */
  scriptExists: (script: string) => boolean;
  now?: () => number;
}

export interface ModelView {
  id: string;
  name: string;
  description: string;
  kind: 'script' | 'entrypoint';
  executor: string;
  available: boolean;
  /** Why it cannot run here (null when available); says how to configure what is missing. */
  unavailable_reason: string | null;
  defaults: Record<string, unknown>;
  limits: VideoModelConfig['limits'];
  resources: { cpu: number; memory_mb: number; gpu: number; custom: Record<string, number> };
}

export interface Accepted {
  task_id: string;
  status: 'QUEUED';
  queue_position: number | null;
  created_at: string;
}

/** What a compatibility route (api/routes/seed002.ts) adds to a request of the video API. */
export interface SubmitExtras {
  /**
   * The `image` as a path the model's workers read (seed 002's "/path/in/pod/…"), given to the
   * template as is: the server neither reads nor checks it. Only for a model on an executor of
   * kind ray (the caller checks with executorKind); `req.image` must then be absent.
   */
  workerImagePath?: string;
  /** Replaying it returns the task it made (and a different request with it is IDEMPOTENCY_CONFLICT). */
  idempotencyKey?: string;
  /** More labels of the task. */
  labels?: Readonly<Record<string, string>>;
}

/** History-based estimates are cached this long. */
const ESTIMATE_TTL_MS = 5000;

export class GenerationService {
  private readonly images: ImageInputs;
  private readonly byId: ReadonlyMap<string, VideoModelConfig>;
  private readonly now: () => number;
  private readonly meanDuration = new Map<string, { at: number; seconds: number | null }>();
  private parallelism: { at: number; byModel: Map<string, number> } | null = null;

  constructor(private readonly deps: GenerationDeps) {
    this.images = new ImageInputs(deps.uploads, deps.config.uploads);
    this.byId = new Map(deps.config.models.map((m) => [m.id, m]));
    this.now = deps.now ?? Date.now;
  }

  /** Most bytes a request body may have (an image as a data: URI, base64). */
  get maxBodyBytes(): number {
    return Math.ceil((this.deps.config.uploads.max_bytes * 4) / 3) + 64 * 1024;
  }

  get maxUploadBytes(): number {
    return this.deps.config.uploads.max_bytes;
  }

  /** Drops the connections of image fetches. */
  close(): Promise<void> {
    return this.images.close();
  }

  models(): ModelView[] {
    return this.deps.config.models.map((m) => {
      const reason = this.unavailable(m);
      return {
        id: m.id,
        name: m.name ?? m.id,
        description: m.description,
        kind: m.template.kind,
        executor: this.executorName(m),
        available: reason === null,
        unavailable_reason: reason,
        defaults: { ...m.defaults },
        limits: m.limits,
        resources: m.resources,
      };
    });
  }

  async submit(caller: Caller, req: GenerationRequest, extras: SubmitExtras = {}): Promise<Accepted> {
    const model = this.model(req.model);
    const reason = this.unavailable(model);
    if (reason !== null) throw new LakerayError('VIDEO_MODEL_UNAVAILABLE', `model "${model.id}": ${reason}`);
    const plan = planGeneration(model, req, this.deps.config.max_prompt_chars, () => randomInt(0, MAX_SEED));
    // Network and disk last: everything a client could get wrong is refused before.
    const image = await this.images.resolve(caller.tenant, req.image);
    const vars: Vars = { ...plan.vars, image: image?.path ?? extras.workerImagePath ?? null };
    const input = this.taskInput(model, vars, image, req);
    if (extras.labels) input.labels = { ...extras.labels, ...input.labels };
    if (extras.idempotencyKey !== undefined) input.idempotency_key = extras.idempotencyKey;
    const [submitted] = await this.deps.tasks.submit(caller, [input]);
    if (!submitted) throw new Error('TaskService.submit returned no result');
    const position = (await this.deps.tasks.queuePositions([submitted.task.id])).get(submitted.task.id) ?? null;
    return { task_id: submitted.task.id, status: 'QUEUED', queue_position: position, created_at: new Date(submitted.task.created_at).toISOString() };
  }

  async get(caller: Caller, id: string): Promise<VideoView> {
    return this.view(caller, await this.task(caller, id));
  }

  async list(caller: Caller, q: { limit: number; cursor?: string }): Promise<{ generations: VideoView[]; next_cursor: string | null }> {
    const page = await this.deps.tasks.list(caller, { name: `${TASK_PREFIX}*`, limit: q.limit, cursor: q.cursor });
    const videos = page.tasks.filter(isVideoTask);
    const queued = videos.filter((t) => t.status === 'pending').map((t) => t.id);
    const positions = queued.length ? await this.deps.tasks.queuePositions(queued) : new Map<string, number>();
    return { generations: await Promise.all(videos.map((t) => this.view(caller, t, positions.get(t.id) ?? null))), next_cursor: page.next_cursor };
  }

  /**
   * Queued or running: cancelled (the view after the cancel). Finished: deleted with its
   * artifacts (null).
   */
  async remove(caller: Caller, id: string): Promise<VideoView | null> {
    const task = await this.task(caller, id);
    if (isTerminal(task.status)) {
      await this.deps.tasks.delete(caller, id);
      return null;
    }
    const after = await this.deps.tasks.cancel(caller, id);
    return this.view(caller, after);
  }

  upload(caller: Caller, bytes: Buffer): Promise<Upload> {
    return this.images.save(caller.tenant, bytes);
  }

  async uploadFile(caller: Caller, id: string): Promise<Upload> {
    const upload = await this.deps.uploads.get(caller.tenant, id);
    if (upload === null) throw new LakerayError('UPLOAD_NOT_FOUND', `No upload "${id.slice(0, 80)}"`);
    return upload;
  }

  private model(id: string | undefined): VideoModelConfig {
    const wanted = id ?? this.deps.config.default_model ?? this.deps.config.models[0]?.id;
    const model = wanted === undefined ? undefined : this.byId.get(wanted);
    if (!model) {
      const known = [...this.byId.keys()].join(', ') || 'none';
      throw new LakerayError('VIDEO_MODEL_NOT_FOUND', `model: no video model "${wanted ?? ''}" (configured: ${known})`);
    }
    return model;
  }

  /** generation.default_model: the model of a request that names none (else the catalog's first). */
  get defaultModel(): string | undefined {
    return this.deps.config.default_model;
  }

  /** The catalog as configured (generation.models), in its order. */
  catalog(): readonly VideoModelConfig[] {
    return this.deps.config.models;
  }

  /** The kind of executor ('local', 'ray', …) that would run the model now; null when none is configured. */
  executorKind(m: VideoModelConfig): string | null {
    const choice = chooseExecutor(executorOf(m), this.deps.executors);
    return 'name' in choice ? choice.executor.kind : null;
  }

  /** The executor that runs the model's tasks: its own name, or the one of its kind (executor-choice.ts). */
  private executorName(m: VideoModelConfig): string {
    const choice = chooseExecutor(executorOf(m), this.deps.executors);
    return 'name' in choice ? choice.name : executorOf(m);
  }

  private unavailable(m: VideoModelConfig): string | null {
    const choice = chooseExecutor(executorOf(m), this.deps.executors);
    if ('reason' in choice) return choice.reason;
    if (m.template.kind === 'entrypoint' && !choice.executor.runsCommands)
      return `executor "${choice.name}" runs scripts, not command lines: give the model a script template (e.g. video/generate_ray.py with params.argv, docs/video.md)`;
    if (m.template.kind === 'script' && !this.deps.scriptExists(m.template.script)) return `script "${m.template.script}" is not in the script roots`;
    return null;
  }

  private taskInput(model: VideoModelConfig, vars: Vars, image: Upload | null, req: GenerationRequest): TaskInput {
    const t = model.template;
    const labels: Record<string, string> = {
      kind: 'video',
      model: model.id,
      size: String(vars.size),
      num_frames: String(vars.num_frames),
      fps: String(vars.fps),
      seed: String(vars.seed),
    };
    if (image) labels.image = image.id;
    const timeout = model.timeout_s === undefined ? this.deps.config.timeout_s : model.timeout_s;
    const common = {
      name: `${TASK_PREFIX}${model.id}`,
      executor: this.executorName(model),
      resources: model.resources,
      timeout_s: timeout,
      labels,
      ...(req.webhook === undefined || req.webhook === null ? {} : { webhook: req.webhook }),
    };
    if (t.kind === 'script') {
      const params = renderValue(t.params, vars) as Record<string, unknown>;
      // params.argv holds a command line's arguments (generate_ray.py's): text, as on a command line.
      const argv: unknown = t.params.argv;
      if (Array.isArray(argv) && argv.every((a) => typeof a === 'string')) params.argv = renderArgv(argv, vars);
      return { ...common, script: t.script, params };
    }
    // Rendered (renderArgv: one element per argument, never a shell string), but no executor
    // of this version runs command lines: `unavailable` refuses such models before this.
    throw new LakerayError('VIDEO_MODEL_UNAVAILABLE', `model "${model.id}": no executor here runs the command line ${JSON.stringify(renderArgv(t.argv, vars).slice(0, 3))}…`);
  }

  private async task(caller: Caller, id: string): Promise<Task> {
    const task = await this.deps.tasks.get(caller, id);
    if (!isVideoTask(task)) throw new LakerayError('TASK_NOT_FOUND', `No video generation '${id}'`);
    return task;
  }

  private async view(caller: Caller, task: Task, knownPosition?: number | null): Promise<VideoView> {
    const now = this.now();
    const artifacts = task.status === 'completed' && this.deps.artifacts ? await this.deps.artifacts.list(caller, task.id) : [];
    let position: number | null = null;
    let queuedEta: number | null = null;
    if (task.status === 'pending') {
      position = knownPosition !== undefined ? knownPosition : ((await this.deps.tasks.queuePositions([task.id])).get(task.id) ?? null);
      if (position !== null) queuedEta = await this.queuedEta(caller, task.labels.model ?? '', position);
    }
    return videoView({ task, model: this.byId.get(task.labels.model ?? ''), artifacts, queuePosition: position, queuedEta, now });
  }

  /**
   * A queued task's wait plus its own run: (position ÷ how many of the model run at once,
   * rounded down, + 1) × the mean duration of the model's recent successful runs. Null
   * without history.
   */
  private async queuedEta(caller: Caller, modelId: string, position: number): Promise<number | null> {
    const now = this.now();
    let mean = this.meanDuration.get(modelId);
    if (!mean || now - mean.at > ESTIMATE_TTL_MS) {
      const recent = await this.deps.tasks.list(caller, { name: `${TASK_PREFIX}${modelId}`, status: ['completed'], limit: 20 });
      const durations = recent.tasks.filter((t) => t.started_at !== null && t.finished_at !== null).map((t) => ((t.finished_at as number) - (t.started_at as number)) / 1000);
      mean = { at: now, seconds: durations.length ? durations.reduce((a, b) => a + b, 0) / durations.length : null };
      this.meanDuration.set(modelId, mean);
    }
    if (mean.seconds === null) return null;
    const parallel = await this.parallel(modelId);
    return Math.round((Math.floor(position / parallel) + 1) * mean.seconds);
  }

  /** How many tasks of the model its executor can run at once (from its capacity). */
  private async parallel(modelId: string): Promise<number> {
    const now = this.now();
    if (!this.parallelism || now - this.parallelism.at > ESTIMATE_TTL_MS) {
      const stats = await this.deps.tasks.stats();
      const byModel = new Map<string, number>();
      for (const m of this.deps.config.models) {
        const cap = stats.executors.find((e) => e.name === this.executorName(m))?.capacity ?? {};
        const need = { cpu: m.resources.cpu, gpu: m.resources.gpu, memory_mb: m.resources.memory_mb, ...m.resources.custom };
        const fits = Object.entries(need)
          .filter(([, v]) => v > 0)
          .map(([k, v]) => Math.floor((cap[k] ?? 0) / v));
        byModel.set(m.id, Math.max(1, Math.min(...fits, 1_000)));
      }
      this.parallelism = { at: now, byModel };
    }
    return this.parallelism.byModel.get(modelId) ?? 1;
  }
}
