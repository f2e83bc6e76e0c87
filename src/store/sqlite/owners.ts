/**
 * Executor ownership for the SQLite store (the contract is on TaskStore: claimExecutor,
 * renewExecutor, releaseExecutor, Fence). Every statement here runs inside the caller's
 * write transaction or is one atomic statement, so a fence check and the write it guards
 * cannot interleave with a takeover by another connection.
 */
import type Database from 'better-sqlite3';
import type { ExecutorOwnership, Fence } from '../task-store.ts';

const SQL = {
  /** An upsert that applies only when the row is free (or stolen); RETURNING gives nothing otherwise. */
  /** A new row starts above its pruned predecessor's epoch (executor_epochs). */
  claim: `
    INSERT INTO executor_owners (executor, owner, epoch, expires_at)
    VALUES (@executor, @owner, 1 + COALESCE((SELECT epoch FROM executor_epochs WHERE executor = @executor), 0), @expires_at)
    ON CONFLICT (executor) DO UPDATE SET owner = excluded.owner, epoch = epoch + 1, expires_at = excluded.expires_at
      WHERE @steal OR owner IS NULL OR expires_at <= @now
    RETURNING executor, owner, epoch, expires_at`,
  renew: `
    UPDATE executor_owners SET expires_at = @expires_at
    WHERE executor = @executor AND epoch = @epoch AND owner = @owner`,
  release: `
    UPDATE executor_owners SET owner = NULL, expires_at = @now
    WHERE executor = @executor AND epoch = @epoch AND owner = @owner`,
  current: `SELECT 1 FROM executor_owners WHERE executor = @executor AND epoch = @epoch`,
  all: `SELECT executor, owner, epoch, expires_at FROM executor_owners ORDER BY executor`,
  prune: `
    DELETE FROM executor_owners AS o
    WHERE o.executor IN (SELECT value FROM json_each(@executors)) AND o.expires_at <= @before
      AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.executor = o.executor AND t.status IN ('pending', 'running', 'cancelling'))
    RETURNING executor, epoch`,
  tombstone: `
    INSERT INTO executor_epochs (executor, epoch) VALUES (@executor, @epoch)
    ON CONFLICT (executor) DO UPDATE SET epoch = MAX(epoch, excluded.epoch)`,
} as const;

export class SqliteOwners {
  private readonly q: { [K in keyof typeof SQL]: Database.Statement };

  /** The rows go and their epochs are kept in one transaction: no claim sees neither. */
  private readonly pruneTx: Database.Transaction<(executors: readonly string[], before: number) => string[]>;

  constructor(db: Database.Database) {
    this.q = Object.fromEntries(Object.entries(SQL).map(([name, sql]) => [name, db.prepare(sql)])) as typeof this.q;
    this.pruneTx = db.transaction((executors: readonly string[], before: number) => {
      const gone = this.q.prune.all({ executors: JSON.stringify(executors), before }) as { executor: string; epoch: number }[];
      for (const row of gone) this.q.tombstone.run(row);
      return gone.map((r) => r.executor).sort();
    });
  }

  claim(executor: string, owner: string, now: number, ttlMs: number, steal: boolean): ExecutorOwnership | null {
    const row = this.q.claim.get({ executor, owner, now, expires_at: now + ttlMs, steal: steal ? 1 : 0 }) as ExecutorOwnership | undefined;
    return row ?? null;
  }

  renew(fence: Fence, owner: string, now: number, ttlMs: number): boolean {
    return this.q.renew.run({ executor: fence.executor, epoch: fence.epoch, owner, expires_at: now + ttlMs }).changes > 0;
  }

  release(fence: Fence, owner: string, now: number): boolean {
    return this.q.release.run({ executor: fence.executor, epoch: fence.epoch, owner, now }).changes > 0;
  }

  prune(executors: readonly string[], lapsedBefore: number): string[] {
    return executors.length === 0 ? [] : this.pruneTx.immediate(executors, lapsedBefore);
  }

  all(): ExecutorOwnership[] {
    return this.q.all.all() as ExecutorOwnership[];
  }

  /** Whether the fence is current; call inside the write transaction it guards. */
  holds(fence: Fence): boolean {
    return this.q.current.get({ executor: fence.executor, epoch: fence.epoch }) !== undefined;
  }

  /**
   * A fence check for one write transaction: the fences of a batch (usually one or two) are
   * looked up once each; a write without a fence passes.
   */
  checker(): (fence: Fence | undefined) => boolean {
    const seen = new Map<string, boolean>();
    return (fence) => {
      if (fence === undefined) return true;
      const key = `${fence.epoch}|${fence.executor}`;
      let ok = seen.get(key);
      if (ok === undefined) seen.set(key, (ok = this.holds(fence)));
      return ok;
    };
  }
}
