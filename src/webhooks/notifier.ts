/**
 * Webhook deliveries: `start`, `progress` and `completed` of every task that has a `webhook`,
 * as signed JSON POSTs, retried with exponential backoff, each attempt recorded in the task's
 * event log as a `webhook` event (GET /api/v1/tasks/{id}/webhooks reads them back).
 *
 * Where the triggers come from: state changes are seen on the store's transition results
 * (TransitionTap below, with the full task in hand: no extra read per task); progress comes
 * from the event bus, for tasks whose start was seen. Nothing here runs on the dispatcher's
 * path: a transition only enqueues.
 *
 * Mode machine of one task's deliveries (in order, one at a time):
 *   idle ─enqueue─▶ waiting for a slot (at most `concurrency` POSTs in flight, all tasks)
 *        ─▶ sending ─2xx─▶ next ─▶ idle
 *                    ─retryable (network, 408, 429, 5xx), attempts left─▶ backoff timer ─▶ waiting…
 *                    ─otherwise─▶ given up ─▶ next
 * A progress delivery still waiting is replaced by a newer one (the receiver wants the
 * latest), and at most one is enqueued per `progress_interval_ms` (a trailing timer sends the
 * newest when the interval ends). `completed` drops a pending progress delivery.
 *
 * Signature: X-Lakeray-Signature: sha256=<hex HMAC-SHA256 of the raw body> with the task's
 * secret, else webhooks.secret; no header when neither is set. Pending deliveries live in
 * memory: a server restart loses retries still waiting (the log shows the last attempt).
 */
import { createHmac, randomUUID } from 'node:crypto';
import { request } from 'undici';
import type { WebhooksConfig } from '../config/schema.ts';
import type { TaskEvent } from '../domain/events.ts';
import type { Task, WebhookEvent } from '../domain/task.ts';
import { isRetryableResponse, wantsEvent, webhookBackoff, webhookBody, webhookEventOf, webhookTask } from '../domain/webhook.ts';
import type { ArtifactStore } from '../artifacts/artifact-store.ts';
import type { EventBus } from '../events/event-bus.ts';
import { artifactUrl } from '../engine/artifact-ingest.ts';
import type { EventWriter } from '../engine/event-writer.ts';
import { outboundAgent, redactUrl } from '../net/url-policy.ts';

interface Delivery {
  id: string;
  event: WebhookEvent;
  /** Built when it is first sent (a completed delivery lists the artifacts then). */
  body: () => Promise<string>;
  attempt: number;
}

interface TaskQueue {
  task: Task;
  pending: Delivery[];
  state: 'idle' | 'waiting' | 'sending' | 'backoff';
  /** Running: progress deliveries are allowed. */
  active: boolean;
  lastProgressAt: number;
  progressTimer: NodeJS.Timeout | null;
  latestProgress: Record<string, unknown> | null;
  backoffTimer: NodeJS.Timeout | null;
}

export interface WebhookDeps {
  config: Readonly<WebhooksConfig>;
  writer: EventWriter;
  bus: EventBus;
  artifacts?: ArtifactStore;
  now?: () => number;
  onError?: (err: unknown, context: string) => void;
}

export class WebhookNotifier {
  private readonly queues = new Map<string, TaskQueue>();
  private readonly ready: TaskQueue[] = [];
  private inFlight = 0;
  private closed = false;
  private readonly agent;
  private readonly now: () => number;
  /** Running tasks whose webhook wants progress; the bus is watched only while there are some. */
  private readonly progressWanted = new Set<string>();
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly deps: WebhookDeps) {
    this.now = deps.now ?? Date.now;
    this.agent = outboundAgent(deps.config.allow_private, deps.config.timeout_ms);
  }

  /** Transition results (any may be null: a lost compare-and-set). */
  observe(results: readonly ({ task: Task } | null)[]): void {
    if (this.closed) return;
    for (const r of results) {
      const task = r?.task;
      if (!task || task.webhook === null) continue;
      const event = webhookEventOf(task.status);
      const q = this.queues.get(task.id);
      if (q) q.task = task;
      if (event === null) {
        if (q) this.deactivate(q); // a retry went back to the queue: no progress until it starts again
        continue;
      }
      const queue = q ?? this.queueOf(task);
      if (event === 'start') {
        queue.active = true;
        queue.lastProgressAt = 0;
        if (wantsEvent(task, 'progress')) this.wantProgress(task.id);
      } else {
        this.deactivate(queue);
        queue.pending = queue.pending.filter((d) => d.event !== 'progress');
      }
      if (wantsEvent(task, event)) this.enqueue(queue, event, event === 'start' ? { attempt: task.attempt } : null);
      else this.forgetIfDone(queue);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    for (const q of this.queues.values()) {
      if (q.progressTimer) clearTimeout(q.progressTimer);
      if (q.backoffTimer) clearTimeout(q.backoffTimer);
    }
    this.queues.clear();
    // destroy, not close: a receiver that hangs must not hold the server's shutdown.
    await this.agent.destroy().catch(() => {});
  }

  private onEvents(batch: readonly TaskEvent[]): void {
    for (const ev of batch) {
      if (ev.type !== 'progress') continue;
      const q = this.queues.get(ev.task_id);
      if (!q?.active || !wantsEvent(q.task, 'progress')) continue;
      q.latestProgress = ev.data;
      const wait = q.lastProgressAt + this.deps.config.progress_interval_ms - this.now();
      if (wait <= 0) this.flushProgress(q);
      else if (!q.progressTimer) {
        q.progressTimer = setTimeout(() => {
          q.progressTimer = null;
          if (q.active) this.flushProgress(q);
        }, wait);
        q.progressTimer.unref();
      }
    }
  }

  private flushProgress(q: TaskQueue): void {
    const data = q.latestProgress;
    if (data === null) return;
    q.latestProgress = null;
    q.lastProgressAt = this.now();
    q.task = { ...q.task, progress: data as unknown as Task['progress'] };
    const waiting = q.pending.find((d, i) => d.event === 'progress' && (i > 0 || q.state === 'waiting' || q.state === 'idle'));
    const body = this.bodyOf(q, 'progress', data);
    if (waiting) waiting.body = body(waiting.id);
    else this.enqueue(q, 'progress', data);
  }

  private queueOf(task: Task): TaskQueue {
    const q: TaskQueue = { task, pending: [], state: 'idle', active: false, lastProgressAt: 0, progressTimer: null, latestProgress: null, backoffTimer: null };
    this.queues.set(task.id, q);
    return q;
  }

  private wantProgress(id: string): void {
    this.progressWanted.add(id);
    this.unsubscribe ??= this.deps.bus.subscribe({}, (batch) => this.onEvents(batch));
  }

  private deactivate(q: TaskQueue): void {
    this.progressWanted.delete(q.task.id);
    if (this.progressWanted.size === 0 && this.unsubscribe) {
      this.unsubscribe();
      this.unsubscribe = null;
    }
    q.active = false;
    q.latestProgress = null;
    if (q.progressTimer) clearTimeout(q.progressTimer);
    q.progressTimer = null;
  }

  private bodyOf(q: TaskQueue, event: WebhookEvent, data: Record<string, unknown> | null): (id: string) => Delivery['body'] {
    const task = q.task;
    return (id) => async () => {
      let payload = data ?? {};
      if (event === 'completed') {
        const artifacts = (await this.deps.artifacts?.list(task.id).catch(() => [])) ?? [];
        payload = {
          status: task.status,
          result: task.result ?? null,
          error: task.error,
          artifacts: artifacts.map((a) => ({ ...a, created_at: new Date(a.created_at).toISOString(), url: artifactUrl(task.id, a.name) })),
        };
      }
      return JSON.stringify(webhookBody(id, event, webhookTask(task), payload, this.now()));
    };
  }

  private enqueue(q: TaskQueue, event: WebhookEvent, data: Record<string, unknown> | null): void {
    const id = `wh_${randomUUID()}`;
    q.pending.push({ id, event, body: this.bodyOf(q, event, data)(id), attempt: 0 });
    if (q.state === 'idle') this.schedule(q);
  }

  private schedule(q: TaskQueue): void {
    q.state = 'waiting';
    this.ready.push(q);
    this.pump();
  }

  private pump(): void {
    while (!this.closed && this.inFlight < this.deps.config.concurrency && this.ready.length > 0) {
      const q = this.ready.shift() as TaskQueue;
      const d = q.pending[0];
      if (!d) {
        q.state = 'idle';
        this.forgetIfDone(q);
        continue;
      }
      q.state = 'sending';
      this.inFlight++;
      void this.attempt(q, d).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async attempt(q: TaskQueue, d: Delivery): Promise<void> {
    const { config } = this.deps;
    const url = q.task.webhook as string;
    d.attempt++;
    const started = this.now();
    let status: number | null = null;
    let error: string | undefined;
    try {
      const body = await d.body();
      d.body = async () => body; // retries send the same bytes (same signature)
      const secret = q.task.webhook_options?.secret ?? config.secret;
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'lakeray-webhooks',
        'x-lakeray-event': d.event,
        'x-lakeray-delivery': d.id,
        'x-lakeray-attempt': String(d.attempt),
      };
      if (secret) headers['x-lakeray-signature'] = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
      const res = await request(url, {
        method: 'POST',
        body,
        headers,
        dispatcher: this.agent,
        headersTimeout: config.timeout_ms,
        bodyTimeout: config.timeout_ms,
        signal: AbortSignal.timeout(config.timeout_ms),
      });
      status = res.statusCode;
      await res.body.dump().catch(() => {});
    } catch (err) {
      error = (err as { code?: string; message?: string }).message ?? String(err);
      const code = (err as { code?: string; cause?: { code?: string } }).code ?? (err as { cause?: { code?: string } }).cause?.code;
      if (code && !error.includes(code)) error = `${code}: ${error}`;
    }
    if (this.closed) return;
    const ok = status !== null && status >= 200 && status < 300;
    const retry = !ok && isRetryableResponse(status) && d.attempt < config.max_attempts;
    const delay = retry ? webhookBackoff(d.attempt, config.backoff_ms, config.max_backoff_ms) : 0;
    this.log(q.task, {
      delivery: d.id,
      event: d.event,
      url: redactUrl(url),
      attempt: d.attempt,
      outcome: ok ? 'delivered' : retry ? 'retrying' : 'failed',
      ...(status === null ? {} : { status }),
      ...(error === undefined ? {} : { error }),
      duration_ms: this.now() - started,
      ...(retry ? { next_attempt_in_ms: delay } : {}),
    });
    if (retry) {
      q.state = 'backoff';
      q.backoffTimer = setTimeout(() => {
        q.backoffTimer = null;
        if (!this.closed) this.schedule(q);
      }, delay);
      q.backoffTimer.unref();
      return;
    }
    q.pending.shift();
    if (q.pending.length > 0) this.schedule(q);
    else {
      q.state = 'idle';
      this.forgetIfDone(q);
    }
  }

  /** A finished task with nothing left to send is forgotten. */
  private forgetIfDone(q: TaskQueue): void {
    if (q.state === 'idle' && q.pending.length === 0 && !q.active && webhookEventOf(q.task.status) === 'completed') this.queues.delete(q.task.id);
  }

  private log(task: Task, data: Record<string, unknown>): void {
    this.deps.writer.push({ task_id: task.id, tenant: task.tenant, type: 'webhook', ts: this.now(), data });
  }
}
