/**
 * The default TaskStore: one SQLite file through better-sqlite3 (synchronous, in-process).
 *
 * Every write method is one IMMEDIATE transaction: it takes the write lock up front, so a
 * compare-and-set that reads a status and then updates it can never interleave with another
 * connection (another server process on the same file) doing the same; the loser waits up to
 * busy_timeout, then sees the new status and fails its CAS. That is what makes "a task
 * completes at most once" hold across processes, not only inside one.
 *
 * The TaskStore interface is async (for networked databases); here every method does its
 * work synchronously inside the call and only wraps the outcome in a promise: an `async`
 * method that throws gives a rejected promise, and no work waits for a later tick.
 */
import Database from 'better-sqlite3';
import { LakerayError } from '../../domain/errors.ts';
import type { NewEvent, TaskEvent } from '../../domain/events.ts';
import { canTransition } from '../../domain/lifecycle.ts';
import { type Assignment, isTerminal, type Task, type TaskStatus } from '../../domain/task.ts';
import {
  type ExecutorOwnership,
  type Fence,
  type InsertResult,
  type NewTask,
  type QueuedQuery,
  sharedQueueOfClaim,
  type TaskFilter,
  type TaskPage,
  type TaskStore,
  type TransitionRequest,
  type TransitionResult,
} from '../task-store.ts';
import { SqliteAudit } from './audit.ts';
import { SqliteDeployments } from './deployments.ts';
import { SqliteTenants } from './tenants.ts';
import { SqliteKeys } from './keys.ts';
import { Checkpointer, SAFETY_AUTOCHECKPOINT_PAGES } from './checkpointer.ts';
import { EventBatchInsert, type EventInserts, prepareEventInserts } from './event-batch.ts';
import { buildListQuery, encodeCursor } from './list-query.ts';
import { migrate } from './migrate.ts';
import { QueuedCandidates } from './queued-query.ts';
import { mergeCandidates, SqliteNodeQueues } from './node-queues.ts';
import { SqliteOwners } from './owners.ts';
import { RowMemory } from './row-memory.ts';
import { prepareTaskInserts, TaskBatchInsert } from './task-batch.ts';
import { TransitionStatements } from './transition-query.ts';
import { SQL, type Statements } from './queries.ts';
import { SqliteEventLog } from './event-log.ts';
import { SqliteLeases } from './leases.ts';
import { queuePositions } from './queue-positions.ts';
import { SqliteLakePins } from './lake-pins.ts';
import { SqliteWebhookOutbox } from './webhook-outbox.ts';
import {
  type FixedPart,
  fixedPart,
  type MutableRow,
  mutableOf,
  rowToTask,
  type TaskRow,
  taskFromParts,
  taskToParams,
} from '../rows.ts';

/** How long a writer waits for another connection's lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

export class SqliteTaskStore implements TaskStore {
  private readonly q: Statements;
  readonly webhooks: SqliteWebhookOutbox;
  readonly lakePins: SqliteLakePins;
  private readonly eventInserts: EventInserts;
  private readonly events: SqliteEventLog;
  private readonly leases: SqliteLeases;
  /** list() statements, one per filter shape (a few dozen at most). */
  private readonly listStatements = new Map<string, Database.Statement>();
  private readonly queuedCandidates: QueuedCandidates;
  private readonly transitions: TransitionStatements;
  private readonly memory: RowMemory;
  private readonly taskInserts: ReturnType<typeof prepareTaskInserts>;
  private readonly owners: SqliteOwners;
  private readonly nodeQueues: SqliteNodeQueues;
  readonly deployments: SqliteDeployments;
  readonly tenants: SqliteTenants;
  readonly keys: SqliteKeys;
  readonly audit: SqliteAudit;

  private constructor(
    private readonly db: Database.Database,
    private readonly checkpointer: Checkpointer | null,
  ) {
    this.q = Object.fromEntries(Object.entries(SQL).map(([name, sql]) => [name, db.prepare(sql)])) as Statements;
    this.webhooks = new SqliteWebhookOutbox(db);
    this.lakePins = new SqliteLakePins(db);
    this.eventInserts = prepareEventInserts(db);
    this.queuedCandidates = new QueuedCandidates(db);
    this.transitions = new TransitionStatements(db);
    this.taskInserts = prepareTaskInserts(db);
    this.memory = new RowMemory(db);
    this.deployments = new SqliteDeployments(db);
    this.tenants = new SqliteTenants(db);
    this.keys = new SqliteKeys(db);
    this.audit = new SqliteAudit(db);
    this.owners = new SqliteOwners(db);
    this.nodeQueues = new SqliteNodeQueues(db, (id) => this.memory.forget(id));
    this.events = new SqliteEventLog(db, this.q, this.eventInserts, this.owners, this.memory);
    this.leases = new SqliteLeases(db, this.q, this.owners, this.memory);
  }

  /** Opens (creating if needed) and migrates the database at `path`; ':memory:' is allowed. */
  static open(path: string): SqliteTaskStore {
    const db = new Database(path);
    try {
      // WAL lets readers (API, SSE) run while the dispatcher writes; NORMAL is durable
      // across process crashes in WAL mode and only risks the last commits on power loss.
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      db.pragma('foreign_keys = ON');
      migrate(db);
      if (path === ':memory:') return new SqliteTaskStore(db, null);
      db.pragma(`wal_autocheckpoint = ${SAFETY_AUTOCHECKPOINT_PAGES}`);
      return new SqliteTaskStore(db, new Checkpointer(path, 500, BUSY_TIMEOUT_MS));
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** Runs a write transaction; if it fails, what this store remembered of rows may be ahead of them. */
  private write<T>(tx: Database.Transaction<() => T>): T {
    try {
      return tx.immediate();
    } catch (err) {
      this.memory.writeFailed();
      throw err;
    }
  }

  async insert(tasks: NewTask[], now: number): Promise<{ results: InsertResult[]; events: TaskEvent[] }> {
    const run = this.db.transaction(() => {
      const results: InsertResult[] = [];
      const events: TaskEvent[] = [];
      const taskRows = new TaskBatchInsert(this.taskInserts);
      const eventRows = new EventBatchInsert(this.eventInserts);
      for (const { task, body_hash } of tasks) {
        if (task.idempotency_key !== null) {
          taskRows.flush(); // the lookup must see keys inserted earlier in this batch
          const existing = this.q.getByIdempotencyKey.get({ tenant: task.tenant, key: task.idempotency_key }) as TaskRow | undefined;
          if (existing) {
            // Throwing rolls back the whole batch: nothing of this call is written.
            if (existing.body_hash !== body_hash) {
              throw new LakerayError('IDEMPOTENCY_CONFLICT', `idempotency key "${task.idempotency_key}" was used with a different request body`);
            }
            results.push({ task: rowToTask(existing), created: false });
            continue;
          }
        }
        // The state machine has one entry state; anything else is a bug in the caller.
        if (task.status !== 'pending') throw new LakerayError('INTERNAL_ERROR', `new task ${task.id} must be queued, not ${task.status}`);
        const stored: Task = { ...task, last_seq: 1 };
        const row = taskToParams(stored, body_hash);
        taskRows.add(row);
        this.memory.rememberNew(stored, mutableOf(row));
        const event: TaskEvent = { task_id: task.id, tenant: task.tenant, seq: 1, type: 'state', ts: now, data: { status: 'pending' } };
        eventRows.add(task.id, 1, 'state', now, '{"status":"pending"}');
        results.push({ task: stored, created: true });
        events.push(event);
      }
      taskRows.flush();
      eventRows.flush();
      return { results, events };
    });
    return this.write(run);
  }

  async get(id: string): Promise<Task | null> {
    const row = this.q.getTask.get({ id }) as TaskRow | undefined;
    return row ? rowToTask(row) : null;
  }

  async list(filter: TaskFilter): Promise<TaskPage> {
    const query = buildListQuery(filter);
    let stmt = this.listStatements.get(query.key);
    if (!stmt) {
      stmt = this.db.prepare(query.sql);
      this.listStatements.set(query.key, stmt);
    }
    const rows = stmt.all(query.params) as TaskRow[];
    const limit = Math.max(0, Math.floor(filter.limit));
    const page = rows.slice(0, limit).map(rowToTask);
    const last = page[page.length - 1];
    return { tasks: page, next_cursor: rows.length > limit && last ? encodeCursor(last.created_at, last.id) : null };
  }

  async queued(query: QueuedQuery): Promise<Task[]> {
    const { shared, ...own } = query;
    if (shared !== undefined && shared !== query.executor) {
      // A node's executor and its shared queue (one process here: two reads, merged).
      const [a, b] = [await this.queued(own), await this.queued({ ...own, executor: shared })];
      return mergeCandidates(a, b, query.per_tenant, query.limit);
    }
    // Queued tasks were usually inserted through this store: their fixed part (params,
    // resources…) is known, and candidates are read with their mutable columns only. The
    // fixed part of the others (tasks from before a restart) is read once, then kept.
    const rows = this.queuedCandidates.run(query, this.memory.current);
    const parts = rows.map((r) => this.memory.fixedOf(r.id));
    const unknown = rows.filter((_, i) => parts[i] === undefined).map((r) => r.id);
    if (unknown.length > 0) {
      const read = new Map<string, FixedPart>();
      for (const row of this.q.tasksAmong.all({ ids: JSON.stringify(unknown) }) as TaskRow[]) read.set(row.id, this.memory.rememberFixed(rowToTask(row)));
      rows.forEach((r, i) => (parts[i] ??= read.get(r.id)));
    }
    const out: Task[] = [];
    rows.forEach((row, i) => {
      const fixed = parts[i];
      if (fixed === undefined) return; // deleted since the read
      out.push(taskFromParts(fixed, row));
      this.memory.rememberRow(row.id, row); // a row of its own (read, or copied from what was known)
    });
    return out;
  }

  async queuePositions(ids: readonly string[]): Promise<Map<string, number>> {
    return queuePositions(this.db, this.q, ids);
  }

  async transition(requests: TransitionRequest[]): Promise<(TransitionResult | null)[]> {
    const run = this.db.transaction(() => {
      this.memory.checkVersion();
      // The state events of a batch go in multi-row INSERTs, like appendEvents' rows.
      const rows = new EventBatchInsert(this.eventInserts);
      const fenced = this.owners.checker();
      const results = requests.map((r) => (fenced(r.fence) ? this.transitionOne(r, rows) : null));
      rows.flush();
      return results;
    });
    return this.write(run);
  }

  /** One compare-and-set; runs inside the caller's transaction, its events go to `rows`. */
  private transitionOne(r: TransitionRequest, rows: EventBatchInsert): TransitionResult | null {
    // Only sources the state machine allows: an illegal request can never apply.
    const from = r.from.every((f) => canTransition(f, r.to)) ? r.from : r.from.filter((f) => canTransition(f, r.to));
    if (from.length === 0) return null;
    const extra = r.before ?? [];
    const shared = sharedQueueOfClaim(r);
    const known = shared === undefined ? this.memory.rowOf(r.id) : undefined;
    const row = this.transitions.run(r.id, from, r.to, r.now, r.patch, r.lease_owner, r.fence?.executor, shared, extra.length + 1, known);
    if (!row) return null;
    // A node's claim may have moved the task to its executor (a fixed column): read it anew.
    if (shared !== undefined) this.memory.forget(r.id);
    const fixed = this.memory.rememberRow(r.id, row) ?? this.fixedAfterWrite(r.id, row);
    const task = taskFromParts(fixed, row);
    const seq = task.last_seq;
    const before = extra.map((e, i): TaskEvent => {
      const ev: TaskEvent = { task_id: task.id, tenant: task.tenant, seq: seq - extra.length + i, type: e.type, ts: r.now, data: e.data };
      rows.add(ev.task_id, ev.seq, ev.type, ev.ts, JSON.stringify(ev.data));
      return ev;
    });

    // status is set last so the event can never claim a state the task is not in.
    const data: Record<string, unknown> = { status: r.to, ...r.event };
    data.status = r.to;
    const event: TaskEvent = { task_id: task.id, tenant: task.tenant, seq, type: 'state', ts: r.now, data };
    rows.add(event.task_id, seq, event.type, event.ts, JSON.stringify(data));
    return { task, event, before };
  }

  /** The fixed part of a task the memory did not know, read from its row (kept unless it finished). */
  private fixedAfterWrite(id: string, row: MutableRow): FixedPart {
    const task = rowToTask(this.q.getTask.get({ id }) as TaskRow);
    return isTerminal(row.status) ? fixedPart(task) : this.memory.rememberFixed(task);
  }

  async appendEvents(events: NewEvent[]): Promise<TaskEvent[]> {
    return this.write(this.events.append(events));
  }

  async readEvents(taskId: string, afterSeq: number, limit: number, types?: readonly string[]): Promise<TaskEvent[]> {
    return this.events.read(taskId, afterSeq, limit, types);
  }

  async staleLeases(owner: string, now: number, exclusive: boolean): Promise<Task[]> {
    return this.leases.stale(owner, now, exclusive);
  }

  async renewLeases(owner: string, ids: readonly string[], expiresAt: number, fence?: Fence): Promise<void> {
    if (ids.length === 0) return;
    this.write(this.leases.renew(owner, ids, expiresAt, fence));
  }

  async takeLeases(owner: string, tasks: readonly Task[], expiresAt: number, fence?: Fence): Promise<string[]> {
    if (tasks.length === 0) return [];
    return this.write(this.leases.take(owner, tasks, expiresAt, fence));
  }

  async recordPlacements(owner: string, placements: readonly { id: string; assignment: Assignment }[], fence?: Fence): Promise<number> {
    if (placements.length === 0) return 0;
    return this.write(this.leases.recordPlacements(owner, placements, fence));
  }

  async claimExecutor(executor: string, owner: string, now: number, ttlMs: number, steal = false): Promise<ExecutorOwnership | null> {
    return this.owners.claim(executor, owner, now, ttlMs, steal);
  }

  async renewExecutor(fence: Fence, owner: string, now: number, ttlMs: number): Promise<boolean> {
    return this.owners.renew(fence, owner, now, ttlMs);
  }

  async releaseExecutor(fence: Fence, owner: string, now: number): Promise<boolean> {
    return this.owners.release(fence, owner, now);
  }

  async executorOwners(): Promise<ExecutorOwnership[]> {
    return this.owners.all();
  }

  async pruneExecutors(executors: readonly string[], lapsedBefore: number): Promise<string[]> {
    return this.owners.prune(executors, lapsedBefore);
  }

  async returnQueued(executor: string): Promise<string[]> {
    return this.write(this.nodeQueues.returnQueued(executor));
  }

  async delete(id: string): Promise<boolean> {
    this.memory.forget(id);
    const run = this.db.transaction(() => {
      if (this.q.deleteTerminalTask.run({ id }).changes === 0) return false;
      // ON DELETE CASCADE already removed the log; explicit so it holds without the pragma.
      this.q.deleteEvents.run({ id });
      return true;
    });
    return run.immediate();
  }

  async counts(): Promise<{ executor: string; status: TaskStatus; count: number }[]> {
    return this.q.counts.all() as { executor: string; status: TaskStatus; count: number }[];
  }

  async close(): Promise<void> {
    await this.checkpointer?.close();
    if (this.db.open) this.db.close();
  }
}
