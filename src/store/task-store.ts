/**
 * TaskStore: the durable queue and event log. The queue IS the store: there is no second
 * queue to keep in sync. Every implementation (sqlite/, later postgres/) passes the same
 * conformance suite in test/integration/store/conformance.ts.
 *
 * Contract highlights:
 * - `transition` is one atomic compare-and-set: it applies only when the task's current
 *   status is in `from` (and, when given, the lease owner matches), and it appends the
 *   matching `state` event in the same transaction. It returns null when the CAS failed.
 * - Events get per-task, gap-free sequence numbers starting at 1, assigned by the store.
 * - Idempotency: (tenant, idempotency_key) is unique; `insert` returns the existing task
 *   when the key exists with the same body hash and throws IDEMPOTENCY_CONFLICT otherwise.
 * - Every method is async so a networked database (PostgreSQL) implements the same
 *   interface; the embedded SQLite store resolves at once.
 * - Executor ownership (see `ExecutorOwnership` below): one scheduler process owns an
 *   executor at a time, under an epoch that grows on every takeover. The writes an owner
 *   makes for its executor's tasks carry a `Fence`; the store refuses them, in their own
 *   transaction, once the epoch is not current. Conformance: conformance-ownership.ts.
 */
import type { AuditStore } from './audit-store.ts';
import type { DeploymentStore } from './deployment-store.ts';
import type { TenantStore } from './tenant-store.ts';
import type { KeyStore } from './key-store.ts';
import type { EventType, NewEvent, TaskEvent } from '../domain/events.ts';
import type { Assignment, Task, TaskStatus } from '../domain/task.ts';
import type { LakePinStore } from './lake-pin-store.ts';
import type { WebhookOutboxStore } from './webhook-outbox-store.ts';

export interface NewTask {
  task: Task;
  /** Hash of the submitted body, compared when the idempotency key is reused. */
  body_hash: string | null;
}

export interface InsertResult {
  task: Task;
  /** false when an idempotency key returned an existing task */
  created: boolean;
}

export interface TaskFilter {
  tenant?: string;
  status?: TaskStatus[];
  name?: string;
  executor?: string;
  /** Opaque cursor from a previous page. */
  cursor?: string;
  limit: number;
}

export interface TaskPage {
  tasks: Task[];
  /** null when this was the last page */
  next_cursor: string | null;
}

export interface QueuedQuery {
  executor: string;
  now: number;
  /** At most this many candidates per tenant (ordered by priority desc, created_at, id). */
  per_tenant: number;
  /** At most this many candidates in all (many tenants); the highest priority, oldest first. */
  limit: number;
  /**
   * The shared queue `executor` also serves (a node's `local@<node>` serves `local`,
   * engine/node-queues.ts): its queued tasks are candidates too, merged with the executor's own
   * in dispatch order (`per_tenant` counts both). A claim of one names it (TransitionRequest.shared_queue).
   */
  shared?: string;
}

/** Fields a transition may change besides status. */
export type TaskPatch = Partial<
  Pick<
    Task,
    | 'attempt'
    | 'started_at'
    | 'finished_at'
    | 'not_before'
    | 'progress'
    | 'result'
    | 'error'
    | 'lease_owner'
    | 'lease_expires_at'
    | 'assignment'
    | 'cancel_reason'
  >
>;

/**
 * A fencing token: the executor an owner writes for and the epoch it holds
 * (`claimExecutor`). A write that carries one applies only while `epoch` is the executor's
 * current epoch in the owners table — checked inside the write's own transaction, so a
 * takeover commits either wholly before or wholly after it — and only to tasks whose
 * `executor` is `fence.executor`. A refused write looks like a lost compare-and-set (null
 * slot, nothing renewed, nothing taken, 0 rows); it throws nothing. Expiry is not checked: an
 * owner whose lease lapsed but whom nobody replaced still writes safely (nobody else acts).
 */
export interface Fence {
  executor: string;
  epoch: number;
}

/** A tenant's `max_queued` checked in the insert of its submission (TaskStore.insert). */
export interface QueuedQuota {
  tenant: string;
  max_queued: number;
  /** The error to throw when `queued` (stored) plus `adds` (new tasks) pass `max_queued`. */
  refuse(queued: number, adds: number): Error;
}

/** One row of the executor owners table. */
export interface ExecutorOwnership {
  executor: string;
  /** null after `releaseExecutor`. */
  owner: string | null;
  /** 1 on the first claim, +1 on every claim after (a takeover, a release then claim, a steal). */
  epoch: number;
  /** Epoch ms; the ownership is free to claim from this instant on (expires_at <= now). */
  expires_at: number;
}

export interface TransitionRequest {
  id: string;
  /** When set, the write is fenced (see Fence): refused (null) unless the epoch is current. */
  fence?: Fence;
  from: readonly TaskStatus[];
  to: TaskStatus;
  /** When set, the CAS also requires this lease owner. */
  lease_owner?: string;
  /**
   * With `fence`, when fence.executor is a node's executor of this shared queue
   * (`<shared_queue>@<node>`, servesQueue): the CAS also applies to a task of the shared queue,
   * and moves it to fence.executor, remembering the shared queue as its home (`returnQueued`
   * gives it back). Claims of a node's executor set it: one statement takes a shared task and
   * starts it. Ignored otherwise.
   */
  shared_queue?: string;
  /**
   * A claim (`to: 'running'`) of a task of a tenant with a `max_running` quota. A store shared
   * by several processes (PostgreSQL) does not start more of the tenant's tasks than the quota
   * leaves, counting every process's running ones in the claim's own transaction; a request
   * over it is refused (null). A single-process store may leave it to its one dispatcher, whose
   * own count is exact. Claims of tenants without the quota leave it unset (nothing extra is
   * done for them).
   */
  running_quota?: { tenant: string; max_running: number };
  patch: TaskPatch;
  /** Extra data recorded on the `state` event (reason, error code…). */
  event?: Record<string, unknown>;
  /**
   * Events appended just before the `state` event, in the same transaction (a task's
   * `result` with the state that ends it). Only when the compare-and-set applies.
   */
  before?: readonly { type: Exclude<EventType, 'state' | 'progress'>; data: Record<string, unknown> }[];
  now: number;
}

/** Whether `executor` is a node's executor of the shared queue `shared` (`<shared>@<node>`). */
export const servesQueue = (executor: string, shared: string): boolean => shared.length > 0 && executor.length > shared.length + 1 && executor.startsWith(`${shared}@`);

/** The shared queue a fenced claim may also take from (TransitionRequest.shared_queue), or undefined. */
export const sharedQueueOfClaim = (r: TransitionRequest): string | undefined =>
  r.fence !== undefined && r.shared_queue !== undefined && servesQueue(r.fence.executor, r.shared_queue) ? r.shared_queue : undefined;

export interface TransitionResult {
  task: Task;
  /** The `state` event appended with the transition. */
  event: TaskEvent;
  /** The `before` events as stored, in order (their seqs precede the state event's). */
  before: TaskEvent[];
}

export interface TaskStore {
  /** Webhook deliveries waiting to be sent or retried, in the same database. */
  readonly webhooks: WebhookOutboxStore;
  /** What running tasks hold in the lake (pins, tables written), in the same database. */
  readonly lakePins: LakePinStore;
  /** Serving deployments, in the same database. */
  readonly deployments: DeploymentStore;
  /** Tenant settings overrides and usage, in the same database. */
  readonly tenants: TenantStore;
  /** API keys and the audit log of admin actions (src/auth), in the same database. */
  readonly keys: KeyStore;
  readonly audit: AuditStore;
  /**
   * Insert new tasks (one transaction) and append their first `state` event. `quota`: the
   * tasks are all of that tenant, which may have at most `max_queued` queued; a store shared by
   * several processes checks it in the insert's transaction and throws `refuse(...)` (nothing
   * stored) when the tasks would pass it. A single-process store may leave that check to its
   * caller (tenants/quotas.ts serialises a tenant's check-then-insert there).
   */
  insert(tasks: NewTask[], now: number, quota?: QueuedQuota): Promise<{ results: InsertResult[]; events: TaskEvent[] }>;
  get(id: string): Promise<Task | null>;
  list(filter: TaskFilter): Promise<TaskPage>;
  /** Dispatch candidates for one executor, fair-share friendly (top N per tenant). */
  queued(query: QueuedQuery): Promise<Task[]>;
  /**
   * Queued tasks of `executor` that came from a shared queue (claimed there through
   * TransitionRequest.shared_queue, then re-queued: a retry, a stop) go back to it (a node died
   * or stopped before it ran them again); tasks submitted to `executor` itself stay. Returns
   * the ids moved.
   */
  returnQueued(executor: string): Promise<string[]>;
  /**
   * For each id that is queued: how many queued tasks of its executor come before it in
   * dispatch order (0 = next). Ids not queued (or unknown) are absent from the map.
   */
  queuePositions(ids: readonly string[]): Promise<Map<string, number>>;
  /** Apply several transitions in one transaction; failed CASes give null in their slot. */
  transition(requests: TransitionRequest[]): Promise<(TransitionResult | null)[]>;
  /**
   * Append events (one transaction), assigning sequence numbers; latest progress is kept on the
   * task row. An event with a `fence` is dropped (absent from the result) unless the fence is
   * current and the task belongs to fence.executor, like a fenced transition.
   */
  appendEvents(events: NewEvent[]): Promise<TaskEvent[]>;
  readEvents(taskId: string, afterSeq: number, limit: number, types?: readonly string[]): Promise<TaskEvent[]>;
  /**
   * Tasks in `running`/`cancelling` whose lease has expired before `now` or has no expiry,
   * or (when `exclusive`) is held by anyone but `owner`.
   */
  staleLeases(owner: string, now: number, exclusive: boolean): Promise<Task[]>;
  /** Extends the leases `owner` holds among `ids`. With `fence`: nothing at all unless it is current (see Fence). */
  renewLeases(owner: string, ids: readonly string[], expiresAt: number, fence?: Fence): Promise<void>;
  /**
   * Take over the leases of stale tasks (as `staleLeases` read them: a compare-and-set on
   * their lease owner and expiry, so that of several instances only one wins a task). Returns
   * the ids taken. With `fence`: [] unless it is current, and only tasks of fence.executor.
   */
  takeLeases(owner: string, tasks: readonly Task[], expiresAt: number, fence?: Fence): Promise<string[]>;
  /**
   * Record where running tasks' processes are (pid, worker, GPUs), so a later instance can
   * kill them if this one dies. Applies only to running/cancelling tasks whose lease `owner`
   * holds; returns how many rows it updated. With `fence`: 0 unless it is current, and only
   * tasks of fence.executor.
   */
  recordPlacements(owner: string, placements: readonly { id: string; assignment: Assignment }[], fence?: Fence): Promise<number>;
  /**
   * Claim an executor for `owner` (one atomic upsert). It succeeds when the executor has no
   * row yet (epoch 1), when its ownership expired (expires_at <= now) or was released, or
   * with `steal` (the caller knows the holder is dead: the embedded single process after a
   * restart); the epoch then becomes the previous one + 1 and expires_at now + ttlMs. It
   * returns null, changing nothing, while anyone — `owner` itself included — holds it
   * unexpired (an owner keeps it with renewExecutor, not by claiming again).
   */
  claimExecutor(executor: string, owner: string, now: number, ttlMs: number, steal?: boolean): Promise<ExecutorOwnership | null>;
  /**
   * Extend an ownership to now + ttlMs. Only while fence.epoch is the executor's current
   * epoch and `owner` holds it (even if it expired meanwhile: nobody replaced it). false
   * means deposed (or released): the caller stops acting for that executor.
   */
  renewExecutor(fence: Fence, owner: string, now: number, ttlMs: number): Promise<boolean>;
  /**
   * Give an ownership up (graceful stop): owner becomes null and expires_at `now`, so another
   * process claims it at once; the epoch stays and the next claim moves it on. false, and
   * nothing changed, when fence is not current or `owner` does not hold it.
   */
  releaseExecutor(fence: Fence, owner: string, now: number): Promise<boolean>;
  /** Every executor's ownership row, by executor name. */
  executorOwners(): Promise<ExecutorOwnership[]>;
  /**
   * Delete the ownership rows of those `executors` that lapsed (expires_at <= lapsedBefore; a
   * released one too) and that no queued, running or cancelling task names: a dead node's
   * `local@<node>` nobody needs any more. Atomic per row against a concurrent renew or claim
   * (one committed first keeps the row). The pruned epoch is kept, so the claim that
   * re-creates the row moves on from it: an executor's epoch never goes back. Returns the
   * executors pruned, sorted.
   */
  pruneExecutors(executors: readonly string[], lapsedBefore: number): Promise<string[]>;
  /** Delete a finished task and its events. Returns false when it was not terminal or absent. */
  delete(id: string): Promise<boolean>;
  /** Counts of active tasks (queued, running, cancelling) per executor and status, for metrics and /ready. */
  counts(): Promise<{ executor: string; status: TaskStatus; count: number }[]>;
  /**
   * Only stores shared by several processes (PostgreSQL): calls `onQueued(executor)` after any
   * process committed a task queued on that executor, and with '*' when such calls may have
   * been missed (e.g. after a reconnect). Returns the unsubscribe. Hints only: the store
   * stays the queue, a dispatcher woken this way reads it.
   */
  watchQueued?(onQueued: (executor: string) => void): () => void;
  /** Only networked stores: whether the database can be reached now, and why not (for /ready). */
  health?(): Promise<{ ok: boolean; reason?: string }>;
  close(): Promise<void>;
}
