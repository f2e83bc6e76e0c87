/**
 * Node-scoped executors (issue 14 §3). With a shared store every scheduler node runs its own
 * local executor, `local@<node>`: its own processes, its GPU ledger from its own devices, its
 * own fenced ownership. A task submitted to `local` waits in the shared queue `local`; a node
 * takes (TaskStore.takeQueued) what fits its free capacity just before it claims it, so the
 * task's executor says which node runs it. A task submitted to `local@<node>` is pinned there.
 * What a node took and did not start goes back to the shared queue when the node dies or stops
 * (TaskStore.returnQueued; node-recovery.ts).
 */
import type { Task } from '../domain/task.ts';
import { fits, sub, type Resources } from '../domain/resources.ts';
import type { TaskStore } from '../store/task-store.ts';

/** Node names (config `node.name`): letters, digits, ".", "_", "-". */
const NODE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** `local@<node>`: the executor `base` of one node. */
export const nodeExecutor = (base: string, node: string): string => `${base}@${node}`;

/** The shared queue a node-scoped executor takes from (`local@n1` → `local`); undefined for any other executor. */
export function sharedQueueOf(executor: string): string | undefined {
  const at = executor.indexOf('@');
  return at > 0 && NODE.test(executor.slice(at + 1)) ? executor.slice(0, at) : undefined;
}

/** At most this many tasks taken from the shared queue per read (tasks asking for no resources all "fit"). */
const MAX_TAKE = 64;

/**
 * Takes from the shared queue the tasks that fit into `free` after the node's own queued
 * `head`, in dispatch order. Another node may take some of them first (it read the same head
 * when the same submit woke both): then the next ones are tried, a few times. `more`: the
 * shared queue holds tasks beyond those taken.
 */
export async function takeShared(store: TaskStore, executor: string, shared: string, head: readonly Task[], free: Resources, now: number, window: number): Promise<{ taken: Task[]; more: boolean }> {
  let room = free;
  for (const t of head) room = sub(room, t.resources);
  const taken: Task[] = [];
  for (let round = 0; round < TAKE_ROUNDS; round++) {
    const offered = await store.queued({ executor: shared, now, per_tenant: window, limit: window });
    const wanted: Task[] = [];
    let left = room;
    for (const t of offered) {
      if (taken.length + wanted.length >= MAX_TAKE) break;
      if (!fits(t.resources, left)) continue;
      left = sub(left, t.resources);
      wanted.push(t);
    }
    const got = wanted.length === 0 ? [] : await store.takeQueued(wanted.map((t) => t.id), shared, executor);
    for (const t of got) room = sub(room, t.resources);
    taken.push(...got);
    if (got.length === wanted.length) return { taken, more: offered.length > got.length };
  }
  return { taken, more: true };
}

/** How often one read retries the shared queue after losing tasks to another node. */
const TAKE_ROUNDS = 4;

/**
 * The executors (or their pools) a submit may name on a node-scoped cluster: the configured
 * ones; `local` and every `local@<node>` resolve to this process's local executor (all nodes
 * share one config, so its pools and capacity stand for any node's). A task pinned to a node
 * that never starts stays queued until it is cancelled.
 */
export class NodeExecutorNames<T> extends Map<string, T> {
  constructor(configured: ReadonlyMap<string, T>) {
    super(configured);
  }

  override get(name: string): T | undefined {
    const own = super.get(name);
    if (own !== undefined) return own;
    const base = sharedQueueOf(name) ?? name;
    const shared = super.get(base);
    if (shared !== undefined) return shared;
    for (const [key, value] of this) if (sharedQueueOf(key) === base) return value;
    return undefined;
  }

  override has(name: string): boolean {
    return this.get(name) !== undefined;
  }
}
