/**
 * The SQLite store's leases of running tasks (TaskStore.staleLeases, renewLeases, takeLeases,
 * recordPlacements). Each write is a transaction for the store to run as a write; a fenced
 * one does nothing once the fence is not current (checked inside it, see owners.ts).
 */
import type Database from 'better-sqlite3';
import type { Assignment, Task } from '../../domain/task.ts';
import { rowToTask, type TaskRow } from '../rows.ts';
import type { Fence } from '../task-store.ts';
import type { SqliteOwners } from './owners.ts';
import type { Statements } from './queries.ts';
import type { RowMemory } from './row-memory.ts';

export class SqliteLeases {
  constructor(
    private readonly db: Database.Database,
    private readonly q: Statements,
    private readonly owners: SqliteOwners,
    private readonly memory: RowMemory,
  ) {}

  stale(owner: string, now: number, exclusive: boolean): Task[] {
    return (this.q.staleLeases.all({ owner, now, exclusive: exclusive ? 1 : 0 }) as TaskRow[]).map(rowToTask);
  }

  renew(owner: string, ids: readonly string[], expiresAt: number, fence?: Fence): Database.Transaction<() => void> {
    return this.db.transaction(() => {
      if (fence !== undefined && !this.owners.holds(fence)) return;
      this.q.renewLeases.run({ owner, ids: JSON.stringify(ids), expires_at: expiresAt, executor: fence?.executor ?? null });
      for (const id of ids) this.memory.forgetRow(id); // which of them matched is not known here
    });
  }

  take(owner: string, tasks: readonly Task[], expiresAt: number, fence?: Fence): Database.Transaction<() => string[]> {
    const executor = fence?.executor ?? null;
    return this.db.transaction(() => {
      const taken: string[] = [];
      if (fence !== undefined && !this.owners.holds(fence)) return taken;
      for (const t of tasks) {
        const changed = this.q.takeLease.run({ id: t.id, owner, expires_at: expiresAt, was_owner: t.lease_owner, was_expires_at: t.lease_expires_at, executor }).changes;
        if (changed > 0) taken.push(t.id);
        this.memory.forgetRow(t.id);
      }
      return taken;
    });
  }

  recordPlacements(owner: string, placements: readonly { id: string; assignment: Assignment }[], fence?: Fence): Database.Transaction<() => number> {
    const executor = fence?.executor ?? null;
    return this.db.transaction(() => {
      let n = 0;
      if (fence !== undefined && !this.owners.holds(fence)) return n;
      for (const p of placements) {
        const assignment = JSON.stringify(p.assignment);
        const changed = this.q.recordPlacement.run({ id: p.id, owner, assignment, executor }).changes;
        if (changed > 0) this.memory.placed(p.id, assignment);
        n += changed;
      }
      return n;
    });
  }
}
