/**
 * A generation task as the video API shows it (seed 000's statuses and shape), built from
 * the task, its artifacts and its queue position. Pure.
 *
 *   task status   pending  running, cancelling   completed   failed   cancelled
 *   video status  QUEUED   RUNNING               SUCCEEDED   FAILED   CANCELLED
 */
import type { ArtifactInfo } from '../artifacts/artifact-store.ts';
import type { VideoModelConfig } from '../config/schema.ts';
import type { Task, TaskStatus } from '../domain/task.ts';
import { artifactUrl } from '../engine/artifact-ingest.ts';
import { valueAt } from './template.ts';

export const VIDEO_STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type VideoStatus = (typeof VIDEO_STATUSES)[number];

export const videoStatus = (s: TaskStatus): VideoStatus =>
  s === 'pending' ? 'QUEUED' : s === 'running' || s === 'cancelling' ? 'RUNNING' : s === 'completed' ? 'SUCCEEDED' : s === 'failed' ? 'FAILED' : 'CANCELLED';

/** Task name prefix and label of a generation task. */
export const TASK_PREFIX = 'video:';
export const isVideoTask = (t: Task): boolean => t.labels.kind === 'video' && t.name.startsWith(TASK_PREFIX);

export interface VideoArtifact {
  name: string;
  content_type: string;
  size: number;
  url: string;
}

export interface VideoResult {
  video_url: string | null;
  cover_url: string | null;
  duration: number;
  num_frames: number;
  fps: number;
  size: string;
  artifacts: VideoArtifact[];
}

export interface VideoView {
  task_id: string;
  model: string;
  status: VideoStatus;
  /** 0–100 */
  progress: number;
  progress_message: string | null;
  queue_position: number | null;
  eta_seconds: number | null;
  result: VideoResult | null;
  error: { code: string; message: string; step?: string } | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  prompt: string | null;
  negative_prompt: string | null;
  size: string;
  num_frames: number;
  fps: number;
  duration: number;
  seed: number | null;
  /** The upload id of the first frame (GET /api/v1/uploads/{id}), or null. */
  image: string | null;
}

export interface ViewInputs {
  task: Task;
  model: VideoModelConfig | undefined;
  artifacts: readonly ArtifactInfo[];
  queuePosition: number | null;
  /** Estimated seconds until the task finishes while it is queued (null: no estimate). */
  queuedEta: number | null;
  now: number;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const labelNum = (t: Task, k: string): number | null => {
  const v = t.labels[k];
  return v === undefined || v === '' ? null : num(Number(v));
};

/** A template variable's value back from the task: where the template held exactly that placeholder. */
function templateValue(task: Task, model: VideoModelConfig | undefined, name: string): unknown {
  if (model?.template.kind === 'script') {
    const v = valueAt(model.template.params, task.params, name);
    if (v !== undefined) return v;
  } else if (model?.template.kind === 'entrypoint') {
    const v = valueAt(model.template.argv, task.params.argv, name);
    if (v !== undefined) return v;
  }
  return task.params[name];
}

/** Seconds left of a running task: the script's own estimate, else elapsed × (1 − f) / f. */
export function runningEta(task: Task, now: number): number | null {
  const p = task.progress;
  if (!p || task.started_at === null) return null;
  if (typeof p.eta_s === 'number' && p.eta_s >= 0) return Math.round(p.eta_s);
  if (!(p.fraction > 0.01)) return null;
  const elapsed = (now - task.started_at) / 1000;
  return Math.max(0, Math.round((elapsed * (1 - p.fraction)) / p.fraction));
}

export function videoView({ task, model, artifacts, queuePosition, queuedEta, now }: ViewInputs): VideoView {
  const status = videoStatus(task.status);
  const fraction = status === 'SUCCEEDED' ? 1 : Math.min(1, Math.max(0, task.progress?.fraction ?? 0));
  const fps = labelNum(task, 'fps') ?? num(templateValue(task, model, 'fps')) ?? 0;
  const frames = labelNum(task, 'num_frames') ?? num(templateValue(task, model, 'num_frames')) ?? 0;
  const size = task.labels.size ?? '';
  const text = (name: string): string | null => {
    const v = templateValue(task, model, name);
    return typeof v === 'string' ? v : null;
  };
  let result: VideoResult | null = null;
  if (status === 'SUCCEEDED') {
    const files = artifacts.map((a) => ({ name: a.name, content_type: a.content_type, size: a.size, url: artifactUrl(task.id, a.name) }));
    // What the script returned wins over what was asked (a model may round frames, e.g. to 4n+1).
    const r = task.result !== null && typeof task.result === 'object' ? (task.result as Record<string, unknown>) : {};
    const rFrames = num(r.num_frames) ?? frames;
    const rFps = num(r.fps) ?? fps;
    result = {
      video_url: files.find((a) => a.content_type.startsWith('video/'))?.url ?? null,
      cover_url: files.find((a) => a.content_type.startsWith('image/'))?.url ?? null,
      duration: num(r.duration) ?? (rFps > 0 ? Math.round((rFrames / rFps) * 1000) / 1000 : 0),
      num_frames: rFrames,
      fps: rFps,
      size: typeof r.size === 'string' ? r.size : size,
      artifacts: files,
    };
  }
  const error = task.error ? { code: task.error.code, message: task.error.message, ...(task.error.step === undefined ? {} : { step: task.error.step }) } : null;
  return {
    task_id: task.id,
    model: task.labels.model ?? task.name.slice(TASK_PREFIX.length),
    status,
    progress: Math.round(fraction * 100),
    progress_message: status === 'RUNNING' && typeof task.progress?.message === 'string' ? task.progress.message : null,
    queue_position: status === 'QUEUED' ? queuePosition : null,
    eta_seconds: status === 'RUNNING' ? runningEta(task, now) : status === 'QUEUED' ? queuedEta : null,
    result,
    error: status === 'FAILED' || status === 'CANCELLED' ? error : null,
    created_at: iso(task.created_at) as string,
    started_at: iso(task.started_at),
    finished_at: iso(task.finished_at),
    prompt: text('prompt'),
    negative_prompt: text('negative_prompt'),
    size,
    num_frames: frames,
    fps,
    duration: fps > 0 ? Math.round((frames / fps) * 1000) / 1000 : 0,
    seed: labelNum(task, 'seed'),
    image: task.labels.image ?? null,
  };
}
