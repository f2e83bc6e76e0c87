/**
 * Tenant quotas made exact across processes: `max_queued` at insert, `max_running` at claim.
 * Each is checked in the transaction that would pass it, after that transaction took the
 * tenant's transaction-level advisory lock (released at its commit or rollback), so two
 * processes checking one tenant's quota take turns and the second counts what the first
 * committed (under READ COMMITTED each statement reads what was committed before it began; an
 * advisory lock is released only once its transaction's commit is visible).
 *
 * One lock class per quota: submissions (which add queued tasks) wait only for submissions,
 * claims (which add running ones) only for claims. Only tenants that have the quota take a
 * lock or run a count; the others' inserts and claims run exactly as before.
 */
import type pg from 'pg';
import type { QueuedQuota, TransitionRequest } from '../task-store.ts';

/** Advisory lock classes (the first key of the two-key form; the second is hashtext(tenant)). Any constants work. */
const QUEUED_LOCK = 7_140_101;
const RUNNING_LOCK = 7_140_102;

/** Takes the locks of class $1 of the tenants $2 in one order (sorted keys: two transactions locking overlapping sets cannot deadlock). */
const LOCK = `SELECT pg_advisory_xact_lock($1::int, k) FROM (SELECT DISTINCT hashtext(t) AS k FROM unnest($2::text[]) AS t ORDER BY k) AS s`;

const SQL = {
  lock: LOCK,
  queuedOf: `SELECT COUNT(*)::int AS n FROM tasks WHERE tenant = $1 AND status = 'pending'`,
  // running + cancelling: they hold their resources until their process is gone (TenantActivity).
  runningOf: `SELECT tenant, COUNT(*)::int AS n FROM tasks WHERE tenant = ANY($1::text[]) AND status IN ('running', 'cancelling') GROUP BY tenant`,
} as const;

/** Locks the tenant's submissions, counts its queued tasks, and throws `quota.refuse(...)` when `adds` more would pass max_queued. */
export async function checkQueuedQuota(client: pg.PoolClient, quota: QueuedQuota, adds: number): Promise<void> {
  await client.query({ name: 'lakeray_quota_lock', text: SQL.lock, values: [QUEUED_LOCK, [quota.tenant]] });
  const { rows } = await client.query<{ n: number }>({ name: 'lakeray_quota_queued_of', text: SQL.queuedOf, values: [quota.tenant] });
  const queued = rows[0]?.n ?? 0;
  if (queued + adds > quota.max_queued) throw quota.refuse(queued, adds);
}

/**
 * The claims of one transaction under `max_running`: `admits(request)` says whether a claim
 * may go ahead. On the first claim that carries a quota it locks every quota'd tenant of the
 * remaining requests (one sorted statement) and counts their running tasks (including what this
 * transaction applied so far); each claim let through then takes one of what is left. A claim
 * let through whose compare-and-set then fails (cancelled, claimed elsewhere) still took its
 * slot: the transaction starts fewer than it might, never more.
 */
export class RunningQuotas {
  private left: Map<string, number> | undefined;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly requests: readonly TransitionRequest[],
  ) {}

  /** Whether request `i` may apply. `before` runs first, once, when locks are taken (to apply what precedes it). */
  async admits(i: number, before: () => Promise<void>): Promise<boolean> {
    const quota = this.requests[i]!.running_quota;
    if (quota === undefined || this.requests[i]!.to !== 'running') return true;
    this.left ??= await this.lockAndCount(i, before);
    const left = this.left.get(quota.tenant) ?? 0;
    if (left <= 0) return false;
    this.left.set(quota.tenant, left - 1);
    return true;
  }

  private async lockAndCount(from: number, before: () => Promise<void>): Promise<Map<string, number>> {
    await before();
    const limits = new Map<string, number>();
    for (const r of this.requests.slice(from)) if (r.running_quota !== undefined && r.to === 'running') limits.set(r.running_quota.tenant, r.running_quota.max_running);
    const tenants = [...limits.keys()];
    await this.client.query({ name: 'lakeray_quota_lock', text: SQL.lock, values: [RUNNING_LOCK, tenants] });
    const { rows } = await this.client.query<{ tenant: string; n: number }>({ name: 'lakeray_quota_running_of', text: SQL.runningOf, values: [tenants] });
    const running = new Map(rows.map((r) => [r.tenant, r.n]));
    return new Map([...limits].map(([tenant, max]) => [tenant, max - (running.get(tenant) ?? 0)]));
  }
}
