/**
 * Executor ownership for the PostgreSQL store (the contract is on TaskStore: claimExecutor,
 * renewExecutor, releaseExecutor, Fence).
 *
 * A claim is one upsert: INSERT … ON CONFLICT DO UPDATE locks the row, so of concurrent claims
 * on a free executor one inserts or updates and the others, re-checking the row it left, find
 * it held. A fenced write checks its fence with `SELECT … FOR SHARE` inside its own
 * transaction: the share lock keeps any claim (an UPDATE of that row) out until the write
 * commits, and a claim that committed first has moved the epoch, so the check fails. Either
 * way the takeover is wholly before or wholly after the write, as on SQLite's single writer.
 */
import type pg from 'pg';
import type { ExecutorOwnership, Fence } from '../task-store.ts';
import type { Connection } from './connection.ts';

const SQL = {
  /**
   * A new row starts above its pruned predecessor's epoch (executor_epochs). Both are read: a
   * claim whose snapshot predates a concurrent prune's commit still sees the row, one after it
   * sees the tombstone (the prune writes both in one transaction), so either way the epoch is
   * above every one issued before; GREATEST skips the NULL of the one not there.
   */
  claim: `
    INSERT INTO executor_owners AS o (executor, owner, epoch, expires_at)
    VALUES ($1, $2, 1 + GREATEST(0, (SELECT epoch FROM executor_owners WHERE executor = $1), (SELECT epoch FROM executor_epochs WHERE executor = $1)), $3)
    ON CONFLICT (executor) DO UPDATE SET owner = EXCLUDED.owner, epoch = o.epoch + 1, expires_at = EXCLUDED.expires_at
      WHERE $5 OR o.owner IS NULL OR o.expires_at <= $4
    RETURNING executor, owner, epoch, expires_at`,
  renew: `UPDATE executor_owners SET expires_at = $4 WHERE executor = $1 AND epoch = $2 AND owner = $3`,
  release: `UPDATE executor_owners SET owner = NULL, expires_at = $4 WHERE executor = $1 AND epoch = $2 AND owner = $3`,
  holds: `SELECT 1 FROM executor_owners WHERE executor = $1 AND epoch = $2 FOR SHARE`,
  all: `SELECT executor, owner, epoch, expires_at FROM executor_owners ORDER BY executor`,
  /**
   * One statement: the DELETE re-checks expires_at on the newest row version (READ COMMITTED),
   * so a renewal or claim committed first keeps the row; one that comes after finds no row
   * (renew: deposed) or starts from the tombstone (claim).
   */
  prune: `
    WITH gone AS (
      DELETE FROM executor_owners o
      WHERE o.executor = ANY($1::text[]) AND o.expires_at <= $2
        AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.executor = o.executor AND t.status IN ('pending', 'running', 'cancelling'))
      RETURNING o.executor, o.epoch
    )
    INSERT INTO executor_epochs AS e (executor, epoch) SELECT executor, epoch FROM gone
    ON CONFLICT (executor) DO UPDATE SET epoch = GREATEST(e.epoch, EXCLUDED.epoch)
    RETURNING executor`,
} as const;

export class PostgresOwners {
  constructor(private readonly db: Connection) {}

  async claim(executor: string, owner: string, now: number, ttlMs: number, steal: boolean): Promise<ExecutorOwnership | null> {
    const { rows } = await this.db.execute<ExecutorOwnership>({ name: 'lakeray_owner_claim', text: SQL.claim, values: [executor, owner, now + ttlMs, now, steal] });
    return rows[0] ?? null;
  }

  async renew(fence: Fence, owner: string, now: number, ttlMs: number): Promise<boolean> {
    const values = [fence.executor, fence.epoch, owner, now + ttlMs];
    return ((await this.db.execute({ name: 'lakeray_owner_renew', text: SQL.renew, values })).rowCount ?? 0) > 0;
  }

  async release(fence: Fence, owner: string, now: number): Promise<boolean> {
    const values = [fence.executor, fence.epoch, owner, now];
    return ((await this.db.execute({ name: 'lakeray_owner_release', text: SQL.release, values })).rowCount ?? 0) > 0;
  }

  async prune(executors: readonly string[], lapsedBefore: number): Promise<string[]> {
    if (executors.length === 0) return [];
    const { rows } = await this.db.executeRetrying<{ executor: string }>({ name: 'lakeray_owners_prune', text: SQL.prune, values: [[...executors], lapsedBefore] });
    return rows.map((r) => r.executor).sort();
  }

  all(): Promise<ExecutorOwnership[]> {
    return this.db.query<ExecutorOwnership>({ name: 'lakeray_owners', text: SQL.all });
  }

  /**
   * A fence check for one write transaction on `client`: each fence of a batch is looked up
   * (and share-locked until the transaction ends) once; a write without a fence passes.
   */
  checker(client: pg.PoolClient): (fence: Fence | undefined) => Promise<boolean> {
    const seen = new Map<string, boolean>();
    return async (fence) => {
      if (fence === undefined) return true;
      const key = `${fence.epoch}|${fence.executor}`;
      let ok = seen.get(key);
      if (ok === undefined) {
        ok = (await client.query({ name: 'lakeray_owner_holds', text: SQL.holds, values: [fence.executor, fence.epoch] })).rows.length > 0;
        seen.set(key, ok);
      }
      return ok;
    };
  }
}
