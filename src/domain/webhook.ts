/**
 * Webhook rules (pure): which task changes are delivered, which HTTP answers are retried, the
 * backoff, and the JSON body. The delivery machinery is webhooks/notifier.ts.
 *
 *   queued → running            start      (each attempt)
 *   progress event (running)    progress   (throttled; always the newest)
 *   → succeeded|failed|cancelled completed  (result or error)
 */
import { TERMINAL, type Task, type TaskStatus, WEBHOOK_EVENTS, type WebhookEvent } from './task.ts';

/** The delivery a transition into `status` causes, or null. */
export const webhookEventOf = (status: TaskStatus): WebhookEvent | null =>
  status === 'running' ? 'start' : TERMINAL.has(status) ? 'completed' : null;

/** True when the task's webhook wants `event` (all events unless its options name some). */
export const wantsEvent = (task: Pick<Task, 'webhook' | 'webhook_options'>, event: WebhookEvent): boolean =>
  task.webhook !== null && (task.webhook_options?.events ?? WEBHOOK_EVENTS).includes(event);

/** Network errors (null), timeouts, 408, 429 and 5xx are worth another attempt; other answers are final. */
export const isRetryableResponse = (status: number | null): boolean => status === null || status === 408 || status === 429 || status >= 500;

/** Delay before attempt `attempt + 1` (attempt ≥ 1): base · 2^(attempt-1), at most max. */
export const webhookBackoff = (attempt: number, baseMs: number, maxMs: number): number => Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The task as a webhook shows it (no params: they may hold what the receiver should not see). */
export const webhookTask = (t: Task): Record<string, unknown> & { id: string } => ({
  id: t.id,
  name: t.name,
  status: t.status,
  labels: t.labels,
  attempt: t.attempt,
  progress: t.progress,
  result: t.result ?? null,
  error: t.error ? { code: t.error.code, message: t.error.message, ...(t.error.step === undefined ? {} : { step: t.error.step }) } : null,
  created_at: iso(t.created_at),
  started_at: iso(t.started_at),
  finished_at: iso(t.finished_at),
});

/** The JSON body of one delivery; `data` is the event's own part (progress, artifacts…). */
export const webhookBody = (
  delivery: string,
  event: WebhookEvent,
  task: Record<string, unknown> & { id: unknown },
  data: Record<string, unknown>,
  now: number,
): Record<string, unknown> => ({ id: delivery, event, task_id: task.id, timestamp: new Date(now).toISOString(), task, data });
