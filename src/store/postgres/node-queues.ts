/**
 * The PostgreSQL store's half of node-scoped executors' recovery (TaskStore.returnQueued; the
 * SQLite store's is sqlite/node-queues.ts). A node takes a task of the shared queue in the
 * claim that starts it (transition-query.ts); what it re-queued and did not start again goes
 * back in one UPDATE, announced on `lakeray_queued`, so the shared queue's dispatchers on every
 * node look again.
 */
import type { Connection } from './connection.ts';

const SQL = {
  giveBack: `WITH moved AS (
               UPDATE tasks SET executor = home_executor, home_executor = NULL
               WHERE executor = $1 AND status = 'pending' AND home_executor IS NOT NULL RETURNING id, executor)
             SELECT id, pg_notify('lakeray_queued', executor) FROM moved`,
};

export class PostgresNodeQueues {
  constructor(private readonly db: Connection) {}

  async returnQueued(executor: string): Promise<string[]> {
    const { rows } = await this.db.execute<{ id: string }>({ name: 'lakeray_return_queued', text: SQL.giveBack, values: [executor] });
    return rows.map((r) => r.id);
  }
}
