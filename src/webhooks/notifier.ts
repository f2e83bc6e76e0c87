/**
 * Webhook deliveries: `start`, `progress` and `completed` of every task that has a `webhook`,
 * as signed JSON POSTs, retried with exponential backoff, each attempt recorded in the task's
 * event log as a `webhook` event (GET /api/v1/tasks/{id}/webhooks reads them back).
 *
 * This side decides WHAT is delivered and writes it to the store's outbox
 * (store/webhook-outbox-store.ts); webhooks/outbox-worker.ts sends it, from this process or any
 * other over the same store, also after a restart.
 *
 * Where the triggers come from: state changes are seen on the store's transition results
 * (TransitionTap, with the full task in hand: no extra read per task), in the process that made
 * the transition; progress comes from the event bus, for tasks whose start was seen here.
 * Nothing here runs on the dispatcher's path: a transition only enqueues.
 *
 * Progress: the receiver wants the latest. A progress delivery not yet attempted is replaced by
 * a newer one, and at most one is written per `progress_interval_ms` (a trailing timer writes
 * the newest when the interval ends; the timer is this process's: a crash loses at most that
 * one, the next progress or `completed` follows). `completed` drops unsent progress deliveries.
 * A task's deliveries go one at a time, in order.
 *
 * Signature: X-Lakeray-Signature: sha256=<hex HMAC-SHA256 of the raw body> with the task's
 * secret, else webhooks.secret; no header when neither is set.
 */
import { randomUUID } from 'node:crypto';
import type { WebhooksConfig } from '../config/schema.ts';
import type { TaskEvent } from '../domain/events.ts';
import type { Task, WebhookEvent } from '../domain/task.ts';
import { wantsEvent, webhookEventOf, webhookTask } from '../domain/webhook.ts';
import type { ArtifactStore } from '../artifacts/artifact-store.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { EventWriter } from '../engine/event-writer.ts';
import type { WebhookOutboxStore } from '../store/webhook-outbox-store.ts';
import { MissedCompletionSweep } from './missed-completions.ts';
import { WebhookOutboxWorker } from './outbox-worker.ts';

/** A running task whose progress may be delivered. */
interface Watch {
  task: Task;
  lastProgressAt: number;
  progressTimer: NodeJS.Timeout | null;
  latestProgress: Record<string, unknown> | null;
}

export interface WebhookDeps {
  config: Readonly<WebhooksConfig>;
  outbox: WebhookOutboxStore;
  writer: EventWriter;
  bus: EventBus;
  artifacts?: ArtifactStore;
  now?: () => number;
  onError?: (err: unknown, context: string) => void;
}

export class WebhookNotifier {
  /** Running tasks whose webhook wants progress; the bus is watched only while there are some. */
  private readonly watches = new Map<string, Watch>();
  /** Per task, its outbox writes in the order they were decided (a pool may reorder concurrent queries). */
  private readonly writes = new Map<string, Promise<void>>();
  private closed = false;
  private readonly now: () => number;
  private unsubscribe: (() => void) | null = null;
  private readonly worker: WebhookOutboxWorker;
  private readonly sweep: MissedCompletionSweep;

  constructor(private readonly deps: WebhookDeps) {
    this.now = deps.now ?? Date.now;
    this.worker = new WebhookOutboxWorker({ config: deps.config, outbox: deps.outbox, writer: deps.writer, artifacts: deps.artifacts, now: this.now, onError: deps.onError });
    this.sweep = new MissedCompletionSweep({ outbox: deps.outbox, enqueue: (task) => this.writeMissedCompletion(task), now: this.now, onError: deps.onError });
  }

  /** Transition results (any may be null: a lost compare-and-set). */
  observe(results: readonly ({ task: Task } | null)[]): void {
    if (this.closed) return;
    for (const r of results) {
      const task = r?.task;
      if (!task || task.webhook === null) continue;
      const event = webhookEventOf(task.status);
      const watch = this.watches.get(task.id);
      if (watch) watch.task = task;
      if (event === null) {
        if (watch) this.unwatch(watch); // a retry went back to the queue: no progress until it starts again
        continue;
      }
      if (event === 'start') {
        if (wantsEvent(task, 'progress')) this.watch(task);
        if (wantsEvent(task, event)) this.enqueue(task, event, this.dataOf(task, event));
      } else {
        if (watch) this.unwatch(watch);
        this.write(task.id, () => this.completed(task));
      }
    }
  }

  /** Unsent progress is dropped; then the task's one `completed` delivery, if its webhook wants it. */
  private async completed(task: Task): Promise<void> {
    await this.deps.outbox.dropWebhookProgress(task.id, this.now());
    if (wantsEvent(task, 'completed')) await this.insert(task, 'completed', this.dataOf(task, 'completed'));
  }

  /** The sweep found an ended task whose `completed` was never written (missed-completions.ts). */
  private async writeMissedCompletion(task: Task): Promise<void> {
    if (!wantsEvent(task, 'completed')) return;
    await this.completed(task);
    this.worker.wake();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.sweep.close();
    this.unsubscribe?.();
    this.unsubscribe = null;
    for (const w of this.watches.values()) if (w.progressTimer) clearTimeout(w.progressTimer);
    this.watches.clear();
    await Promise.allSettled([...this.writes.values()]);
    await this.worker.close();
  }

  private dataOf(task: Task, event: WebhookEvent): Record<string, unknown> {
    if (event === 'start') return { attempt: task.attempt };
    if (event === 'completed') return { status: task.status, result: task.result ?? null, error: task.error };
    return (task.progress ?? {}) as unknown as Record<string, unknown>;
  }

  private onEvents(batch: readonly TaskEvent[]): void {
    for (const ev of batch) {
      if (ev.type !== 'progress') continue;
      const w = this.watches.get(ev.task_id);
      if (!w) continue;
      w.latestProgress = ev.data;
      const wait = w.lastProgressAt + this.deps.config.progress_interval_ms - this.now();
      if (wait <= 0) this.flushProgress(w);
      else if (!w.progressTimer) {
        w.progressTimer = setTimeout(() => {
          w.progressTimer = null;
          if (this.watches.get(w.task.id) === w) this.flushProgress(w);
        }, wait);
        w.progressTimer.unref();
      }
    }
  }

  private flushProgress(w: Watch): void {
    const data = w.latestProgress;
    if (data === null) return;
    w.latestProgress = null;
    w.lastProgressAt = this.now();
    const task = { ...w.task, progress: data as unknown as Task['progress'] };
    w.task = task;
    const now = this.now();
    this.write(task.id, async () => {
      if (!(await this.deps.outbox.replaceWebhookProgress(task.id, webhookTask(task), data, now))) await this.insert(task, 'progress', data);
    });
  }

  private watch(task: Task): void {
    this.watches.set(task.id, { task, lastProgressAt: 0, progressTimer: null, latestProgress: null });
    this.unsubscribe ??= this.deps.bus.subscribe({}, (batch) => this.onEvents(batch));
  }

  private unwatch(w: Watch): void {
    if (w.progressTimer) clearTimeout(w.progressTimer);
    this.watches.delete(w.task.id);
    if (this.watches.size === 0 && this.unsubscribe) {
      this.unsubscribe();
      this.unsubscribe = null;
    }
  }

  private enqueue(task: Task, event: WebhookEvent, data: Record<string, unknown>): void {
    this.write(task.id, () => this.insert(task, event, data));
  }

  private async insert(task: Task, event: WebhookEvent, data: Record<string, unknown>): Promise<void> {
    await this.deps.outbox.enqueueWebhook({
      id: `wh_${randomUUID()}`,
      task_id: task.id,
      tenant: task.tenant,
      event,
      url: task.webhook as string,
      secret: task.webhook_options?.secret ?? null,
      task: webhookTask(task),
      data,
      created_at: this.now(),
    });
  }

  /** Chains `op` after the task's earlier outbox writes, then wakes the worker. */
  private write(taskId: string, op: () => Promise<void>): void {
    const next = (this.writes.get(taskId) ?? Promise.resolve())
      .then(op)
      .catch((err: unknown) => this.deps.onError?.(err, 'webhook outbox'))
      .then(() => {
        if (this.writes.get(taskId) === next) this.writes.delete(taskId);
        this.worker.wake();
      });
    this.writes.set(taskId, next);
  }
}
