/**
 * The engine: the task use cases (submit, get, list, cancel, delete, events) over the store,
 * the event bus and the executors. No HTTP in here; api/ and cli/ reach it through
 * TaskService.
 */
import { randomUUID } from 'node:crypto';
import type { ArtifactStore } from '../artifacts/artifact-store.ts';
import type { Config } from '../config/schema.ts';
import { LakerayError } from '../domain/errors.ts';
import type { TaskEvent } from '../domain/events.ts';
import type { ServiceEndpoint } from '../domain/service.ts';
import { isTerminal, type Task } from '../domain/task.ts';
import type { EventBus, EventHandler, Subscription } from '../events/event-bus.ts';
import type { Executor } from '../executors/executor.ts';
import type { TaskPage, TaskStore } from '../store/task-store.ts';
import type { ArtifactService } from './artifact-service.ts';
import { engineStats } from './engine-stats.ts';
import { Dispatcher } from './dispatcher.ts';
import { EventWriter } from './event-writer.ts';
import { NO_OBSERVER, type EngineObserver } from './observer.ts';
import { NodeExecutorNames, sharedQueueOf } from './node-queues.ts';
import { NodeRecovery } from './node-recovery.ts';
import { Ownership } from './ownership.ts';
import { Reconciler } from './reconciler.ts';
import { bodyHash, compileTask, type SubmissionContext } from './submission.ts';
import type { TaskInput } from './task-input.ts';
import type { Caller, EngineStats, ListQuery, SubmitResult, TaskService } from './task-service.ts';
import { TransitionTap } from './transition-tap.ts';
import { SeedProgress } from './seed-progress.ts';
import { allTasks } from './task-pages.ts';
import { tenantArtifacts } from './tenant-artifacts.ts';
import { ServiceLookup } from './service-lookup.ts';
import type { EntryVerdict } from '../events/sources/redis-progress-stream.ts';
import type { SeedProgressEntry } from '../events/sources/seed-progress-entry.ts';
import { WebhookNotifier } from '../webhooks/notifier.ts';
import { TenantDirectory } from '../tenants/directory.ts';
import { GpuMeter } from '../tenants/gpu-meter.ts';
import { SubmitQuotas } from '../tenants/quotas.ts';

export interface EngineDeps {
  config: Readonly<Config>;
  store: TaskStore;
  bus: EventBus;
  executors: ReadonlyMap<string, Executor>;
  /** Pool names per executor (validated at submit). */
  pools?: ReadonlyMap<string, ReadonlySet<string>>;
  observer?: EngineObserver;
  /** Where the files tasks report go (ctx.artifact); without it artifact events pass as reported. */
  artifacts?: ArtifactStore;
  /**
   * True when this instance is the store's only user (embedded SQLite): it takes its
   * executors' ownership at once on start (its predecessor is dead) instead of waiting out
   * the ownership's ttl, and recovers tasks of executors no longer configured.
   */
  exclusiveStore?: boolean;
  /**
   * False for an API-only process (`lakeray up --role api`): it owns no executor and never
   * dispatches; its cancels reach the owners through the store (they scan for `cancelling`).
   */
  schedule?: boolean;
  /**
   * True when the store is shared by several nodes: the local executor is node-scoped
   * (`local@<node>`, node-queues.ts). A submit may name `local` (any node) or `local@<node>`
   * (that node); this process recovers other nodes' executors when they die (node-recovery.ts).
   */
  nodeScoped?: boolean;
  now?: () => number;
  /** How often running tasks' GPU-seconds are charged to their tenants (tenants/gpu-meter.ts); default 5000. */
  gpuChargeMs?: number;
  onError?: (err: unknown, context: string) => void;
}

export class Engine implements TaskService {
  readonly instanceId = `i_${randomUUID()}`;
  private readonly writer: EventWriter;
  private readonly dispatcher: Dispatcher;
  private readonly reconciler: Reconciler;
  private readonly ownership: Ownership;
  /** Other nodes' executors, recovered when they die (shared stores only). */
  private readonly nodes: NodeRecovery | undefined;
  private recovered = 0;
  private readonly submission: SubmissionContext;
  private readonly now: () => number;
  private state: 'new' | 'ready' | 'stopping' = 'new';
  private readonly webhooks: WebhookNotifier;
  private readonly seedProgress: SeedProgress;
  /** Stops the store's cross-process wake-ups (shared stores only). */
  private unwatchQueued: (() => void) | undefined;
  /** The tasks' artifacts, for the API; null without an artifact store. */
  readonly artifacts: ArtifactService | null;
  /** Tenants' effective settings (config + stored overrides), and the meter of their GPU-seconds. */
  readonly tenants: { directory: TenantDirectory; meter: GpuMeter };
  private readonly quotas: SubmitQuotas;
  private readonly serviceLookup: ServiceLookup;

  constructor(private readonly deps: EngineDeps) {
    this.now = deps.now ?? Date.now;
    const observer = deps.observer ?? NO_OBSERVER;
    const inner = deps.store;
    this.writer = new EventWriter(
      inner,
      deps.bus,
      (events) => observer.events(events.length),
      (err) => deps.onError?.(err, 'write events'),
    );
    this.webhooks = new WebhookNotifier({
      config: deps.config.webhooks,
      outbox: inner.webhooks,
      writer: this.writer,
      bus: deps.bus,
      artifacts: deps.artifacts,
      now: this.now,
      onError: deps.onError,
    });
    // Every component below sees the store through the tap: webhooks learn of each transition.
    const observe = (results: Parameters<WebhookNotifier['observe']>[0]) => {
      try {
        this.webhooks.observe(results);
      } catch (err) {
        deps.onError?.(err, 'webhooks'); // never the transition's problem
      }
    };
    deps = { ...deps, store: new TransitionTap(inner, observe) };
    this.deps = deps;
    this.artifacts = deps.artifacts ? tenantArtifacts(deps.artifacts, (caller, id) => this.get(caller, id)) : null;
    const directory = new TenantDirectory(inner.tenants, deps.config.tenants, this.now);
    const meter = new GpuMeter({ store: inner.tenants, now: this.now, tickMs: deps.gpuChargeMs, onError: deps.onError });
    this.tenants = { directory, meter };
    this.serviceLookup = new ServiceLookup(deps.store, deps.executors);
    this.quotas = new SubmitQuotas({ directory, store: inner.tenants, meter, now: this.now });
    this.dispatcher = new Dispatcher({
      store: deps.store,
      executors: deps.executors,
      writer: this.writer,
      observer,
      config: deps.config,
      instanceId: this.instanceId,
      fenceOf: (executor) => this.ownership.fenceOf(executor),
      artifacts: deps.artifacts,
      tenants: this.tenants,
      now: this.now,
      onError: deps.onError,
    });
    // Nothing starts before recovery (start()): the server may already take submissions and polls.
    for (const name of deps.executors.keys()) this.dispatcher.pause(name, true);
    this.reconciler = new Reconciler({
      store: deps.store,
      executors: deps.executors,
      dispatcher: this.dispatcher,
      writer: this.writer,
      instanceId: this.instanceId,
      leaseMs: deps.config.tasks.lease_ms,
      fenceOf: (executor) => this.ownership.fenceOf(executor),
      now: this.now,
      onError: deps.onError,
    });
    this.ownership = new Ownership({
      store: deps.store,
      executors: deps.schedule === false ? [] : [...deps.executors.keys()],
      owner: this.instanceId,
      ttlMs: deps.config.scheduler.ownership_ttl_ms,
      renewMs: deps.config.scheduler.ownership_renew_ms,
      steal: deps.exclusiveStore ?? true,
      gained: (executor) => this.gained(executor),
      lost: (executor) => this.dispatcher.deposed(executor),
      round: async (owned) => {
        await this.scanCancels(owned);
        this.recovered += (await this.nodes?.sweep()) ?? 0;
      },
      now: this.now,
      onError: deps.onError,
    });
    this.seedProgress = new SeedProgress({
      writer: this.writer,
      run: (id) => this.dispatcher.runOf(id),
      getTask: (id) => this.deps.store.get(id),
      whenSettled: (id) => this.dispatcher.whenSettled(id),
      now: this.now,
    });
    if (deps.nodeScoped && deps.schedule !== false) {
      this.nodes = new NodeRecovery({
        store: deps.store,
        own: new Set(deps.executors.keys()),
        instanceId: this.instanceId,
        ttlMs: deps.config.scheduler.ownership_ttl_ms,
        leaseMs: deps.config.tasks.lease_ms,
        published: (events) => this.writer.published(events),
        queueChanged: () => this.dispatcher.queueChanged(),
        now: this.now,
        onError: deps.onError,
      });
    }
    const first = deps.executors.keys().next();
    const firstName = first.done ? 'local' : first.value;
    this.submission = {
      config: deps.config,
      executors: deps.nodeScoped ? new NodeExecutorNames(deps.executors) : deps.executors,
      pools: deps.nodeScoped ? new NodeExecutorNames(deps.pools ?? new Map()) : (deps.pools ?? new Map()),
      // `local`, not this node's `local@<node>`: a task that names no executor runs on any node.
      defaultExecutor: sharedQueueOf(firstName) ?? firstName,
    };
  }

  /**
   * Claim the executors' ownership (recovering what a previous owner left on each one won),
   * then start dispatching. A standby owns nothing yet: it keeps claiming (ownership.ts).
   */
  async start(): Promise<{ recovered: number }> {
    if (this.deps.schedule !== false) {
      await this.ownership.start();
      if (this.deps.exclusiveStore ?? true) this.recovered += await this.reconciler.recoverUnconfigured();
      this.reconciler.startLeaseLoop();
    }
    this.state = 'ready';
    // Tasks another process (an API replica) queued in a shared store: its commit wakes this dispatcher too.
    if (this.deps.schedule !== false) this.unwatchQueued = this.deps.store.watchQueued?.(() => this.dispatcher.queueChanged());
    this.dispatcher.wake();
    const recovered = this.recovered;
    this.recovered = 0;
    return { recovered };
  }

  /** Won an executor's ownership: its tasks are recovered before anything new starts there. */
  private async gained(executor: string): Promise<void> {
    this.dispatcher.pause(executor, true);
    this.recovered += await this.reconciler.recoverExecutor(executor);
    // An executor whose re-attach failed stays held: the lease loop asks it again (reconciler.ts).
    if (!this.reconciler.unreachable.includes(executor)) this.dispatcher.pause(executor, false);
    await this.deps.executors.get(executor)?.prewarm?.();
  }

  /** Cancels made by other processes: `cancelling` tasks of the executors owned here that still run. */
  private async scanCancels(owned: readonly string[]): Promise<void> {
    for (const executor of owned) {
      for await (const t of allTasks(this.deps.store, { executor, status: ['cancelling'] })) {
        if (this.dispatcher.isRunningHere(t.id) && !this.dispatcher.cancelRequested(t.id)) this.dispatcher.cancelRunning(t.id);
      }
    }
  }

  /** Stop dispatching; running tasks are stopped and re-queued for the next start; the executors' ownership is given up. */
  async stop(): Promise<void> {
    this.state = 'stopping';
    this.unwatchQueued?.();
    this.reconciler.stop();
    this.ownership.stopClaiming();
    await this.dispatcher.stop();
    await this.tenants.meter.stop();
    await this.ownership.stop();
    // What this node took from a shared queue and did not start: any node may run it now.
    if (this.deps.nodeScoped) for (const name of this.deps.executors.keys()) if (sharedQueueOf(name) !== undefined) await this.deps.store.returnQueued(name).catch((err) => this.deps.onError?.(err, `return queued tasks of ${name}`));
    await this.webhooks.close();
    await this.writer.flush();
  }

  /** Resolves once the events reported so far are stored; rejects when storing failed (event-writer.ts). */
  eventsStored(): Promise<void> {
    return this.writer.stored();
  }

  /**
   * One entry of the seed's Redis progress stream (RedisProgressStream's onEntry): its
   * progress, result or error applied to the task; resolves once stored (seed-progress.ts).
   * A result or error waits up to `resultGraceMs` for the task's process to end on its own.
   */
  progressEntry(entry: SeedProgressEntry, resultGraceMs = 0): Promise<EntryVerdict> {
    return this.seedProgress.apply(entry, resultGraceMs);
  }

  ready(): boolean {
    return this.state === 'ready';
  }

  async storeHealth(): Promise<{ ok: boolean; reason?: string }> {
    return (await this.deps.store.health?.()) ?? { ok: true };
  }

  /**
   * Executors that cannot take work now: their health says so, or re-attaching their tasks
   * after a restart failed. Their tasks stay queued; other executors' work goes on.
   */
  unreachableExecutors(): { name: string; message: string }[] {
    const unreached = new Set(this.reconciler.unreachable);
    const out: { name: string; message: string }[] = [];
    for (const [name, ex] of this.deps.executors) {
      const health = ex.health?.();
      if (health?.ok === false) out.push({ name, message: health.message ?? `executor ${name} is down` });
      else if (unreached.has(name)) out.push({ name, message: `executor ${name} could not re-attach its tasks` });
    }
    return out;
  }

  async submit(caller: Caller, inputs: TaskInput[], idempotencyKey?: string): Promise<SubmitResult[]> {
    if (this.state === 'stopping') throw new LakerayError('NOT_READY');
    const now = this.now();
    const checkedScripts = new Set<string>();
    const compiled = inputs.map((input, i) => {
      const key = input.idempotency_key ?? (idempotencyKey === undefined ? undefined : inputs.length === 1 ? idempotencyKey : `${idempotencyKey}#${i}`);
      const withKey = key === undefined ? input : { ...input, idempotency_key: key };
      try {
        return { task: compileTask(withKey, caller.tenant, this.submission, now, checkedScripts), body_hash: key === undefined ? null : bodyHash(withKey) };
      } catch (e) {
        if (e instanceof LakerayError && inputs.length > 1) throw new LakerayError(e.code, `tasks[${i}].${e.message}`);
        throw e;
      }
    });
    const { results, events } = await this.quotas.admit(
      caller.tenant,
      compiled.map((c) => c.task),
      (quota) => this.deps.store.insert(compiled, now, quota),
    );
    this.writer.published(events);
    this.dispatcher.queueChanged();
    return results;
  }

  async get(caller: Caller, id: string): Promise<Task> {
    const task = await this.deps.store.get(id);
    if (!task || task.tenant !== caller.tenant) throw new LakerayError('TASK_NOT_FOUND', `Task '${id}' does not exist`);
    return task;
  }

  list(caller: Caller, query: ListQuery): Promise<TaskPage> {
    return this.deps.store.list({ ...query, tenant: caller.tenant, limit: Math.min(1000, Math.max(1, query.limit ?? 50)) });
  }

  async cancel(caller: Caller, id: string): Promise<Task> {
    // Two tries: a queued task may start between our read and our compare-and-set.
    for (let attempt = 0; attempt < 2; attempt++) {
      const task = await this.get(caller, id);
      if (isTerminal(task.status)) throw new LakerayError('TASK_NOT_CANCELLABLE', `Task '${id}' already ${task.status}`);
      if (task.status === 'cancelling') return task;
      const now = this.now();
      const [r] =
        task.status === 'pending'
          ? await this.deps.store.transition([
              { id, from: ['pending'], to: 'cancelled', patch: { finished_at: now, cancel_reason: 'user' }, event: { reason: 'user' }, now },
            ])
          : await this.deps.store.transition([{ id, from: ['running'], to: 'cancelling', patch: { cancel_reason: 'user' }, event: { reason: 'user' }, now }]);
      if (!r) continue;
      this.writer.published([r.event]);
      // Running elsewhere: its owner finds it `cancelling` in the store (scanCancels).
      if (r.task.status === 'cancelling') {
        if (this.dispatcher.isRunningHere(id) || this.ownership.fenceOf(r.task.executor) !== undefined) this.dispatcher.cancelRunning(id);
      }
      else this.dispatcher.wake();
      return r.task;
    }
    return await this.get(caller, id);
  }

  async delete(caller: Caller, id: string): Promise<void> {
    const task = await this.get(caller, id);
    if (!isTerminal(task.status)) throw new LakerayError('TASK_ACTIVE', `Task '${id}' is ${task.status}; cancel it first`);
    if (!(await this.deps.store.delete(id))) throw new LakerayError('TASK_ACTIVE', `Task '${id}' is not finished`);
    await this.deps.artifacts?.deleteTask(id).catch((err) => this.deps.onError?.(err, `delete the artifacts of ${id}`));
  }

  async events(caller: Caller, id: string, afterSeq: number, limit: number, types?: readonly string[]): Promise<TaskEvent[]> {
    await this.get(caller, id);
    return this.deps.store.readEvents(id, afterSeq, Math.min(10_000, Math.max(1, limit)), types);
  }

  subscribe(caller: Caller, sub: Subscription, handler: EventHandler): () => void {
    return this.deps.bus.subscribe({ ...sub, tenant: caller.tenant }, handler);
  }

  queuePositions(ids: readonly string[]): Promise<Map<string, number>> {
    return this.deps.store.queuePositions(ids);
  }

  async serviceEndpoint(caller: Caller, id: string): Promise<ServiceEndpoint | null> {
    const task = await this.get(caller, id);
    if (task.service === null) throw new LakerayError('SERVICE_NOT_RUNNING', `Task '${id}' is not a service task`);
    if (task.status !== 'running') throw new LakerayError('SERVICE_NOT_RUNNING', `Service task '${id}' is ${task.status}`);
    return this.serviceLookup.endpointOf(task);
  }

  /** The caller's running service tasks, on whichever node runs them. */
  services(caller: Caller): Promise<{ task: Task; endpoint: ServiceEndpoint }[]> {
    return this.serviceLookup.running(caller.tenant);
  }

  stats(): Promise<EngineStats> {
    return engineStats(this.deps.store, this.deps.executors.values(), this.dispatcher.ledgers);
  }
}
