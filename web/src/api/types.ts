/** Wire types of the Lakeray API (docs/api.md, docs/lake.md) as the UI reads them. */

export const TASK_STATUSES = ['pending', 'running', 'cancelling', 'completed', 'failed', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const ACTIVE_STATUSES: readonly TaskStatus[] = ['pending', 'running', 'cancelling'];
export const isActive = (s: TaskStatus): boolean => ACTIVE_STATUSES.includes(s);

export interface TaskProgress {
  fraction: number;
  message: string | null;
  step?: number;
  total?: number;
  eta_s?: number | null;
}

export interface TaskError {
  code: string;
  message: string;
  step?: string;
}

export interface ServiceSpec {
  health_path: string;
  restart: string;
  max_restarts: number;
  startup_timeout_s: number;
}

/** Where a task's latest attempt runs or ran (docs/api.md "GET /api/v1/tasks/{id}"). */
export interface Placement {
  kind: 'process' | 'ray-job' | 'ray-actor' | (string & {});
  /** ray-job: the attempt's Ray job */
  submission_id?: string;
  /** ray-actor: its pool, the driver job's submission id, the actor when known */
  pool?: string;
  driver?: string | null;
  actor_id?: string;
  /** ray-*: the job or actor on the Ray dashboard */
  dashboard_url?: string | null;
}

/** GET /api/v1/executors */
export interface ExecutorInfo {
  name: string;
  kind: string;
  mode: string | null;
  health: { ok: boolean; message: string | null };
  capacity: Record<string, number>;
  used: Record<string, number>;
  dashboard_url: string | null;
  /** A node-scoped executor (`local@<node>`, shared store only): its ownership. */
  node?: { owner: string; epoch: number; lease: 'held' | 'lapsed'; expires_at: number };
  /** Shared store only: its queued and running (or cancelling) tasks now. */
  load?: { queued: number; running: number };
}

export interface Task {
  id: string;
  name: string;
  status: TaskStatus;
  tenant: string;
  script: string;
  input: string | null;
  output: string | null;
  params: Record<string, unknown>;
  executor: string;
  placement: Placement | null;
  pool: string | null;
  resources: { cpu: number; memory_mb: number; gpu: number; custom: Record<string, number> };
  priority: number;
  timeout_s: number | null;
  labels: Record<string, string>;
  service: ServiceSpec | null;
  attempt: number;
  queue_position: number | null;
  gpus: string[];
  progress: TaskProgress | null;
  result: unknown;
  error: TaskError | null;
  cancel_reason: string | null;
  last_seq: number;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** When the task ended if its status is `completed`; null otherwise (seed 004). */
  completed_at: string | null;
}

export interface TaskList {
  tasks: Task[];
  next_cursor: string | null;
}

export type EventType = 'state' | 'progress' | 'log' | 'metric' | 'artifact' | 'result' | 'error' | 'service';

export interface TaskEvent {
  task_id: string;
  tenant: string;
  seq: number;
  type: EventType;
  /** epoch ms */
  ts: number;
  data: Record<string, unknown>;
}

export interface Artifact {
  name: string;
  path?: string;
  content_type?: string | null;
  size?: number;
  url?: string;
}

export interface ServiceInfo {
  task_id: string;
  name: string;
  state: 'starting' | 'ready' | 'restarting' | 'stopped';
  port: number;
  restarts: number;
  url: string;
}

export interface Column {
  name: string;
  type: string;
  nullable: boolean;
}

export interface TableInfo {
  id: string;
  kind: 'datasets' | 'models';
  path: string;
  schema: Record<string, string>;
  columns: Column[];
  num_rows: number;
  size_bytes: number;
  version: number;
  created_at: string;
  updated_at: string;
  tags: Record<string, number>;
}

export interface LineageRecord {
  kind: 'datasets' | 'models';
  name: string;
  version: number;
  task_id: string;
  script: string;
  params: Record<string, unknown>;
  inputs: { kind: 'datasets' | 'models'; name: string; version: number }[];
  created_at: number;
}

export interface TableDetail extends TableInfo {
  lineage: LineageRecord[];
  files?: { file: string; content_type: string | null; size: number }[];
  metrics?: Record<string, unknown>;
  params?: Record<string, unknown>;
  task_id?: string | null;
}

export interface RowsPage {
  total: number;
  version: number;
  offset: number;
  limit: number;
  columns: Column[];
  rows: Record<string, unknown>[];
}

export interface VersionInfo {
  version: number;
  timestamp: string;
  num_rows: number;
  tags: string[];
}

/* ---- video generation (/v1/video) ---- */

export type GenerationStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

export interface VideoModel {
  id: string;
  name: string;
  description?: string;
  available: boolean;
  unavailable_reason?: string | null;
  /** The model's defaults; size, fps and num_frames (or duration) are the ones the form uses. */
  defaults: { size?: string; fps?: number; num_frames?: number; duration?: number; [k: string]: unknown };
  limits: { max_width: number; max_height: number; max_frames: number; max_fps?: number; sizes?: string[] };
}

export interface GenerationResult {
  video_url: string | null;
  cover_url: string | null;
  duration: number;
  num_frames: number;
  fps: number;
  size: string;
}

export interface Generation {
  task_id: string;
  model: string;
  status: GenerationStatus;
  /** 0–100 */
  progress: number;
  progress_message?: string | null;
  queue_position: number | null;
  eta_seconds: number | null;
  result: GenerationResult | null;
  error: TaskError | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  prompt: string | null;
  size: string;
}

export interface GenerationRequest {
  model?: string;
  prompt: string;
  negative_prompt?: string;
  image?: string;
  size?: string;
  num_frames?: number;
  fps?: number;
  seed?: number;
}

export interface Upload {
  id: string;
  content_type: string;
  size: number;
}

export const isFinished = (s: GenerationStatus): boolean => s === 'SUCCEEDED' || s === 'FAILED' || s === 'CANCELLED';
