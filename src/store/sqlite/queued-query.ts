/**
 * queued(): the dispatch candidates of one executor. The answer is the top `limit` (in
 * dispatch order: priority DESC, created_at, id) of the set "each tenant's top `per_tenant`
 * ready tasks". Two ways to get it, each fast where the other is slow:
 *
 * - The greedy walk reads the executor's queue in dispatch order (tasks_queue_order) and keeps
 *   a row unless its tenant already has `per_tenant`, stopping at `limit` kept rows. Every
 *   tenant's first `per_tenant` rows of the walk are exactly its top `per_tenant`, so what it
 *   keeps is a prefix of the answer; it is exact once it has `limit` rows or the queue ends.
 *   It costs the rows walked: ~limit when tenants are many and balanced (5,000 tenants,
 *   limit 512: ~7 ms, most of it reading the 512 winners), but a tenant with a deep queue at
 *   the top makes it skip that whole queue.
 * - The per-tenant scan hops from tenant to tenant through tasks_dispatch (a loose index
 *   scan, one seek per tenant) and takes each tenant's top `per_tenant` from the index, then
 *   the overall top `limit`. It costs tenants × per_tenant whatever the skew: cheap for a few
 *   tenants, ~55 ms for 5,000 (the whole queued() then ~60 ms).
 *
 * So: when `per_tenant` ≥ `limit` no tenant can be capped and the answer is the queue's head,
 * one ordered index read (the dispatcher's first read). With one tenant queued, its top
 * `per_tenant` is the head too (the dispatcher's second read, which brings every tenant's
 * first tasks into a full window, usually meets a single-tenant queue). Otherwise a few
 * tenants (so few that tenants × per_tenant cannot exceed `limit`, a count that stops at that
 * bound) take the per-tenant scan, and the rest the greedy walk on a budget of walked rows,
 * with the per-tenant scan answering if that runs out first.
 *
 * Both read inside one (deferred) read transaction, so the walk's rowids and the rows
 * fetched for them come from the same snapshot even with another process writing.
 */
import type Database from 'better-sqlite3';
import type { QueuedQuery } from '../task-store.ts';
import { MUTABLE_COLUMNS, type MutableRow } from '../rows.ts';

/**
 * A candidate as read: its id and the columns a transition may have changed. The rest of a
 * task never changes, and the store usually knows it already (it inserted the task), so the
 * wide JSON columns (params, resources, labels…) are not read again for every dispatch round.
 */
export type CandidateRow = MutableRow & { id: string };

/**
 * Called once inside the read transaction: returns the lookup of rows the store knows to be
 * current in that snapshot (it may drop what it knew if another connection wrote since).
 */
export type KnownRows = () => (id: string) => MutableRow | undefined;

const COLUMNS = ['id', ...MUTABLE_COLUMNS].map((c) => `t.${c}`).join(', ');

/** Rows the greedy walk may look at before it gives way: 4 per wanted row, plus slack. */
const walkBudget = (limit: number): number => 4 * limit + 256;

/** The executor's tenants with queued tasks, in tenant order, one index seek each. */
const TENANTS = `
  WITH RECURSIVE tenants(name) AS (
    SELECT (SELECT MIN(tenant) FROM tasks WHERE status = 'pending' AND executor = @executor)
    UNION ALL
    SELECT (SELECT MIN(tenant) FROM tasks
            WHERE status = 'pending' AND executor = @executor AND tenant > tenants.name)
    FROM tenants WHERE tenants.name IS NOT NULL
  )`;

export const QUEUED_SQL = {
  /** Tenants with queued tasks on the executor, counted up to @cap (the hop stops there). */
  tenantsUpTo: `${TENANTS}
    SELECT COUNT(*) FROM (SELECT 1 FROM tenants WHERE name IS NOT NULL LIMIT @cap)`,

  /** The ready queue in dispatch order, as [tenant, rowid], read lazily by the greedy walk. */
  walk: `
    SELECT tenant, rowid FROM tasks INDEXED BY tasks_queue_order
    WHERE status = 'pending' AND executor = @executor AND (not_before IS NULL OR not_before <= @now)
    ORDER BY priority DESC, created_at ASC, id ASC`,

  /**
   * The ids at the head of the ready queue, when every tenant may fill the whole window
   * (per_tenant ≥ limit). Covered by tasks_queue_order: no table row is read.
   */
  head: `
    SELECT id FROM tasks INDEXED BY tasks_queue_order
    WHERE status = 'pending' AND executor = @executor AND (not_before IS NULL OR not_before <= @now)
    ORDER BY priority DESC, created_at ASC, id ASC
    LIMIT @limit`,

  /** Candidate rows for a JSON array of ids, in no particular order. */
  byIds: `
    SELECT ${COLUMNS} FROM json_each(@ids) j JOIN tasks t ON t.id = j.value`,

  /** Candidate rows for a JSON array of rowids, in the array's order. */
  byRowids: `
    SELECT ${COLUMNS} FROM json_each(@rowids) j JOIN tasks t ON t.rowid = j.value
    ORDER BY j.key`,

  /**
   * The per-tenant scan. Each tenant's subquery reads tasks_dispatch in dispatch order and
   * stops after `per_tenant` ready rows; candidates are sorted on their keys and only the
   * top `limit` rows are read in full.
   */
  perTenant: `${TENANTS},
    top AS (
      SELECT c.rowid AS rid, c.priority, c.created_at, c.id
      FROM tenants JOIN tasks c ON c.rowid IN (
        SELECT rowid FROM tasks INDEXED BY tasks_dispatch
        WHERE status = 'pending' AND executor = @executor AND tenant = tenants.name
          AND (not_before IS NULL OR not_before <= @now)
        ORDER BY priority DESC, created_at ASC, id ASC
        LIMIT @per_tenant)
      ORDER BY c.priority DESC, c.created_at ASC, c.id ASC
      LIMIT @limit)
    SELECT ${COLUMNS} FROM top JOIN tasks t ON t.rowid = top.rid
    ORDER BY top.priority DESC, top.created_at ASC, top.id ASC`,
} as const;

/** A count or limit from a caller: whole, at least 0; NaN means none, +Infinity means no bound. */
const bound = (n: number): number => (Number.isNaN(n) ? 0 : Math.max(0, Math.min(Number.MAX_SAFE_INTEGER, Math.floor(n))));

export class QueuedCandidates {
  private readonly tenantsUpTo: Database.Statement;
  private readonly walk: Database.Statement;
  private readonly head: Database.Statement;
  private readonly byIds: Database.Statement;
  private readonly byRowids: Database.Statement;
  private readonly perTenant: Database.Statement;
  private readonly read: Database.Transaction<(q: QueuedQuery, known: KnownRows) => CandidateRow[]>;

  constructor(db: Database.Database) {
    this.tenantsUpTo = db.prepare(QUEUED_SQL.tenantsUpTo).pluck();
    this.walk = db.prepare(QUEUED_SQL.walk).raw();
    this.head = db.prepare(QUEUED_SQL.head).pluck();
    this.byIds = db.prepare(QUEUED_SQL.byIds);
    this.byRowids = db.prepare(QUEUED_SQL.byRowids);
    this.perTenant = db.prepare(QUEUED_SQL.perTenant);
    this.read = db.transaction((q: QueuedQuery, known: KnownRows) => this.rows(q.executor, q.now, bound(q.per_tenant), bound(q.limit), known));
  }

  /**
   * Candidate rows in dispatch order; the store completes them with what it knows of each
   * task. `known` gives the rows the store knows to be current (called inside the read).
   */
  run(query: QueuedQuery, known: KnownRows): CandidateRow[] {
    return this.read.deferred(query, known);
  }

  private rows(executor: string, now: number, perTenant: number, limit: number, known: KnownRows): CandidateRow[] {
    if (perTenant === 0 || limit === 0) return [];
    // No tenant can be capped: the answer is the queue's head (the dispatcher's usual query).
    if (perTenant >= limit) return this.headRows(this.head.all({ executor, now, limit }) as string[], known);
    const all = { executor, now, per_tenant: perTenant, limit };
    // Below this many tenants, tenants × per_tenant < limit + per_tenant: the scan is small
    // and the walk could only end by exhausting the queue.
    const cap = Math.floor(limit / perTenant) + 1;
    const tenants = this.tenantsUpTo.get({ executor, cap }) as number;
    // One tenant: its top `per_tenant` is the queue's head.
    if (tenants <= 1) return this.headRows(this.head.all({ executor, now, limit: perTenant }) as string[], known);
    if (tenants < cap) return this.perTenant.all(all) as CandidateRow[];
    const rowids = this.greedyWalk(executor, now, perTenant, limit);
    return rowids === null ? (this.perTenant.all(all) as CandidateRow[]) : (this.byRowids.all({ rowids: JSON.stringify(rowids) }) as CandidateRow[]);
  }

  /** The rows of `ids`, in order: from what the store knows where it can, else read. */
  private headRows(ids: string[], known: KnownRows): CandidateRow[] {
    const lookup = known();
    const out: (CandidateRow | undefined)[] = ids.map((id) => {
      const row = lookup(id);
      // A copy the caller may keep; only a row known as queued can stand for this one.
      return row !== undefined && row.status === 'pending' ? { ...row, id } : undefined;
    });
    const missing = ids.filter((_, i) => out[i] === undefined);
    if (missing.length > 0) {
      const read = new Map((this.byIds.all({ ids: JSON.stringify(missing) }) as CandidateRow[]).map((r) => [r.id, r]));
      ids.forEach((id, i) => (out[i] ??= read.get(id)));
    }
    return out.filter((r): r is CandidateRow => r !== undefined);
  }

  /** The answer's rowids, in order; null when the budget ran out before the answer was complete. */
  private greedyWalk(executor: string, now: number, perTenant: number, limit: number): number[] | null {
    const kept: number[] = [];
    const perTenantKept = new Map<string, number>();
    // Every tenant fits when per_tenant >= limit: then the walk is a plain LIMIT.
    const capped = perTenant < limit;
    let budget = walkBudget(limit);
    // for..of closes the iterator (and frees the statement) on every exit.
    for (const [tenant, rowid] of this.walk.iterate({ executor, now }) as IterableIterator<[string, number]>) {
      if (budget-- === 0) return null;
      if (capped) {
        const n = perTenantKept.get(tenant) ?? 0;
        if (n === perTenant) continue;
        perTenantKept.set(tenant, n + 1);
      }
      kept.push(rowid);
      if (kept.length === limit) break;
    }
    return kept;
  }
}
