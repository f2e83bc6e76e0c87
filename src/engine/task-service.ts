/**
 * What the API and CLI layers may ask of the engine. `api/` depends on this interface,
 * never on an adapter; `Engine` (engine.ts) implements it.
 */
import type { TaskEvent } from '../domain/events.ts';
import type { Role } from '../domain/roles.ts';
import type { ServiceEndpoint } from '../domain/service.ts';
import type { Task, TaskStatus } from '../domain/task.ts';
import type { EventHandler, Subscription } from '../events/event-bus.ts';
import type { TaskPage } from '../store/task-store.ts';
import type { TaskInput } from './task-input.ts';

/**
 * Who is asking (api/caller.ts callerOf): the engine scopes everything to `tenant`. A request's
 * caller always has `role` and `key_id`; they are optional only so that what the server does
 * by itself (config deployments, examples, tests driving the engine) may name just a tenant.
 */
export type { Role };

export interface Caller {
  tenant: string;
  role?: Role;
  /** The API key id, null for a keyless loopback caller or a task token. */
  key_id?: string | null;
}

/** A request's caller: everything known (api/caller.ts callerOf). */
export type RequestCaller = Required<Caller>;

export interface SubmitResult {
  task: Task;
  /** false when an idempotency key returned an existing task */
  created: boolean;
}

export interface ListQuery {
  status?: TaskStatus[];
  name?: string;
  executor?: string;
  cursor?: string;
  limit?: number;
}

export interface EngineStats {
  executors: {
    name: string;
    capacity: Record<string, number>;
    used: Record<string, number>;
    running: number;
    queued: number;
  }[];
  pools: { executor: string; pool: string; workers: number; busy: number; idle: number }[];
}

export interface TaskService {
  /** Validates and stores the tasks (all or nothing), then wakes the dispatcher. */
  submit(caller: Caller, inputs: TaskInput[], idempotencyKey?: string): Promise<SubmitResult[]>;
  /** Throws TASK_NOT_FOUND (also for another tenant's task). */
  get(caller: Caller, id: string): Promise<Task>;
  list(caller: Caller, query: ListQuery): Promise<TaskPage>;
  /** Queued: cancelled at once. Running: moves to cancelling and stops the process. Terminal: 409. */
  cancel(caller: Caller, id: string): Promise<Task>;
  /** Deletes a finished task and its events; 409 TASK_ACTIVE while queued or running. */
  delete(caller: Caller, id: string): Promise<void>;
  /** Stored events after `afterSeq`, ascending. */
  events(caller: Caller, id: string, afterSeq: number, limit: number, types?: readonly string[]): Promise<TaskEvent[]>;
  /**
   * Live events (already stored) of the caller's tenant only, whatever `sub.tenant` says.
   * Subscribe first, then read history, and drop seq ≤ what you read.
   */
  subscribe(caller: Caller, sub: Subscription, handler: EventHandler): () => void;
  /** Queue position (0 = next to start) of each id that is queued; others are absent. */
  queuePositions(ids: readonly string[]): Promise<Map<string, number>>;
  stats(): Promise<EngineStats>;
  /**
   * Where a service task (task.service) listens on this server. Throws TASK_NOT_FOUND, or
   * SERVICE_NOT_RUNNING when the task is not a service or not running; null while it runs but
   * its process is not placed yet (the API answers 503 then, as for a service not yet ready).
   */
  serviceEndpoint(caller: Caller, id: string): Promise<ServiceEndpoint | null>;
  /** The caller's service tasks running on this server, with their endpoints. */
  services(caller: Caller): Promise<{ task: Task; endpoint: ServiceEndpoint }[]>;
  /** True once recovery finished and until shutdown begins. */
  ready(): boolean;
  /** Whether the task store can be reached now; a reason when not (a networked store's outage). */
  storeHealth(): Promise<{ ok: boolean; reason?: string }>;
  /** Executors that cannot take work now (down, or not yet re-attached): their tasks wait queued. */
  unreachableExecutors(): { name: string; message: string }[];
}
