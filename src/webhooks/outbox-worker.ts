/**
 * Sends the webhook outbox's deliveries (store/webhook-outbox-store.ts): claims due ones with a
 * lease, POSTs each, records the attempt in the task's event log (a `webhook` event) and
 * settles it in the store: done, failed, or pending again after a backoff. Every process over
 * the store runs one; the lease keeps two from sending one delivery at once, and a delivery
 * whose sender died mid-attempt is sent again once its lease lapses (at least once).
 *
 * Wake-ups: a local enqueue, a settled delivery (the task's next one is due), a local retry's
 * timer, and a poll (deliveries other processes left, or a restart's backlog).
 */
import { createHmac, randomUUID } from 'node:crypto';
import { request } from 'undici';
import type { ArtifactStore } from '../artifacts/artifact-store.ts';
import type { WebhooksConfig } from '../config/schema.ts';
import { isRetryableResponse, webhookBackoff, webhookBody } from '../domain/webhook.ts';
import { artifactUrl } from '../engine/artifact-ingest.ts';
import type { EventWriter } from '../engine/event-writer.ts';
import { outboundAgent, redactUrl } from '../net/url-policy.ts';
import type { WebhookDelivery, WebhookOutboxStore } from '../store/webhook-outbox-store.ts';
import { COMPLETED_KEEP_MS } from './missed-completions.ts';

/** How often the store is asked for due deliveries nobody here woke the worker for. */
export const WEBHOOK_POLL_MS = 1000;

/** Settled deliveries are kept this long (to look at in the database), then deleted; `completed` ones longer (missed-completions.ts). */
export const WEBHOOK_KEEP_MS = 60 * 60_000;

/** A delivery is held this long: an attempt (timeout_ms) plus building the body and settling it. */
export const webhookLeaseMs = (config: Readonly<WebhooksConfig>): number => 2 * config.timeout_ms + 5000;

export interface OutboxWorkerDeps {
  config: Readonly<WebhooksConfig>;
  outbox: WebhookOutboxStore;
  writer: EventWriter;
  artifacts?: ArtifactStore;
  now: () => number;
  onError?: (err: unknown, context: string) => void;
}

export class WebhookOutboxWorker {
  /** This process's claims; a claim that lapsed and went to another worker cannot be settled from here. */
  private readonly owner = `whw_${randomUUID()}`;
  private readonly agent;
  private inFlight = 0;
  private pumping = false;
  private again = false;
  private closed = false;
  private readonly poll: NodeJS.Timeout;
  private readonly retryTimers = new Set<NodeJS.Timeout>();

  constructor(private readonly deps: OutboxWorkerDeps) {
    this.agent = outboundAgent(deps.config.allow_private, deps.config.timeout_ms);
    let polls = 0;
    this.poll = setInterval(() => {
      if (++polls % 60 === 0) this.prune();
      this.wake();
    }, WEBHOOK_POLL_MS);
    this.poll.unref();
    this.wake();
  }

  wake(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    void this.pump();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.poll);
    for (const t of this.retryTimers) clearTimeout(t);
    // destroy, not close: a receiver that hangs must not hold the server's shutdown. Its
    // delivery stays claimed until the lease lapses, then is sent again.
    await this.agent.destroy().catch(() => {});
  }

  private prune(): void {
    const now = this.deps.now();
    this.deps.outbox.pruneWebhooks(now - WEBHOOK_KEEP_MS, now - COMPLETED_KEEP_MS).catch((err: unknown) => this.deps.onError?.(err, 'webhook outbox'));
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      do {
        this.again = false;
        const room = this.deps.config.concurrency - this.inFlight;
        if (room <= 0) break;
        const claimed = await this.deps.outbox.claimWebhooks(this.owner, room, this.deps.now(), webhookLeaseMs(this.deps.config));
        if (this.closed) return;
        for (const d of claimed) {
          this.inFlight++;
          void this.attempt(d).finally(() => {
            this.inFlight--;
            this.wake();
          });
        }
        if (claimed.length === room) this.again = true;
      } while (this.again && !this.closed);
    } catch (err) {
      this.deps.onError?.(err, 'webhook outbox'); // the poll tries again
    } finally {
      this.pumping = false;
    }
  }

  private async attempt(d: WebhookDelivery): Promise<void> {
    const { config, now } = this.deps;
    const attempt = d.attempt + 1;
    const started = now();
    let status: number | null = null;
    let error: string | undefined;
    let body = d.body;
    try {
      body ??= await this.bodyOf(d);
      const secret = d.secret ?? config.secret;
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'lakeray-webhooks',
        'x-lakeray-event': d.event,
        'x-lakeray-delivery': d.id,
        'x-lakeray-attempt': String(attempt),
      };
      if (secret) headers['x-lakeray-signature'] = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
      const res = await request(d.url, {
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
      error = (err as { message?: string }).message ?? String(err);
      const code = (err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code;
      if (code && !error.includes(code)) error = `${code}: ${error}`;
    }
    if (this.closed) return;
    const ok = status !== null && status >= 200 && status < 300;
    const retry = !ok && isRetryableResponse(status) && attempt < config.max_attempts;
    const delay = retry ? webhookBackoff(attempt, config.backoff_ms, config.max_backoff_ms) : 0;
    try {
      // Retries send the same bytes (the same signature): the body is kept with the delivery.
      const settled = await this.deps.outbox.settleWebhook(d.id, this.owner, { state: ok ? 'done' : retry ? 'pending' : 'failed', attempt, body, next_at: now() + delay });
      if (!settled) return; // the lease lapsed and another worker has it: its attempt is the one logged
    } catch (err) {
      this.deps.onError?.(err, 'webhook outbox'); // unsettled: sent again once the lease lapses
      return;
    }
    this.deps.writer.push({
      task_id: d.task_id,
      tenant: d.tenant,
      type: 'webhook',
      ts: now(),
      data: {
        delivery: d.id,
        event: d.event,
        url: redactUrl(d.url),
        attempt,
        outcome: ok ? 'delivered' : retry ? 'retrying' : 'failed',
        ...(status === null ? {} : { status }),
        ...(error === undefined ? {} : { error }),
        duration_ms: now() - started,
        ...(retry ? { next_attempt_in_ms: delay } : {}),
      },
    });
    if (retry) this.retryIn(delay);
  }

  /** The body of a first attempt; a completed delivery lists the task's artifacts as they are then. */
  private async bodyOf(d: WebhookDelivery): Promise<string> {
    let data = d.data;
    if (d.event === 'completed') {
      const artifacts = (await this.deps.artifacts?.list(d.task_id).catch(() => [])) ?? [];
      data = { ...data, artifacts: artifacts.map((a) => ({ ...a, created_at: new Date(a.created_at).toISOString(), url: artifactUrl(d.task_id, a.name) })) };
    }
    return JSON.stringify(webhookBody(d.id, d.event, d.task, data, this.deps.now()));
  }

  /** Wakes the worker when a local retry is due (one timer per delivery in backoff). */
  private retryIn(delay: number): void {
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.wake();
    }, delay);
    timer.unref();
    this.retryTimers.add(timer);
  }
}
