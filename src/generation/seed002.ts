/**
 * Seed 002's `POST /generate` task_config mapped onto the video catalog (pure; the route is
 * api/routes/seed002.ts, docs/video.md "Seed 002's POST /generate"):
 *
 *   task / model_type   "i2v-A14B", "t2v-A14B", "ti2v-5B", or a family "t2v", "i2v", "ti2v":
 *                       the catalog models whose Wan2.2 task (the `--task` argument of their
 *                       template) or id is that task, or is of that family
 *   ckpt_dir, s3_bucket, s3_key_prefix
 *                       fixed per model by the catalog (its `defaults`): they pick among those
 *                       models, and one no model has is refused, never passed on
 *   resolution          "480p" → 832*480, "720p" → 1280*720, "1080p" → 1920*1080 (a `size`)
 *
 * Several models left: the first available one in catalog order (else the first, which the
 * video API then refuses with its reason).
 */
import { createHash } from 'node:crypto';
import type { VideoModelConfig } from '../config/schema.ts';
import { LakerayError } from '../domain/errors.ts';
import { MAX_SEED } from './request.ts';

export const RESOLUTIONS: Readonly<Record<string, string>> = { '480p': '832*480', '720p': '1280*720', '1080p': '1920*1080' };

/** Seed 002 fields the catalog fixes per model (as `defaults`): they select a model, never override one. */
export const FIXED_FIELDS = ['ckpt_dir', 's3_bucket', 's3_key_prefix'] as const;
export type FixedField = (typeof FIXED_FIELDS)[number];

export interface SeedSelection {
  /** Lakeray's own model id, if the body names one. */
  model?: string;
  task?: string;
  model_type?: string;
  fixed: Partial<Record<FixedField, string>>;
}

const bad = (message: string): LakerayError => new LakerayError('INVALID_REQUEST', message);

/** The model's Wan2.2 task: the literal argument after `--task` in its template (generate_ray.py's argv), else null. */
export function seedTaskOf(m: VideoModelConfig): string | null {
  const t = m.template;
  const argv: unknown = t.kind === 'script' ? t.params.argv : t.argv;
  if (!Array.isArray(argv)) return null;
  const i = argv.indexOf('--task');
  const next: unknown = i >= 0 ? argv[i + 1] : undefined;
  return typeof next === 'string' && !next.includes('{') ? next : null;
}

/** Whether a model is for a seed task: its task or id is it ("t2v-a14b", "wan2.2-t2v-a14b"), or, for a bare family ("t2v"), of it. */
export function servesTask(m: VideoModelConfig, wanted: string): boolean {
  const q = wanted.toLowerCase();
  const task = seedTaskOf(m)?.toLowerCase();
  const id = m.id.toLowerCase();
  if (task === q || id === q || id.endsWith(`-${q}`)) return true;
  return !q.includes('-') && task !== undefined && task.startsWith(`${q}-`);
}

const samePath = (a: string, b: string): boolean => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');

/**
 * The catalog model a seed body asks for. `available`: whether a model can run here now.
 * Throws VIDEO_MODEL_NOT_FOUND when no model is for the task, INVALID_REQUEST when the fixed
 * fields rule out every one that is.
 */
export function chooseSeedModel(
  catalog: readonly VideoModelConfig[],
  sel: SeedSelection,
  available: (m: VideoModelConfig) => boolean,
  defaultModel: string | undefined,
): VideoModelConfig {
  const asked = sel.task ?? sel.model_type;
  if (sel.task !== undefined && sel.model_type !== undefined && sel.task.toLowerCase().split('-')[0] !== sel.model_type.toLowerCase().split('-')[0])
    throw bad(`task "${sel.task}" and model_type "${sel.model_type}" name different tasks; give one`);
  let candidates: VideoModelConfig[];
  if (sel.model !== undefined) {
    candidates = catalog.filter((m) => m.id === sel.model);
    if (candidates.length === 0) throw new LakerayError('VIDEO_MODEL_NOT_FOUND', `model: no video model "${sel.model}" (configured: ${catalog.map((m) => m.id).join(', ') || 'none'})`);
    if (asked !== undefined && !servesTask(candidates[0] as VideoModelConfig, asked)) throw bad(`model "${sel.model}" is not for task "${asked}"`);
  } else if (asked !== undefined) {
    candidates = catalog.filter((m) => servesTask(m, asked));
    if (candidates.length === 0) {
      const offered = catalog.map((m) => `${m.id}${seedTaskOf(m) ? ` (${seedTaskOf(m)})` : ''}`).join(', ') || 'none';
      throw new LakerayError('VIDEO_MODEL_NOT_FOUND', `${sel.task !== undefined ? 'task' : 'model_type'}: no video model for "${asked}" is configured (models: ${offered})`);
    }
  } else {
    const id = defaultModel ?? catalog[0]?.id;
    candidates = catalog.filter((m) => m.id === id);
    if (candidates.length === 0) throw new LakerayError('VIDEO_MODEL_NOT_FOUND', 'no video model is configured (generation.models)');
  }

  for (const field of FIXED_FIELDS) {
    const value = sel.fixed[field];
    if (value === undefined) continue;
    const fit = candidates.filter((m) => typeof m.defaults[field] === 'string' && samePath(m.defaults[field], value));
    if (fit.length > 0) {
      candidates = fit;
      continue;
    }
    const theirs = candidates.filter((m) => m.defaults[field] !== undefined).map((m) => `${m.id}: ${String(m.defaults[field])}`);
    throw bad(
      theirs.length > 0
        ? `${field}: "${value}" is not what any ${asked ?? 'such'} model here uses (${theirs.join('; ')}); the catalog fixes it per model (generation.models[].defaults.${field})`
        : `${field}: no ${asked === undefined ? '' : `${asked} `}model here takes it${field.startsWith('s3_') ? "; the video is kept as the task's artifact (config artifacts:, s3 or local) and served at its video_url" : ''}`,
    );
  }
  return candidates.find(available) ?? (candidates[0] as VideoModelConfig);
}

/** "720p" → "1280*720"; `size` and `resolution` together must agree. Undefined: the model's default. */
export function seedSize(size: string | undefined, resolution: string | undefined): string | undefined {
  if (resolution === undefined) return size;
  const mapped = RESOLUTIONS[resolution.toLowerCase()];
  if (mapped === undefined) throw bad(`resolution: "${resolution}" is not one of ${Object.keys(RESOLUTIONS).join(', ')} (or give size "W*H")`);
  if (size !== undefined && size.replace(/[xX×]/, '*') !== mapped) throw bad(`size "${size}" and resolution "${resolution}" (${mapped}) differ; give one`);
  return mapped;
}

/** The random seed of a generation the client named (task_id): the same every time, so a retry is the same request. */
export const seedOfTaskId = (taskId: string): number => createHash('sha256').update(taskId).digest().readUInt32BE(0) % (MAX_SEED + 1);
