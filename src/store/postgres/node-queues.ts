/**
 * The PostgreSQL store's half of node-scoped executors (TaskStore.takeQueued, returnQueued;
 * the SQLite store's is sqlite/node-queues.ts). Each is one UPDATE whose WHERE is the
 * compare-and-set: of two nodes taking the same task, the second finds it no longer on the
 * shared queue (the row lock of the first orders them). A task moved back is announced on
 * `lakeray_queued`, so the shared queue's dispatchers on every node look again.
 */
import type { Task } from '../../domain/task.ts';
import { rowToTask, type TaskRow } from '../rows.ts';
import type { Connection } from './connection.ts';

const SQL = {
  take: `UPDATE tasks SET executor = $3, home_executor = $2
         WHERE id = ANY($1::text[]) AND status = 'queued' AND executor = $2 RETURNING *`,
  giveBack: `WITH moved AS (
               UPDATE tasks SET executor = home_executor, home_executor = NULL
               WHERE executor = $1 AND status = 'queued' AND home_executor IS NOT NULL RETURNING id, executor)
             SELECT id, pg_notify('lakeray_queued', executor) FROM moved`,
};

export class PostgresNodeQueues {
  constructor(private readonly db: Connection) {}

  async takeQueued(ids: readonly string[], from: string, to: string): Promise<Task[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.db.execute<TaskRow>({ name: 'lakeray_take_queued', text: SQL.take, values: [ids, from, to] });
    const order = new Map(ids.map((id, i) => [id, i]));
    return rows.map(rowToTask).sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
  }

  async returnQueued(executor: string): Promise<string[]> {
    const { rows } = await this.db.execute<{ id: string }>({ name: 'lakeray_return_queued', text: SQL.giveBack, values: [executor] });
    return rows.map((r) => r.id);
  }
}
