/**
 * The serving API (docs/serving.md, docs/serving-sessions.md, docs/eval.md): deployments, their
 * stats and predictions, streaming sessions, and the evaluation reports.
 */
import { request } from './client.ts';
import { authHeaders, withToken } from './auth.ts';

export type DeploymentStatus = 'starting' | 'ready' | 'scaled_to_zero' | 'failed' | 'deleting';

export interface TensorSpec {
  name: string;
  dtype: string;
  shape: (number | string | null)[];
}

export interface ReplicaStatus {
  id: string;
  state: 'starting' | 'ready' | 'draining';
  load: number;
  gpus: string[];
  task_id: string | null;
  started_at: number;
}

/** The settings a PATCH changes live. */
export interface DeploymentSettings {
  max_batch_size: number;
  batch_timeout_ms: number;
  enable_dynamic_batching: boolean;
  load_balance_strategy: string;
}

export interface Deployment extends DeploymentSettings {
  name: string;
  model: string;
  model_version: number;
  backend: 'local' | 'ray';
  executor: string | null;
  status: DeploymentStatus;
  last_error: string | null;
  replicas: { min: number; max: number; idle_timeout_s: number };
  resources: { cpu: number; gpu: number };
  max_queue: number;
  request_timeout_ms: number;
  state: { input: string; output: string }[] | null;
  routing: Record<string, string> | null;
  signature: { inputs: TensorSpec[]; outputs: TensorSpec[] } | null;
  replica_status: ReplicaStatus[];
  created_at: number;
  updated_at: number;
}

export interface DeploymentStats {
  name: string;
  queue_depth: number;
  queue_rows: number;
  in_flight_rows: number;
  requests_total: number;
  rows_total: number;
  batches_total: number;
  mean_batch_size: number;
  batch_size_histogram: Record<string, number>;
  latency_ms: { p50: number; p95: number; p99: number };
  throughput_rps: number;
  rows_per_s: number;
  refused: Record<string, number>;
  cold_starts: { count: number; last_ms: number | null; mean_ms: number | null };
  replicas: { id: string; state: string; rows_in_flight: number; batches: number; rows: number; gpus: string[] }[];
  settings: DeploymentSettings & { max_queue: number; request_timeout_ms: number };
}

export type DeploymentPatch = Partial<DeploymentSettings> & { replicas?: Partial<Deployment['replicas']> };

export interface DeploymentCreate extends DeploymentPatch {
  name: string;
  model: string;
  backend?: 'local' | 'ray';
}

/** seed 004's answer to `{"image": […]}`. */
export interface ImagePrediction {
  prediction: number;
  label?: string;
  confidence: number;
  probabilities: number[];
  label_names?: string[];
}

export interface Session {
  session_id: string;
  deployment: string;
  client_id: string;
}

/** One text frame of a session's stream. */
export interface StreamMessage {
  seq?: number;
  outputs?: Record<string, unknown>;
  prediction?: number | number[];
  event?: 'eof' | 'ended';
  error?: { code: string; message: string };
}

export const REPORT_FILES = ['summary.json', 'README.md', 'user_test_charts.png', 'batch_test_heatmaps.png'] as const;
export type ReportFile = (typeof REPORT_FILES)[number];

export interface EvalReport {
  id: string;
  deployment: string;
  model: string | null;
  mode: 'request' | 'session';
  users: number;
  started_at: string;
  finished_at: string;
  interrupted: boolean;
  phases: number;
  files: ReportFile[];
}

export interface EvalPhase {
  name: string;
  kind: string;
  users: number;
  duration_s: number;
  config?: Partial<DeploymentSettings>;
  requests: number;
  ok: number;
  errors: Record<string, number>;
  throughput_rps: number;
  latency_ms: { p50: number; p95: number; p99: number; mean: number; max: number };
  mean_batch_size: number | null;
}

export interface EvalSummary {
  deployment: string;
  model: string | null;
  mode: string;
  users: number;
  started_at: string;
  finished_at: string;
  interrupted: boolean;
  phases: EvalPhase[];
}

const enc = encodeURIComponent;
const D = '/api/v1/deployments';
const json = (method: string, body: unknown): RequestInit => ({ method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

export const serving = {
  deployments: (signal?: AbortSignal) => request<{ items: Deployment[] }>(D, { signal }),
  deployment: (name: string, signal?: AbortSignal) => request<Deployment>(`${D}/${enc(name)}`, { signal }),
  stats: (name: string, signal?: AbortSignal) => request<DeploymentStats>(`${D}/${enc(name)}/stats`, { signal }),
  create: (body: DeploymentCreate) => request<Deployment>(D, json('POST', body)),
  patch: (name: string, body: DeploymentPatch) => request<Deployment>(`${D}/${enc(name)}`, json('PATCH', body)),
  remove: (name: string) => request<void>(`${D}/${enc(name)}`, { method: 'DELETE' }),
  predict: <T = unknown>(name: string, body: unknown, signal?: AbortSignal) => request<T>(`${D}/${enc(name)}/predict`, { ...json('POST', body), signal }),
  openSession: (name: string, clientId: string) => request<Session>(`${D}/${enc(name)}/sessions`, json('POST', { client_id: clientId })),
  closeSession: (name: string, id: string) => request<unknown>(`${D}/${enc(name)}/sessions/${enc(id)}`, { method: 'DELETE' }),
  streamUrl: (name: string, id: string) => withToken(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${D}/${enc(name)}/sessions/${enc(id)}/stream`),

  reports: (signal?: AbortSignal) => request<{ items: EvalReport[] }>('/api/v1/eval/reports', { signal }),
  reportFileUrl: (id: string, file: ReportFile) => withToken(`/api/v1/eval/reports/${enc(id)}/${file}`),
  reportSummary: (id: string, signal?: AbortSignal) => request<EvalSummary>(`/api/v1/eval/reports/${enc(id)}/summary.json`, { signal }),
  reportReadme: async (id: string, signal?: AbortSignal): Promise<string> => {
    const res = await fetch(`/api/v1/eval/reports/${enc(id)}/README.md`, { signal, headers: authHeaders() });
    if (!res.ok) throw new Error(`README.md: HTTP ${res.status}`);
    return res.text();
  },
};

/** A deployment's one input when it takes seed 004's 784-value image (an MNIST CNN), else null. */
export function takesImage(d: Deployment): boolean {
  const ins = (d.signature?.inputs ?? []).filter((i) => !(d.state ?? []).some((s) => s.input === i.name));
  if (ins.length !== 1) return false;
  const size = ins[0]!.shape.slice(1).reduce<number>((n, v) => n * (typeof v === 'number' ? v : NaN), 1);
  return size === 784 && (d.state ?? []).length === 0;
}

/** A streaming deployment that reads an image row by row: state bindings and a 28-value chunk input. */
export function streamsRows(d: Deployment): boolean {
  if (!d.state?.length) return false;
  const chunk = (d.signature?.inputs ?? []).find((i) => !d.state!.some((s) => s.input === i.name));
  return chunk !== undefined && chunk.shape[chunk.shape.length - 1] === 28;
}
