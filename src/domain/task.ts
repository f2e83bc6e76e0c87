/** The task model shared by every layer (DESIGN.md §3). Times are epoch milliseconds. */
import type { TaskError } from './errors.ts';
import type { Resources } from './resources.ts';
import type { ServiceSpec } from './service.ts';

export const TASK_STATUSES = ['pending', 'running', 'cancelling', 'completed', 'failed', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const TERMINAL: ReadonlySet<TaskStatus> = new Set(['completed', 'failed', 'cancelled']);
export const ACTIVE: ReadonlySet<TaskStatus> = new Set(['running', 'cancelling']);
export const isTerminal = (s: TaskStatus): boolean => TERMINAL.has(s);

export interface RetryPolicy {
  /** Total attempts including the first one. */
  max_attempts: number;
  backoff_ms: number;
  backoff_factor: number;
  max_backoff_ms: number;
}

/** What a user asks for. Defaults are filled in by the engine before it reaches the store. */
export interface TaskSpec {
  name: string;
  script: string;
  input: string | null;
  output: string | null;
  params: Record<string, unknown>;
  executor: string;
  /** Warm pool to run in; null picks the executor's default for the script's runtime. */
  pool: string | null;
  resources: Resources;
  priority: number;
  timeout_s: number | null;
  retry: RetryPolicy;
  /** URL that gets the task's webhook deliveries (webhooks/notifier.ts), or null. */
  webhook: string | null;
  /** Which webhook events to deliver and a per-task signing secret; null: all events, the configured secret. */
  webhook_options: WebhookOptions | null;
  tenant: string;
  labels: Record<string, string>;
  /** Set when the task is a long-running service (domain/service.ts); null for a normal task. */
  service: ServiceSpec | null;
}

export interface WebhookOptions {
  /** Events to deliver (null: all of WEBHOOK_EVENTS in domain/webhook.ts). */
  events: WebhookEvent[] | null;
  /** HMAC secret for this task's deliveries (null: the configured webhooks.secret). */
  secret: string | null;
}

export const WEBHOOK_EVENTS = ['start', 'progress', 'completed'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export interface Progress {
  fraction: number;
  message: string | null;
  step?: number;
  total?: number;
  eta_s?: number | null;
}

/**
 * Where a task's script runs, in its executor's own terms (a local process, a Ray job, a Ray
 * actor…): stored with the task so that a later server instance can find it again
 * (Executor.reattach). `kind` says which executor's terms.
 *   local cold: {kind: 'process', pid, worker: 'cold'}
 *   ray job:    {kind: 'ray-job', submission_id, address}
 *   ray actor:  {kind: 'ray-actor', pool, actor_id, node_id}
 */
export interface Placement {
  kind: string;
  [field: string]: unknown;
}

/** Where a running task was placed: the devices the engine gave it, and its executor's placement. */
export interface Assignment {
  gpus: string[];
  placement?: Placement;
  /** Rows written before placements (a cold run's pid and worker); still read by recovery. */
  pid?: number;
  worker?: string;
}

export interface Task extends TaskSpec {
  id: string;
  status: TaskStatus;
  /** Attempts started so far (1 while the first attempt runs). */
  attempt: number;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
  /** A queued task is not dispatched before this time (retry backoff). */
  not_before: number | null;
  progress: Progress | null;
  result: unknown;
  error: TaskError | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
  assignment: Assignment | null;
  idempotency_key: string | null;
  /** Sequence number of the last event in the task's log. */
  last_seq: number;
  /** Set when a cancel was asked for; the reason explains why (user, timeout). */
  cancel_reason: string | null;
}
