/**
 * An in-memory TaskService for the API tests, until the real engine is wired in. It keeps
 * the contract's observable rules (tenant scoping — also of live subscriptions —,
 * all-or-nothing submit, idempotency, cancel/delete conflicts, gap-free per-task seq,
 * store-then-publish on a MemoryEventBus) and adds test controls: start/finish tasks, emit
 * events, count writes, and hooks that run inside `events()` / `get()` to simulate events
 * written while a read is in flight.
 *
 * Every async method behaves like a networked store: it yields to the event loop
 * (setImmediate) before it looks at its data and again before it answers, so bus publishes
 * really do interleave with reads. `inFlight` counts calls not yet answered; `settled()`
 * waits until there are none.
 */
import { LakerayError } from '../../../src/domain/errors.ts';
import type { EventType, TaskEvent } from '../../../src/domain/events.ts';
import { resources } from '../../../src/domain/resources.ts';
import { DEFAULT_SERVICE, type ServiceEndpoint } from '../../../src/domain/service.ts';
import { isTerminal, type Task, type TaskStatus } from '../../../src/domain/task.ts';
import type { TaskInput } from '../../../src/engine/task-input.ts';
import type { Caller, EngineStats, ListQuery, SubmitResult, TaskService } from '../../../src/engine/task-service.ts';
import type { EventHandler, Subscription } from '../../../src/events/event-bus.ts';
import { MemoryEventBus } from '../../../src/events/memory.ts';
import type { TaskPage } from '../../../src/store/task-store.ts';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

let counter = 0;
const newId = (): string => `t_${Date.now().toString(36)}_${(counter++).toString(36).padStart(6, '0')}`;

export class FakeTaskService implements TaskService {
  readonly bus = new MemoryEventBus();
  readonly tasks = new Map<string, Task>();
  readonly logs = new Map<string, TaskEvent[]>();
  private readonly keys = new Map<string, { id: string; body: string }>();
  /** Every state-changing call that succeeded. Error-path tests assert it does not move. */
  writes = 0;
  isReady = true;
  /** Runs at the start of each events() read (before the snapshot) when set. */
  beforeRead: ((taskId: string) => void) | null = null;
  /** Runs after the snapshot of each events() read, before it answers, when set. */
  afterRead: ((taskId: string) => void) | null = null;
  /** Runs inside each get() (after its lookup, before it answers) when set. */
  duringGet: ((taskId: string) => void) | null = null;
  /** Every subscribe() call, to check which caller the API named. */
  readonly subscribeCalls: { caller: Caller; sub: Subscription }[] = [];
  /** Bus subscriptions made through subscribe() and not yet ended. */
  subscriptions = 0;
  /** Calls made and not yet answered. */
  inFlight = 0;
  /** Drop a bus publish (the event is still stored): simulates a bus that lost an event. */
  dropPublish: ((event: TaskEvent) => boolean) | null = null;

  /** One turn of the event loop, counted in `inFlight` until `body` returns. */
  private async call<T>(body: () => T | Promise<T>): Promise<T> {
    this.inFlight++;
    try {
      await turn();
      return await body();
    } finally {
      this.inFlight--;
    }
  }

  /** Resolves once no call is in flight (checked over a few event-loop turns). */
  async settled(): Promise<void> {
    for (let quiet = 0; quiet < 3; ) {
      await turn();
      quiet = this.inFlight === 0 ? quiet + 1 : 0;
    }
  }

  submit(caller: Caller, inputs: TaskInput[], idempotencyKey?: string): Promise<SubmitResult[]> {
    return this.call(() => this.submitNow(caller, inputs, idempotencyKey));
  }

  private submitNow(caller: Caller, inputs: TaskInput[], idempotencyKey?: string): SubmitResult[] {
    // Validate everything before writing anything (all or nothing).
    for (const [i, input] of inputs.entries()) {
      const where = inputs.length > 1 ? `tasks[${i}].` : '';
      if (input.script.startsWith('/') || input.script.split('/').includes('..'))
        throw new LakerayError('INVALID_REQUEST', `${where}script: "${input.script}" is outside the script roots`);
      if (input.executor !== undefined && input.executor !== 'local')
        throw new LakerayError('UNKNOWN_EXECUTOR', `${where}executor: "${input.executor}" is not configured`);
      if ((input.resources?.gpu ?? 0) > 8) throw new LakerayError('RESOURCES_UNSATISFIABLE', `${where}resources: asked for more than 8 GPUs`);
    }
    const results: SubmitResult[] = [];
    for (const input of inputs) {
      const key = idempotencyKey ?? input.idempotency_key;
      const body = JSON.stringify({ ...input, idempotency_key: undefined });
      if (key !== undefined) {
        const seen = this.keys.get(`${caller.tenant}\u0000${key}`);
        if (seen && seen.body !== body) throw new LakerayError('IDEMPOTENCY_CONFLICT');
        if (seen) {
          results.push({ task: this.tasks.get(seen.id) as Task, created: false });
          continue;
        }
      }
      const now = Date.now();
      const task: Task = {
        id: newId(),
        name: input.name ?? input.script.replace(/^.*\//, '').replace(/\.\w+$/, ''),
        script: input.script,
        input: input.input ?? null,
        output: input.output ?? null,
        params: input.params ?? {},
        executor: input.executor ?? 'local',
        pool: input.pool ?? null,
        resources: resources(input.resources ?? {}),
        priority: input.priority ?? 0,
        timeout_s: input.timeout_s ?? null,
        retry: { max_attempts: input.max_attempts ?? 1, backoff_ms: 1000, backoff_factor: 2, max_backoff_ms: 60_000 },
        webhook: typeof input.webhook === 'object' && input.webhook !== null ? input.webhook.url : (input.webhook ?? null),
        webhook_options: null,
        tenant: caller.tenant,
        labels: input.labels ?? {},
        service: input.service ? { ...DEFAULT_SERVICE, ...input.service } : null,
        status: 'queued',
        attempt: 0,
        created_at: now,
        updated_at: now,
        started_at: null,
        finished_at: null,
        not_before: null,
        progress: null,
        result: null,
        error: null,
        lease_owner: null,
        lease_expires_at: null,
        assignment: null,
        idempotency_key: key ?? null,
        last_seq: 0,
        cancel_reason: null,
      };
      this.tasks.set(task.id, task);
      this.logs.set(task.id, []);
      if (key !== undefined) this.keys.set(`${caller.tenant}\u0000${key}`, { id: task.id, body });
      results.push({ task, created: true });
    }
    this.writes++;
    for (const r of results) if (r.created) this.append(r.task.id, 'state', { status: 'queued' });
    return results;
  }

  get(caller: Caller, id: string): Promise<Task> {
    return this.call(async () => {
      const task = this.find(caller, id);
      this.duringGet?.(id);
      await turn();
      return task;
    });
  }

  private find(caller: Caller, id: string): Task {
    const task = this.tasks.get(id);
    if (!task || task.tenant !== caller.tenant) throw new LakerayError('TASK_NOT_FOUND', `Task ${id} does not exist`);
    return task;
  }

  list(caller: Caller, q: ListQuery): Promise<TaskPage> {
    return this.call(() => this.listNow(caller, q));
  }

  private listNow(caller: Caller, q: ListQuery): TaskPage {
    const limit = q.limit ?? 50;
    const all = [...this.tasks.values()]
      .filter((t) => t.tenant === caller.tenant)
      .filter((t) => !q.status || q.status.includes(t.status))
      .filter((t) => !q.name || t.name === q.name)
      .filter((t) => !q.executor || t.executor === q.executor)
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .filter((t) => !q.cursor || t.id > q.cursor);
    const tasks = all.slice(0, limit);
    return { tasks, next_cursor: all.length > limit ? (tasks[tasks.length - 1] as Task).id : null };
  }

  cancel(caller: Caller, id: string): Promise<Task> {
    return this.call(() => {
      const task = this.find(caller, id);
      if (isTerminal(task.status)) throw new LakerayError('TASK_NOT_CANCELLABLE');
      if (task.status === 'queued') return this.transition(id, 'cancelled', { reason: 'user' });
      if (task.status === 'running') return this.transition(id, 'cancelling', { reason: 'user' });
      return task;
    });
  }

  delete(caller: Caller, id: string): Promise<void> {
    return this.call(() => {
      const task = this.find(caller, id);
      if (!isTerminal(task.status)) throw new LakerayError('TASK_ACTIVE');
      this.tasks.delete(id);
      this.logs.delete(id);
      this.writes++;
    });
  }

  events(caller: Caller, id: string, afterSeq: number, limit: number, types?: readonly string[]): Promise<TaskEvent[]> {
    return this.call(async () => {
      this.find(caller, id);
      this.beforeRead?.(id);
      const out = (this.logs.get(id) ?? []).filter((e) => e.seq > afterSeq && (!types || types.includes(e.type))).slice(0, limit);
      this.afterRead?.(id);
      await turn(); // the answer travels back: more may be published meanwhile
      return out;
    });
  }

  /** Like the engine: live events of the caller's tenant only, whatever `sub.tenant` says. */
  subscribe(caller: Caller, sub: Subscription, handler: EventHandler): () => void {
    this.subscribeCalls.push({ caller, sub });
    const unsubscribe = this.bus.subscribe({ ...sub, tenant: caller.tenant }, handler);
    this.subscriptions++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.subscriptions--;
      unsubscribe();
    };
  }

  queuePositionCalls = 0;

  queuePositions(ids: readonly string[]): Promise<Map<string, number>> {
    this.queuePositionCalls++;
    return this.call(() => {
      const out = new Map<string, number>();
      for (const id of ids) {
        const task = this.tasks.get(id);
        if (!task || task.status !== 'queued') continue;
        const queued = [...this.tasks.values()]
          .filter((t) => t.status === 'queued' && t.executor === task.executor)
          .sort((a, b) => b.priority - a.priority || a.created_at - b.created_at || (a.id < b.id ? -1 : 1));
        out.set(id, queued.findIndex((t) => t.id === id));
      }
      return out;
    });
  }

  stats(): Promise<EngineStats> {
    return this.call(() => this.statsNow());
  }

  private statsNow(): EngineStats {
    const by = new Map<string, { queued: number; running: number }>([['local', { queued: 0, running: 0 }]]);
    for (const t of this.tasks.values()) {
      const s = by.get(t.executor) ?? { queued: 0, running: 0 };
      if (t.status === 'queued') s.queued++;
      if (t.status === 'running' || t.status === 'cancelling') s.running++;
      by.set(t.executor, s);
    }
    return {
      executors: [...by].map(([name, s]) => ({ name, capacity: { cpu: 8, gpu: 2 }, used: {}, ...s })),
      pools: [],
    };
  }

  ready(): boolean {
    return this.isReady;
  }

  /** Endpoints of running service tasks, set by tests. */
  readonly endpoints = new Map<string, ServiceEndpoint>();

  serviceEndpoint(caller: Caller, id: string): Promise<ServiceEndpoint | null> {
    return this.call(() => {
      const task = this.tasks.get(id);
      if (!task || task.tenant !== caller.tenant) throw new LakerayError('TASK_NOT_FOUND', `Task '${id}' does not exist`);
      if (task.service === null || task.status !== 'running') throw new LakerayError('SERVICE_NOT_RUNNING');
      return this.endpoints.get(id) ?? null;
    });
  }

  services(caller: Caller): Promise<{ task: Task; endpoint: ServiceEndpoint }[]> {
    return this.call(() =>
      [...this.endpoints].flatMap(([id, endpoint]) => {
        const task = this.tasks.get(id);
        return task && task.tenant === caller.tenant && task.status === 'running' ? [{ task, endpoint }] : [];
      }),
    );
  }

  // ---- test controls -------------------------------------------------------------------

  /** Store one event (next seq) and publish it, like the engine's EventWriter. */
  append(id: string, type: EventType, data: Record<string, unknown>): TaskEvent {
    const task = this.tasks.get(id);
    if (!task) throw new Error(`no task ${id}`);
    const event: TaskEvent = { task_id: id, tenant: task.tenant, seq: task.last_seq + 1, type, ts: Date.now(), data };
    task.last_seq = event.seq;
    if (type === 'progress') task.progress = { fraction: Number(data.fraction), message: (data.message as string) ?? null };
    (this.logs.get(id) as TaskEvent[]).push(event);
    this.writes++;
    if (!this.dropPublish?.(event)) this.bus.publish([event]);
    return event;
  }

  transition(id: string, status: TaskStatus, extra: Record<string, unknown> = {}): Task {
    const task = this.tasks.get(id);
    if (!task) throw new Error(`no task ${id}`);
    const now = Date.now();
    task.status = status;
    task.updated_at = now;
    if (status === 'running') {
      task.started_at = now;
      task.attempt++;
      task.assignment = { gpus: ['0'], pid: 4242 };
      task.lease_owner = 'node-1';
      task.lease_expires_at = now + 30_000;
    }
    if (isTerminal(status)) task.finished_at = now;
    this.append(id, 'state', { ...extra, status });
    return task;
  }
}
