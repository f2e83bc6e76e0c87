/**
 * Node-scoped executors (issue 14 §3). With a shared store every scheduler node runs its own
 * local executor, `local@<node>`: its own processes, its GPU ledger from its own devices, its
 * own fenced ownership. A task submitted to `local` waits in the shared queue `local`. A node
 * reads its own queue and the shared one together (QueuedQuery.shared, candidates.ts), and its
 * claim takes a shared task and starts it in one fenced statement (TransitionRequest.shared_queue,
 * claims.ts): from then on the task's executor says which node runs it, and its home_executor
 * that it came from `local`. A task submitted to `local@<node>` is pinned there. What a node
 * re-queued (a retry, a stop) and did not start again goes back to the shared queue when the
 * node dies or stops (TaskStore.returnQueued; node-recovery.ts).
 */

/** Node names (config `node.name`): letters, digits, ".", "_", "-". */
const NODE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** `local@<node>`: the executor `base` of one node. */
export const nodeExecutor = (base: string, node: string): string => `${base}@${node}`;

/** The shared queue a node-scoped executor takes from (`local@n1` → `local`); undefined for any other executor. */
export function sharedQueueOf(executor: string): string | undefined {
  const at = executor.indexOf('@');
  return at > 0 && NODE.test(executor.slice(at + 1)) ? executor.slice(0, at) : undefined;
}

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
