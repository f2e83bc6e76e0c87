/** The webhook outbox of the SQLite store (store/webhook-outbox-store.ts). */
import type Database from 'better-sqlite3';
import type { Task } from '../../domain/task.ts';
import { rowToTask, type TaskRow } from '../rows.ts';
import type { FinishedCursor, NewWebhookDelivery, WebhookDelivery, WebhookOutboxStore, WebhookSettlement } from '../webhook-outbox-store.ts';

interface Row extends Omit<WebhookDelivery, 'task' | 'data'> {
  task: string;
  data: string;
}

const COLUMNS = 'id, task_id, tenant, event, url, secret, task, data, body, attempt, state, next_at, created_at';
const UNTOUCHED_PROGRESS = "task_id = @task_id AND event = 'progress' AND state = 'pending' AND attempt = 0 AND (lease_until IS NULL OR lease_until <= @now)";

const deliveryOf = (r: Row): WebhookDelivery => ({ ...r, task: JSON.parse(r.task) as WebhookDelivery['task'], data: JSON.parse(r.data) as Record<string, unknown> });

export class SqliteWebhookOutbox implements WebhookOutboxStore {
  private readonly q;
  private readonly claim: Database.Transaction<(owner: string, limit: number, now: number, leaseMs: number) => Row[]>;

  constructor(db: Database.Database) {
    this.q = {
      insert: db.prepare(
        `INSERT INTO webhook_deliveries (id, task_id, tenant, event, url, secret, task, data, next_at, created_at, updated_at)
         VALUES (@id, @task_id, @tenant, @event, @url, @secret, @task, @data, @created_at, @created_at, @created_at)
         ON CONFLICT DO NOTHING`,
      ),
      replace: db.prepare(`UPDATE webhook_deliveries SET task = @task, data = @data, updated_at = @now WHERE ${UNTOUCHED_PROGRESS}`),
      drop: db.prepare(`DELETE FROM webhook_deliveries WHERE ${UNTOUCHED_PROGRESS}`),
      due: db.prepare<{ now: number; limit: number }, Row>(
        `SELECT ${COLUMNS} FROM webhook_deliveries d
         WHERE d.state = 'pending' AND d.next_at <= @now AND (d.lease_until IS NULL OR d.lease_until <= @now)
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.task_id = d.task_id AND e.state = 'pending' AND e.seq < d.seq)
         ORDER BY d.next_at, d.seq LIMIT @limit`,
      ),
      missed: db.prepare<{ after_at: number; after_id: string; until: number; limit: number }, TaskRow>(
        // The row comparison walks the partial index tasks_webhook_finished; the unique index on
        // completed deliveries answers the NOT EXISTS.
        `SELECT t.* FROM tasks t
         WHERE t.webhook IS NOT NULL AND t.finished_at IS NOT NULL
           AND (t.finished_at, t.id) > (@after_at, @after_id) AND t.finished_at <= @until
           AND t.status IN ('completed', 'failed', 'cancelled')
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.task_id = t.id AND d.event = 'completed')
         ORDER BY t.finished_at, t.id LIMIT @limit`,
      ),
      prune: db.prepare(
        "DELETE FROM webhook_deliveries WHERE state IN ('done', 'failed') AND updated_at < (CASE event WHEN 'completed' THEN @completed_before ELSE @before END)",
      ),
      lease: db.prepare('UPDATE webhook_deliveries SET lease_owner = @owner, lease_until = @until WHERE id = @id'),
      settle: db.prepare(
        `UPDATE webhook_deliveries SET state = @state, attempt = @attempt, body = @body, next_at = @next_at,
           lease_owner = NULL, lease_until = NULL, updated_at = @now
         WHERE id = @id AND lease_owner = @owner AND state = 'pending'`,
      ),
    };
    // Immediate: the select and the leases are one write transaction, so no other process claims in between.
    this.claim = db.transaction((owner, limit, now, leaseMs) => {
      const rows = this.q.due.all({ now, limit });
      for (const r of rows) this.q.lease.run({ owner, until: now + leaseMs, id: r.id });
      return rows;
    });
  }

  async enqueueWebhook(d: NewWebhookDelivery): Promise<boolean> {
    return this.q.insert.run({ ...d, task: JSON.stringify(d.task), data: JSON.stringify(d.data) }).changes === 1;
  }

  async missedCompletions(after: FinishedCursor, until: number, limit: number): Promise<Task[]> {
    return this.q.missed.all({ after_at: after.finished_at, after_id: after.id, until, limit }).map(rowToTask);
  }

  async replaceWebhookProgress(taskId: string, task: NewWebhookDelivery['task'], data: Record<string, unknown>, now: number): Promise<boolean> {
    return this.q.replace.run({ task_id: taskId, task: JSON.stringify(task), data: JSON.stringify(data), now }).changes > 0;
  }

  async dropWebhookProgress(taskId: string, now: number): Promise<number> {
    return this.q.drop.run({ task_id: taskId, now }).changes;
  }

  async claimWebhooks(owner: string, limit: number, now: number, leaseMs: number): Promise<WebhookDelivery[]> {
    return this.claim.immediate(owner, limit, now, leaseMs).map(deliveryOf);
  }

  async settleWebhook(id: string, owner: string, s: WebhookSettlement): Promise<boolean> {
    return this.q.settle.run({ id, owner, ...s, now: Date.now() }).changes === 1;
  }

  async pruneWebhooks(before: number, completedBefore: number): Promise<number> {
    return this.q.prune.run({ before, completed_before: completedBefore }).changes;
  }
}
