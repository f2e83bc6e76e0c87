/**
 * The local executor as the Executor conformance suite sees it (conformance.ts), in one of its
 * configurations: cold processes, or a warm pool of one runtime. The suite runs it in
 * local-conformance-cold.test.ts and local-conformance-pools.test.ts.
 */
import path from 'node:path';
import { processAlive } from '../../../src/executors/local/process-group.ts';
import type { PoolConfig } from '../../../src/config/schema.ts';
import type { ExecutorFixture, TaskKind } from './conformance.ts';
import { makeExecutor, makeTask, nested } from './helpers.ts';

const SCRIPTS = path.join(import.meta.dirname, 'scripts');

export const local = (runtime: 'python' | 'node', pools: PoolConfig[] = []): Omit<ExecutorFixture, 'sharedProcess'> => ({
  open: (owner) => makeExecutor({ pools, kill_grace_ms: 3000 }, { scriptRoots: [SCRIPTS], owner }),
  task: (kind: TaskKind, params = {}, attempt = 1) =>
    makeTask({ script: `${kind}.${runtime === 'python' ? 'py' : 'mjs'}`, params, attempt, pool: pools[0]?.name ?? null }),
  processGone: (started, logs) => {
    // A cold run's process is in its placement; a warm worker's only in what `waits` logged.
    const logged = logs.find((l) => l.startsWith('waiting '))?.slice('waiting '.length);
    const pid = started.placement?.pid ?? (logged === undefined ? undefined : Number(logged));
    return typeof pid !== 'number' || !processAlive(pid);
  },
  // Deeper than Python's JSON decoder goes (its recursion limit, 1000); node's decodes it.
  ...(runtime === 'python' ? { undecodableParams: () => nested(3000) } : {}),
});
