/** Every task a filter matches, page after page (TaskStore.list's cursor), for scans that must see all of them. */
import type { Task } from '../domain/task.ts';
import type { TaskFilter, TaskStore } from '../store/task-store.ts';

/** Pages of this many tasks: a scan holds one page at a time. */
const PAGE = 500;

export async function* allTasks(store: Pick<TaskStore, 'list'>, filter: Omit<TaskFilter, 'cursor' | 'limit'>): AsyncGenerator<Task> {
  let cursor: string | undefined;
  do {
    const page = await store.list({ ...filter, limit: PAGE, cursor });
    yield* page.tasks;
    cursor = page.next_cursor ?? undefined;
  } while (cursor !== undefined);
}
