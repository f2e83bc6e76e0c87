/**
 * TaskStore.queuePositions for SQLite: how many queued tasks of its executor come before each
 * wanted task, in dispatch order.
 */
import type Database from 'better-sqlite3';
import type { TaskRow } from '../rows.ts';
import type { Statements } from './queries.ts';

export function queuePositions(db: Database.Database, q: Statements, ids: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  if (ids.length === 0) return out;
  if (ids.length === 1) {
    // One task: counting what is ahead through the index beats ranking the whole queue.
    const row = q.getTask.get({ id: ids[0] }) as TaskRow | undefined;
    if (!row || row.status !== 'pending') return out;
    const { ahead } = q.queuePosition.get({ executor: row.executor, priority: row.priority, created_at: row.created_at, id: row.id }) as {
      ahead: number;
    };
    out.set(row.id, ahead);
    return out;
  }
  // Many: walk each executor's queue in order once, stopping after the last wanted id.
  const byExecutor = new Map<string, Set<string>>();
  for (const r of q.queuedAmong.all({ ids: JSON.stringify(ids) }) as { id: string; executor: string }[]) {
    let set = byExecutor.get(r.executor);
    if (!set) byExecutor.set(r.executor, (set = new Set()));
    set.add(r.id);
  }
  const read = db.transaction(() => {
    for (const [executor, wanted] of byExecutor) {
      let pos = 0;
      let left = wanted.size;
      for (const r of q.queueOrder.pluck().iterate({ executor }) as Iterable<string>) {
        if (wanted.has(r)) {
          out.set(r, pos);
          if (--left === 0) break;
        }
        pos++;
      }
    }
  });
  read.deferred();
  return out;
}
