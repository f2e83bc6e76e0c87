/**
 * Where a tenant's service tasks listen, from any node: the executor running one here knows
 * (the fastest, and it knows states not stored yet); elsewhere, its stored `service` events
 * do (service-endpoints.ts).
 */
import type { ServiceEndpoint } from '../domain/service.ts';
import type { Task } from '../domain/task.ts';
import type { Executor } from '../executors/executor.ts';
import type { TaskStore } from '../store/task-store.ts';
import { storedServiceEndpoint } from './service-endpoints.ts';
import { allTasks } from './task-pages.ts';

export class ServiceLookup {
  constructor(
    private readonly store: Pick<TaskStore, 'list' | 'readEvents'>,
    private readonly executors: ReadonlyMap<string, Executor>,
  ) {}

  /** Where the (running service) task listens; null while its process is not placed yet. */
  async endpointOf(task: Task): Promise<ServiceEndpoint | null> {
    return this.executors.get(task.executor)?.serviceEndpoint?.(task.id) ?? storedServiceEndpoint(this.store, task);
  }

  /** The tenant's running service tasks that have an endpoint, on whichever node runs them. */
  async running(tenant: string): Promise<{ task: Task; endpoint: ServiceEndpoint }[]> {
    const out: { task: Task; endpoint: ServiceEndpoint }[] = [];
    for await (const task of allTasks(this.store, { tenant, status: ['running'] })) {
      if (task.service === null) continue;
      const endpoint = await this.endpointOf(task);
      if (endpoint !== null) out.push({ task, endpoint });
    }
    return out;
  }
}
