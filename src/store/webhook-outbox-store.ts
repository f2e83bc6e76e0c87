/**
 * The durable webhook outbox (webhooks/notifier.ts enqueues, webhooks/outbox-worker.ts
 * delivers). Part of the task store's database, so deliveries survive the process and any
 * process over the same store may send them: a worker claims a delivery with a lease, and
 * only the claim's holder may settle it. Per task, deliveries go one at a time in the order
 * they were enqueued: only a task's oldest pending delivery can be claimed.
 */
import type { Task, WebhookEvent } from '../domain/task.ts';

export interface NewWebhookDelivery {
  /** `wh_<uuid>`, also the X-Lakeray-Delivery header and the body's `id`. */
  id: string;
  task_id: string;
  tenant: string;
  event: WebhookEvent;
  url: string;
  /** The task's own secret; null: webhooks.secret of the sending process applies. */
  secret: string | null;
  /** The task as the receiver sees it (domain/webhook.ts webhookTask), when the event happened. */
  task: Record<string, unknown> & { id: string };
  /** The event's own part of the body (completed: artifacts are added when first sent). */
  data: Record<string, unknown>;
  created_at: number;
}

export interface WebhookDelivery extends NewWebhookDelivery {
  /** The exact bytes of the first attempt (retries send them again); null before it. */
  body: string | null;
  /** Attempts made so far. */
  attempt: number;
  state: 'pending' | 'done' | 'failed';
  /** Epoch ms: not attempted before. */
  next_at: number;
}

export interface WebhookSettlement {
  state: 'pending' | 'done' | 'failed';
  attempt: number;
  body: string | null;
  /** For `pending`: when the next attempt is due. */
  next_at: number;
}

/** Where a scan for missed `completed` deliveries resumes: after this task, in (finished_at, id) order. */
export interface FinishedCursor {
  finished_at: number;
  id: string;
}

export interface WebhookOutboxStore {
  /**
   * Appends a pending delivery, due now. A task has at most one `completed` delivery: a second
   * one is ignored (false), so the notifier and the sweep for missed ones can both write it.
   */
  enqueueWebhook(d: NewWebhookDelivery): Promise<boolean>;
  /**
   * Terminal tasks with a webhook, finished after `after` and at or before `until`, that have
   * no `completed` delivery: the process that made the transition died (or lost the store)
   * before writing it. In (finished_at, id) order, at most `limit`.
   */
  missedCompletions(after: FinishedCursor, until: number, limit: number): Promise<Task[]>;
  /**
   * The receiver wants the latest progress: replaces task and data of the task's pending
   * `progress` delivery that was never attempted nor claimed. False when there is none.
   */
  replaceWebhookProgress(taskId: string, task: NewWebhookDelivery['task'], data: Record<string, unknown>, now: number): Promise<boolean>;
  /** `completed` came: drops the task's progress deliveries never attempted nor claimed. */
  dropWebhookProgress(taskId: string, now: number): Promise<number>;
  /**
   * Claims up to `limit` due deliveries (each its task's oldest pending one, unclaimed or with
   * a lapsed lease) for `owner` until now + leaseMs. Two concurrent claims never share a row.
   */
  claimWebhooks(owner: string, limit: number, now: number, leaseMs: number): Promise<WebhookDelivery[]>;
  /** Records an attempt's outcome and ends the lease; false (nothing written) unless `owner` holds it. */
  settleWebhook(id: string, owner: string, s: WebhookSettlement): Promise<boolean>;
  /**
   * Deletes done and failed deliveries settled before `before`, `completed` ones only when
   * settled before `completedBefore` (they tell the sweep for missed ones what was written).
   * The task's event log keeps their attempts.
   */
  pruneWebhooks(before: number, completedBefore: number): Promise<number>;
}
