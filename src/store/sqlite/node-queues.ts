/**
 * The SQLite store's half of node-scoped executors (TaskStore.takeQueued, returnQueued; the
 * PostgreSQL store's is postgres/node-queues.ts). A task's executor is part of what RowMemory
 * keeps as fixed, so every task moved here is forgotten there: its next read sees the move.
 */
import type Database from 'better-sqlite3';
import type { Task } from '../../domain/task.ts';
import { rowToTask, type TaskRow } from '../rows.ts';

const SQL = {
  take: `UPDATE tasks SET executor = @to, home_executor = @from
         WHERE id = @id AND status = 'queued' AND executor = @from RETURNING *`,
  giveBack: `UPDATE tasks SET executor = home_executor, home_executor = NULL
             WHERE executor = @executor AND status = 'queued' AND home_executor IS NOT NULL RETURNING id`,
};

export class SqliteNodeQueues {
  private readonly take: Database.Statement;
  private readonly giveBack: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly forget: (id: string) => void,
  ) {
    this.take = db.prepare(SQL.take);
    this.giveBack = db.prepare(SQL.giveBack);
  }

  /** A write transaction of its own (the caller runs it as one). */
  takeQueued(ids: readonly string[], from: string, to: string): Database.Transaction<() => Task[]> {
    return this.db.transaction(() => {
      const moved: Task[] = [];
      for (const id of ids) {
        const row = this.take.get({ id, from, to }) as TaskRow | undefined;
        this.forget(id);
        if (row !== undefined) moved.push(rowToTask(row));
      }
      return moved;
    });
  }

  returnQueued(executor: string): Database.Transaction<() => string[]> {
    return this.db.transaction(() => {
      const ids = (this.giveBack.all({ executor }) as { id: string }[]).map((r) => r.id);
      for (const id of ids) this.forget(id);
      return ids;
    });
  }
}
