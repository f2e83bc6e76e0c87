/** The webhook outbox of the PostgreSQL store (store/webhook-outbox-store.ts). */
import type { Task } from '../../domain/task.ts';
import { rowToTask, type TaskRow } from '../rows.ts';
import type { FinishedCursor, NewWebhookDelivery, WebhookDelivery, WebhookOutboxStore, WebhookSettlement } from '../webhook-outbox-store.ts';
import type { Connection } from './connection.ts';

interface Row extends Omit<WebhookDelivery, 'task' | 'data'> {
  task: string;
  data: string;
}

const COLUMNS = 'id, task_id, tenant, event, url, secret, task, data, body, attempt, state, next_at, created_at';
const UNTOUCHED_PROGRESS = "task_id = $1 AND event = 'progress' AND state = 'pending' AND attempt = 0 AND (lease_until IS NULL OR lease_until <= $2)";

const SQL = {
  /**
   * missedCompletions ($1, $2: the cursor; $3: until; $4: limit). The row comparison walks the
   * partial index tasks_webhook_finished; the unique index on completed deliveries answers the
   * NOT EXISTS.
   */
  missed: `SELECT t.* FROM tasks t
           WHERE t.webhook IS NOT NULL AND t.finished_at IS NOT NULL
             AND (t.finished_at, t.id) > ($1, $2) AND t.finished_at <= $3
             AND t.status IN ('completed', 'failed', 'cancelled')
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.task_id = t.id AND d.event = 'completed')
           ORDER BY t.finished_at, t.id LIMIT $4`,
  insert: `INSERT INTO webhook_deliveries (id, task_id, tenant, event, url, secret, task, data, next_at, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $9)
           ON CONFLICT DO NOTHING`,
  replace: `UPDATE webhook_deliveries SET task = $3, data = $4, updated_at = $2 WHERE ${UNTOUCHED_PROGRESS}`,
  drop: `DELETE FROM webhook_deliveries WHERE ${UNTOUCHED_PROGRESS}`,
  // SKIP LOCKED: a concurrent claim passes over the rows this one is taking instead of waiting.
  claim: `UPDATE webhook_deliveries SET lease_owner = $1, lease_until = $3::bigint + $4::bigint
          WHERE seq IN (
            SELECT d.seq FROM webhook_deliveries d
            WHERE d.state = 'pending' AND d.next_at <= $3 AND (d.lease_until IS NULL OR d.lease_until <= $3)
              AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.task_id = d.task_id AND e.state = 'pending' AND e.seq < d.seq)
            ORDER BY d.next_at, d.seq LIMIT $2
            FOR UPDATE SKIP LOCKED)
            AND state = 'pending' AND (lease_until IS NULL OR lease_until <= $3)
          RETURNING seq, ${COLUMNS}`,
  settle: `UPDATE webhook_deliveries SET state = $3, attempt = $4, body = $5, next_at = $6, lease_owner = NULL, lease_until = NULL, updated_at = $7
           WHERE id = $1 AND lease_owner = $2 AND state = 'pending'`,
  prune: "DELETE FROM webhook_deliveries WHERE state IN ('done', 'failed') AND updated_at < (CASE event WHEN 'completed' THEN $2::bigint ELSE $1::bigint END)",
} as const;

const deliveryOf = (r: Row): WebhookDelivery => ({ ...r, task: JSON.parse(r.task) as WebhookDelivery['task'], data: JSON.parse(r.data) as Record<string, unknown> });

export class PostgresWebhookOutbox implements WebhookOutboxStore {
  constructor(private readonly db: Connection) {}

  async enqueueWebhook(d: NewWebhookDelivery): Promise<boolean> {
    const values = [d.id, d.task_id, d.tenant, d.event, d.url, d.secret, JSON.stringify(d.task), JSON.stringify(d.data), d.created_at];
    return (await this.db.execute({ name: 'lakeray_webhook_insert', text: SQL.insert, values })).rowCount === 1;
  }

  async missedCompletions(after: FinishedCursor, until: number, limit: number): Promise<Task[]> {
    const values = [after.finished_at, after.id, until, limit];
    return (await this.db.query<TaskRow>({ name: 'lakeray_webhook_missed', text: SQL.missed, values })).map(rowToTask);
  }

  async replaceWebhookProgress(taskId: string, task: NewWebhookDelivery['task'], data: Record<string, unknown>, now: number): Promise<boolean> {
    const values = [taskId, now, JSON.stringify(task), JSON.stringify(data)];
    return ((await this.db.execute({ name: 'lakeray_webhook_replace', text: SQL.replace, values })).rowCount ?? 0) > 0;
  }

  async dropWebhookProgress(taskId: string, now: number): Promise<number> {
    return (await this.db.execute({ name: 'lakeray_webhook_drop', text: SQL.drop, values: [taskId, now] })).rowCount ?? 0;
  }

  async claimWebhooks(owner: string, limit: number, now: number, leaseMs: number): Promise<WebhookDelivery[]> {
    const rows = (await this.db.execute<Row & { seq: number }>({ name: 'lakeray_webhook_claim', text: SQL.claim, values: [owner, limit, now, leaseMs] })).rows;
    // RETURNING has no order: a task's deliveries are one per claim anyway; due order for the caller.
    return rows.sort((a, b) => a.next_at - b.next_at || a.seq - b.seq).map(({ seq: _seq, ...r }) => deliveryOf(r));
  }

  async settleWebhook(id: string, owner: string, s: WebhookSettlement): Promise<boolean> {
    const values = [id, owner, s.state, s.attempt, s.body, s.next_at, Date.now()];
    return (await this.db.execute({ name: 'lakeray_webhook_settle', text: SQL.settle, values })).rowCount === 1;
  }

  async pruneWebhooks(before: number, completedBefore: number): Promise<number> {
    return (await this.db.execute({ name: 'lakeray_webhook_prune', text: SQL.prune, values: [before, completedBefore] })).rowCount ?? 0;
  }
}
