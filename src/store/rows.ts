/**
 * Row ↔ domain mapping shared by the SQLite and PostgreSQL stores (the same columns in both).
 * JSON-typed Task fields are stored as JSON text; SQL NULL stands for a null (or absent) value,
 * so `result: undefined` reads back as null.
 */
import type { EventType, TaskEvent } from '../domain/events.ts';
import type { Task, TaskStatus } from '../domain/task.ts';

/** A `tasks` row as better-sqlite3 returns it. */
export interface TaskRow {
  id: string;
  tenant: string;
  name: string;
  script: string;
  input: string | null;
  output: string | null;
  params: string;
  executor: string;
  pool: string | null;
  resources: string;
  priority: number;
  timeout_s: number | null;
  retry: string;
  webhook: string | null;
  labels: string;
  status: TaskStatus;
  attempt: number;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
  not_before: number | null;
  progress: string | null;
  result: string | null;
  error: string | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
  assignment: string | null;
  idempotency_key: string | null;
  body_hash: string | null;
  last_seq: number;
  cancel_reason: string | null;
  /** JSON ServiceSpec, NULL for a normal task (migration 002). */
  service: string | null;
  /** JSON WebhookOptions, NULL for none (migration 003). */
  webhook_options: string | null;
}

/** An `events` row joined with its task's tenant. */
export interface EventRow {
  task_id: string;
  tenant: string;
  seq: number;
  type: EventType;
  ts: number;
  data: string;
}

const toJson = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));
const fromJson = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));

export const rowToTask = (r: TaskRow): Task => taskFromParts(fixedFromRow(r), r);

/** The never-changing columns of a row, decoded. */
const fixedFromRow = (r: TaskRow): FixedPart => ({
  id: r.id,
  tenant: r.tenant,
  name: r.name,
  script: r.script,
  input: r.input,
  output: r.output,
  params: JSON.parse(r.params) as Task['params'],
  executor: r.executor,
  pool: r.pool,
  resources: JSON.parse(r.resources) as Task['resources'],
  priority: r.priority,
  timeout_s: r.timeout_s,
  retry: JSON.parse(r.retry) as Task['retry'],
  webhook: r.webhook,
  labels: JSON.parse(r.labels) as Task['labels'],
  created_at: r.created_at,
  idempotency_key: r.idempotency_key,
  service: fromJson<Task['service']>(r.service),
  webhook_options: fromJson<Task['webhook_options']>(r.webhook_options),
});

/** Named parameters for the insert statement (every column). */
export const taskToParams = (t: Task, bodyHash: string | null): TaskRow => ({
  id: t.id,
  tenant: t.tenant,
  name: t.name,
  script: t.script,
  input: t.input,
  output: t.output,
  params: JSON.stringify(t.params),
  executor: t.executor,
  pool: t.pool,
  resources: JSON.stringify(t.resources),
  priority: t.priority,
  timeout_s: t.timeout_s,
  retry: JSON.stringify(t.retry),
  webhook: t.webhook,
  labels: JSON.stringify(t.labels),
  status: t.status,
  attempt: t.attempt,
  created_at: t.created_at,
  updated_at: t.updated_at,
  started_at: t.started_at,
  finished_at: t.finished_at,
  not_before: t.not_before,
  progress: toJson(t.progress),
  result: toJson(t.result),
  error: toJson(t.error),
  lease_owner: t.lease_owner,
  lease_expires_at: t.lease_expires_at,
  assignment: toJson(t.assignment),
  idempotency_key: t.idempotency_key,
  body_hash: bodyHash,
  last_seq: t.last_seq,
  cancel_reason: t.cancel_reason,
  service: toJson(t.service),
  webhook_options: toJson(t.webhook_options),
});

export const rowToEvent = (r: EventRow): TaskEvent => ({
  task_id: r.task_id,
  tenant: r.tenant,
  seq: r.seq,
  type: r.type,
  ts: r.ts,
  data: JSON.parse(r.data) as Record<string, unknown>,
});

/** Columns a transition may change; the rest of a task never changes after insert. */
export const MUTABLE_COLUMNS = [
  'status', 'attempt', 'updated_at', 'started_at', 'finished_at', 'not_before', 'progress', 'result', 'error',
  'lease_owner', 'lease_expires_at', 'assignment', 'last_seq', 'cancel_reason',
] as const;

type MutableKey = (typeof MUTABLE_COLUMNS)[number];
export type MutableRow = Pick<TaskRow, MutableKey>;
export type FixedPart = Omit<Task, MutableKey>;

/** The mutable columns of a row (a copy: the caller's row may carry more). */
export const mutableOf = (r: MutableRow): MutableRow => ({
  status: r.status,
  attempt: r.attempt,
  updated_at: r.updated_at,
  started_at: r.started_at,
  finished_at: r.finished_at,
  not_before: r.not_before,
  progress: r.progress,
  result: r.result,
  error: r.error,
  lease_owner: r.lease_owner,
  lease_expires_at: r.lease_expires_at,
  assignment: r.assignment,
  last_seq: r.last_seq,
  cancel_reason: r.cancel_reason,
});

/** The part of a task that never changes, shared by every later read of it. (Literals, not spreads: hot path.) */
export const fixedPart = (t: Task): FixedPart => ({
  id: t.id,
  tenant: t.tenant,
  name: t.name,
  script: t.script,
  input: t.input,
  output: t.output,
  params: t.params,
  executor: t.executor,
  pool: t.pool,
  resources: t.resources,
  priority: t.priority,
  timeout_s: t.timeout_s,
  retry: t.retry,
  webhook: t.webhook,
  webhook_options: t.webhook_options,
  labels: t.labels,
  created_at: t.created_at,
  idempotency_key: t.idempotency_key,
  service: t.service,
});

export const taskFromParts = (f: FixedPart, r: MutableRow): Task => ({
  id: f.id,
  tenant: f.tenant,
  name: f.name,
  script: f.script,
  input: f.input,
  output: f.output,
  params: f.params,
  executor: f.executor,
  pool: f.pool,
  resources: f.resources,
  priority: f.priority,
  timeout_s: f.timeout_s,
  retry: f.retry,
  webhook: f.webhook,
  webhook_options: f.webhook_options,
  labels: f.labels,
  service: f.service,
  status: r.status,
  attempt: r.attempt,
  created_at: f.created_at,
  updated_at: r.updated_at,
  started_at: r.started_at,
  finished_at: r.finished_at,
  not_before: r.not_before,
  progress: fromJson<Task['progress']>(r.progress),
  result: fromJson<unknown>(r.result),
  error: fromJson<Task['error']>(r.error),
  lease_owner: r.lease_owner,
  lease_expires_at: r.lease_expires_at,
  assignment: fromJson<Task['assignment']>(r.assignment),
  idempotency_key: f.idempotency_key,
  last_seq: r.last_seq,
  cancel_reason: r.cancel_reason,
});
