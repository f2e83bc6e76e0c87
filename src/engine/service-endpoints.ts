/**
 * Where a service task listens, as any node can learn it: the executor running it reports each
 * state change as a `service` event ({state, port, restarts, url?}; url, on `ready`, uses the
 * running node's advertise_host), stored in the task's event log. A node that does not run the
 * service (an API node, another scheduler) reads the latest one of the current attempt.
 */
import { SERVICE_STATES, type ServiceEndpoint, type ServiceState } from '../domain/service.ts';
import type { Task } from '../domain/task.ts';
import type { TaskStore } from '../store/task-store.ts';

/** Service events per task are few (three per restart); a page this size holds them all. */
const PAGE = 1000;

export async function storedServiceEndpoint(store: Pick<TaskStore, 'readEvents'>, task: Task): Promise<ServiceEndpoint | null> {
  let latest: Record<string, unknown> | null = null;
  let after = 0;
  for (;;) {
    const page = await store.readEvents(task.id, after, PAGE, ['service']);
    // An earlier attempt's events describe a process that is gone.
    for (const ev of page) if (task.started_at !== null && ev.ts >= task.started_at) latest = ev.data;
    if (page.length < PAGE) break;
    after = page[page.length - 1]!.seq;
  }
  if (latest === null) return null;
  const state = latest.state as ServiceState;
  if (!SERVICE_STATES.includes(state) || typeof latest.port !== 'number') return null;
  return { state, port: latest.port, restarts: Number(latest.restarts ?? 0), url: typeof latest.url === 'string' ? latest.url : '' };
}
