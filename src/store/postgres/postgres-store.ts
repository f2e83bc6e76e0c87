/**
 * PostgresTaskStore: the TaskStore on PostgreSQL, for several Lakeray processes (API replicas,
 * schedulers) sharing one queue. Same contract and conformance suite as the SQLite store.
 *
 * Concurrency: every compare-and-set is one UPDATE with its condition in the WHERE clause
 * (transition-query.ts); under READ COMMITTED a second writer of the same row waits, then
 * re-checks that condition on the committed row, so a task leaves a status once whatever
 * process asks. Appends lock their tasks' rows (in id order) before numbering events, so
 * sequence numbers stay gap-free per task across processes. A transaction PostgreSQL aborts
 * for a deadlock is run again (connection.ts).
 *
 * Wake-ups: an insert (or a transition back to queued) notifies `lakeray_queued` with the
 * executor's name in the same transaction, delivered at commit; `watchQueued` listens.
 */
import type pg from 'pg';
import type { NewEvent, TaskEvent } from '../../domain/events.ts';
import { canTransition } from '../../domain/lifecycle.ts';
import type { Assignment, Task, TaskStatus } from '../../domain/task.ts';
import { type EventRow, rowToEvent, rowToTask, type TaskRow } from '../rows.ts';
import type {
  ExecutorOwnership,
  Fence,
  InsertResult,
  NewTask,
  QueuedQuery,
  QueuedQuota,
  TaskFilter,
  TaskPage,
  TaskStore,
  TransitionRequest,
  TransitionResult,
} from '../task-store.ts';
import { Connection, type StoreHealth } from './connection.ts';
import { PostgresAudit } from './audit.ts';
import { PostgresDeployments } from './deployments.ts';
import { PostgresTenants } from './tenants.ts';
import { PostgresKeys } from './keys.ts';
import { buildListQuery, encodeCursor } from './list-query.ts';
import { migratePostgres } from './migrate.ts';
import { PostgresNodeQueues } from './node-queues.ts';
import { PostgresOwners } from './owners.ts';
import { QueuedListener } from './queued-listener.ts';
import { SQL } from './queries.ts';
import { transitionBatchQuery, transitionQuery, transitionShape } from './transition-query.ts';
import { PostgresLakePins } from './lake-pins.ts';
import { PostgresWebhookOutbox } from './webhook-outbox.ts';
import { EventRows, insertTasks, notifyQueued } from './insert-tasks.ts';
import { RunningQuotas } from './tenant-quotas.ts';

export interface PostgresStoreOptions {
  url: string;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** Told when the database becomes unreachable and when it is back (logging). */
  onHealth?: (health: StoreHealth) => void;
}

const bound = (n: number): number => (Number.isNaN(n) ? 0 : Math.max(0, Math.min(2 ** 31 - 1, Math.floor(n))));

export class PostgresTaskStore implements TaskStore {
  readonly deployments: PostgresDeployments;
  readonly tenants: PostgresTenants;
  readonly keys: PostgresKeys;
  readonly audit: PostgresAudit;
  private readonly owners: PostgresOwners;
  private readonly nodeQueues: PostgresNodeQueues;
  private listener: QueuedListener | undefined;
  readonly webhooks: PostgresWebhookOutbox;
  readonly lakePins: PostgresLakePins;

  private constructor(
    private readonly db: Connection,
    private readonly url: string,
  ) {
    this.deployments = new PostgresDeployments(db);
    this.tenants = new PostgresTenants(db);
    this.keys = new PostgresKeys(db);
    this.audit = new PostgresAudit(db);
    this.owners = new PostgresOwners(db);
    this.nodeQueues = new PostgresNodeQueues(db);
    this.webhooks = new PostgresWebhookOutbox(db);
    this.lakePins = new PostgresLakePins(db);
  }

  /** Connects and migrates. */
  static async open(opts: PostgresStoreOptions): Promise<PostgresTaskStore> {
    const db = new Connection({ url: opts.url, poolSize: opts.poolSize ?? 10, onHealth: opts.onHealth });
    try {
      const client = await db.pool.connect();
      try {
        await migratePostgres(client);
      } finally {
        client.release();
      }
    } catch (err) {
      await db.close();
      throw err;
    }
    return new PostgresTaskStore(db, opts.url);
  }

  /** Whether the database answers now (for /ready). */
  health(): Promise<StoreHealth> {
    return this.db.health();
  }

  insert(tasks: NewTask[], now: number, quota?: QueuedQuota): Promise<{ results: InsertResult[]; events: TaskEvent[] }> {
    return this.db.transaction((client) => insertTasks(client, tasks, now, quota));
  }

  async get(id: string): Promise<Task | null> {
    const [row] = await this.db.query<TaskRow>({ name: 'lakeray_get_task', text: SQL.getTask, values: [id] });
    return row ? rowToTask(row) : null;
  }

  async list(filter: TaskFilter): Promise<TaskPage> {
    const { sql, params } = buildListQuery(filter);
    const rows = await this.db.query<TaskRow>({ text: sql, values: params });
    const limit = Math.max(0, Math.floor(filter.limit));
    const page = rows.slice(0, limit).map(rowToTask);
    const last = page[page.length - 1];
    return { tasks: page, next_cursor: rows.length > limit && last ? encodeCursor(last.created_at, last.id) : null };
  }

  async queued(query: QueuedQuery): Promise<Task[]> {
    const perTenant = bound(query.per_tenant);
    const limit = bound(query.limit);
    if (perTenant === 0 || limit === 0) return [];
    // No tenant can be capped: the answer is the queue's head, one ordered index read.
    const { executor, now, shared } = query;
    let rows: TaskRow[];
    if (shared === undefined || shared === executor) {
      rows =
        perTenant >= limit
          ? await this.db.query<TaskRow>({ name: 'lakeray_queued_head', text: SQL.queuedHead, values: [executor, now, limit] })
          : await this.db.query<TaskRow>({ name: 'lakeray_queued_per_tenant', text: SQL.queuedPerTenant, values: [executor, now, limit, perTenant] });
    } else {
      // A node's executor and the shared queue it serves, in one statement.
      rows =
        perTenant >= limit
          ? await this.db.query<TaskRow>({ name: 'lakeray_queued_head_shared', text: SQL.queuedHeadShared, values: [executor, now, limit, shared] })
          : // Unprepared: planned for these executors (see queuedPerTenantShared); it runs only when a window is full.
            await this.db.query<TaskRow>({ text: SQL.queuedPerTenantShared, values: [executor, now, limit, perTenant, shared] });
    }
    return rows.map(rowToTask);
  }

  async queuePositions(ids: readonly string[]): Promise<Map<string, number>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.query<{ id: string; ahead: number }>({ name: 'lakeray_queue_positions', text: SQL.queuePositions, values: [ids] });
    return new Map(rows.map((r) => [r.id, r.ahead]));
  }

  async transition(requests: TransitionRequest[]): Promise<(TransitionResult | null)[]> {
    if (requests.length === 0) return [];
    return this.db.transaction(async (client) => {
      const rows = await this.applyTransitions(client, requests);
      const results: (TransitionResult | null)[] = [];
      const events = new EventRows();
      const requeued: string[] = [];
      for (const [i, r] of requests.entries()) {
        const row = rows[i];
        if (!row) {
          results.push(null);
          continue;
        }
        const task = rowToTask(row);
        const seq = task.last_seq;
        const extra = r.before ?? [];
        const before = extra.map((e, j): TaskEvent => ({ task_id: task.id, tenant: task.tenant, seq: seq - extra.length + j, type: e.type, ts: r.now, data: e.data }));
        // status is set last so the event can never claim a state the task is not in.
        const data: Record<string, unknown> = { status: r.to, ...r.event };
        data.status = r.to;
        const event: TaskEvent = { task_id: task.id, tenant: task.tenant, seq, type: 'state', ts: r.now, data };
        for (const e of before) events.add(e);
        events.add(event);
        if (r.to === 'pending') requeued.push(task.executor);
        results.push({ task, event, before });
      }
      await events.flush(client);
      await notifyQueued(client, requeued);
      return results;
    });
  }

  /**
   * The compare-and-sets of `requests`, in order: each request sees what the earlier ones of the
   * batch did. Consecutive requests of one shape on distinct tasks go in one statement (the
   * claims of a round, the completions of a settle); the rows each changed, by request index.
   */
  private async applyTransitions(client: pg.PoolClient, requests: readonly TransitionRequest[]): Promise<(TaskRow | undefined)[]> {
    const out: (TaskRow | undefined)[] = new Array(requests.length);
    const fenced = this.owners.checker(client);
    let run: number[] = [];
    let runShape = '';
    let runFrom: readonly string[] = [];
    const ids = new Set<string>();
    const flush = async (): Promise<void> => {
      if (run.length === 0) return;
      const events = (requests[run[0]!]!.before?.length ?? 0) + 1;
      if (run.length === 1) {
        out[run[0]!] = (await client.query<TaskRow>(transitionQuery(requests[run[0]!]!, runFrom, events))).rows[0];
      } else {
        const changed = await client.query<TaskRow>(transitionBatchQuery(run.map((i) => requests[i]!), runFrom, events));
        const byId = new Map(changed.rows.map((row) => [row.id, row]));
        for (const i of run) out[i] = byId.get(requests[i]!.id);
      }
      run = [];
      ids.clear();
    };
    // A claim of a tenant with max_running: refused when the tenant's running tasks, counted
    // after what precedes it in the transaction is applied, leave no room (tenant-quotas.ts).
    let quotas: RunningQuotas | undefined; // made only for a transaction that has such a claim
    for (const [i, r] of requests.entries()) {
      // Only sources the state machine allows: an illegal request can never apply.
      const from = (await fenced(r.fence)) ? r.from.filter((f) => canTransition(f, r.to)) : [];
      if (from.length === 0 || (r.running_quota !== undefined && !(await (quotas ??= new RunningQuotas(client, requests)).admits(i, flush)))) continue;
      const shape = transitionShape(r, from, (r.before?.length ?? 0) + 1);
      if (shape !== runShape || ids.has(r.id)) {
        await flush();
        runShape = shape;
        runFrom = from;
      }
      run.push(i);
      ids.add(r.id);
    }
    await flush();
    return out;
  }

  async appendEvents(events: NewEvent[]): Promise<TaskEvent[]> {
    if (events.length === 0) return [];
    const values = [
      events.map((e) => e.task_id),
      events.map((e) => e.type),
      events.map((e) => e.ts),
      events.map((e) => JSON.stringify(e.data)),
      events.map((e) => e.fence?.executor ?? null),
      events.map((e) => e.fence?.epoch ?? null),
    ];
    // Events of a deleted or unknown task are not in the answer (a late line from a finished
    // script must not fail the other tasks' events); nor are a deposed owner's. The stored
    // tenant wins over the caller's: the log belongs to the task.
    const { rows } = await this.db.executeRetrying<{ ord: number; tenant: string; seq: number }>({ name: 'lakeray_append_events', text: SQL.appendEvents, values });
    return rows.map((r) => {
      const e = events[r.ord - 1]!;
      return { task_id: e.task_id, tenant: r.tenant, seq: r.seq, type: e.type, ts: e.ts, data: e.data };
    });
  }

  async readEvents(taskId: string, afterSeq: number, limit: number, types?: readonly string[]): Promise<TaskEvent[]> {
    const values = [taskId, afterSeq, bound(limit)];
    // An empty type list means "all types", as an absent one does.
    const rows =
      types !== undefined && types.length > 0
        ? await this.db.query<EventRow>({ name: 'lakeray_read_events_of_types', text: SQL.readEventsOfTypes, values: [...values, types] })
        : await this.db.query<EventRow>({ name: 'lakeray_read_events', text: SQL.readEvents, values });
    return rows.map(rowToEvent);
  }

  async staleLeases(owner: string, now: number, exclusive: boolean): Promise<Task[]> {
    return (await this.db.query<TaskRow>({ name: 'lakeray_stale_leases', text: SQL.staleLeases, values: [owner, now, exclusive] })).map(rowToTask);
  }

  async renewLeases(owner: string, ids: readonly string[], expiresAt: number, fence?: Fence): Promise<void> {
    if (ids.length === 0) return;
    await this.fencedWrite(fence, { name: 'lakeray_renew_leases', text: SQL.renewLeases, values: [owner, ids, expiresAt, fence?.executor ?? null] });
  }

  async takeLeases(owner: string, tasks: readonly Task[], expiresAt: number, fence?: Fence): Promise<string[]> {
    if (tasks.length === 0) return [];
    const values = [owner, expiresAt, tasks.map((t) => t.id), tasks.map((t) => t.lease_owner), tasks.map((t) => t.lease_expires_at), fence?.executor ?? null];
    const result = await this.fencedWrite<{ id: string }>(fence, { name: 'lakeray_take_leases', text: SQL.takeLeases, values });
    return (result?.rows ?? []).map((r) => r.id);
  }

  async recordPlacements(owner: string, placements: readonly { id: string; assignment: Assignment }[], fence?: Fence): Promise<number> {
    if (placements.length === 0) return 0;
    const values = [owner, placements.map((p) => p.id), placements.map((p) => JSON.stringify(p.assignment)), fence?.executor ?? null];
    const result = await this.fencedWrite(fence, { name: 'lakeray_record_placements', text: SQL.recordPlacements, values });
    return result?.rowCount ?? 0;
  }

  /** One write statement; with a fence, in a transaction that first checks (and share-locks) it. Undefined when refused. */
  private async fencedWrite<R extends pg.QueryResultRow>(fence: Fence | undefined, query: pg.QueryConfig): Promise<pg.QueryResult<R> | undefined> {
    if (fence === undefined) return this.db.execute<R>(query);
    return this.db.transaction(async (client) => ((await this.owners.checker(client)(fence)) ? client.query<R>(query) : undefined));
  }

  claimExecutor(executor: string, owner: string, now: number, ttlMs: number, steal = false): Promise<ExecutorOwnership | null> {
    return this.owners.claim(executor, owner, now, ttlMs, steal);
  }

  renewExecutor(fence: Fence, owner: string, now: number, ttlMs: number): Promise<boolean> {
    return this.owners.renew(fence, owner, now, ttlMs);
  }

  releaseExecutor(fence: Fence, owner: string, now: number): Promise<boolean> {
    return this.owners.release(fence, owner, now);
  }

  returnQueued(executor: string): Promise<string[]> {
    return this.nodeQueues.returnQueued(executor);
  }

  executorOwners(): Promise<ExecutorOwnership[]> {
    return this.owners.all();
  }

  pruneExecutors(executors: readonly string[], lapsedBefore: number): Promise<string[]> {
    return this.owners.prune(executors, lapsedBefore);
  }

  async delete(id: string): Promise<boolean> {
    const { rowCount } = await this.db.execute({ name: 'lakeray_delete_task', text: SQL.deleteTerminalTask, values: [id] });
    return rowCount === 1;
  }

  async counts(): Promise<{ executor: string; status: TaskStatus; count: number }[]> {
    return this.db.query<{ executor: string; status: TaskStatus; count: number }>({ name: 'lakeray_counts', text: SQL.counts });
  }

  /** Calls `onQueued(executor)` whenever any process queues a task (LISTEN lakeray_queued). Returns the unsubscribe. */
  watchQueued(onQueued: (executor: string) => void): () => void {
    this.listener ??= new QueuedListener(this.url);
    return this.listener.add(onQueued);
  }

  async close(): Promise<void> {
    await this.listener?.close();
    await this.db.close();
  }
}
