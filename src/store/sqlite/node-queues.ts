/**
 * The SQLite store's half of node-scoped executors (the PostgreSQL store's is
 * postgres/node-queues.ts). SQLite runs one process with plain `local`, but keeps the same
 * contract: candidates of a node's executor and the shared queue it serves, merged
 * (QueuedQuery.shared); and what a node re-queued goes back (TaskStore.returnQueued). A
 * task's executor is part of what RowMemory keeps as fixed, so every task moved here is
 * forgotten there: its next read sees the move.
 */
import type Database from 'better-sqlite3';
import type { Task } from '../../domain/task.ts';

const SQL = {
  giveBack: `UPDATE tasks SET executor = home_executor, home_executor = NULL
             WHERE executor = @executor AND status = 'pending' AND home_executor IS NOT NULL RETURNING id`,
};

/** Dispatch order: priority DESC, created_at, id (ids are ASCII: code units compare as bytes). */
const inDispatchOrder = (a: Task, b: Task): number =>
  b.priority - a.priority || a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Two queues' candidates (each its own top `limit` of "each tenant's top `perTenant`") as one
 * answer: a tenant's top `perTenant` over both is among its tops in each, and the overall top
 * `limit` among each queue's top `limit`, so this is exact.
 */
export function mergeCandidates(a: readonly Task[], b: readonly Task[], perTenant: number, limit: number): Task[] {
  const out: Task[] = [];
  const perTenantKept = new Map<string, number>();
  for (const t of [...a, ...b].sort(inDispatchOrder)) {
    if (out.length >= limit) break;
    const n = perTenantKept.get(t.tenant) ?? 0;
    if (n >= perTenant) continue;
    perTenantKept.set(t.tenant, n + 1);
    out.push(t);
  }
  return out;
}

export class SqliteNodeQueues {
  private readonly giveBack: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly forget: (id: string) => void,
  ) {
    this.giveBack = db.prepare(SQL.giveBack);
  }

  returnQueued(executor: string): Database.Transaction<() => string[]> {
    return this.db.transaction(() => {
      const ids = (this.giveBack.all({ executor }) as { id: string }[]).map((r) => r.id);
      for (const id of ids) this.forget(id);
      return ids;
    });
  }
}
