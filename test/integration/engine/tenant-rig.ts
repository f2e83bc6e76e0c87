/**
 * A rig for the tenant tests: the real Engine over a SQLite file and a real LocalExecutor
 * with a configured inventory of fake GPUs (ids only: the scripts never touch a device) and a
 * warm node pool, so short sleep tasks start in milliseconds. `tenants` is the config section.
 */
import { join } from 'node:path';
import { parseConfig } from '../../../src/config/load.ts';
import type { Task } from '../../../src/domain/task.ts';
import { Engine } from '../../../src/engine/engine.ts';
import { MemoryEventBus } from '../../../src/events/memory.ts';
import { LocalExecutor } from '../../../src/executors/local/local-executor.ts';
import { SqliteTaskStore } from '../../../src/store/sqlite/sqlite-store.ts';
import { tempDir } from '../../helpers/server-process.ts';
import { ROOT } from '../executor/helpers.ts';
import { SCRIPTS } from './server.ts';

export interface TenantRig {
  engine: Engine;
  store: SqliteTaskStore;
  dir: string;
  /** Submit `n` sleep tasks of `ms` for `tenant` (one batch), each holding `gpu` GPUs. */
  sleeps(tenant: string, n: number, ms: number, gpu?: number): Promise<Task[]>;
  /** Every task of the tenant, as stored (newest first). */
  tasksOf(tenant: string): Promise<Task[]>;
  stop(): Promise<void>;
}

export async function startTenantRig(opts: { gpus: number; tenants?: Record<string, unknown>; gpuChargeMs?: number; dir?: string }): Promise<TenantRig> {
  const dir = opts.dir ?? tempDir('lakeray-tenants-');
  const raw = {
    state_dir: join(dir, 'state'),
    script_roots: [SCRIPTS],
    data_roots: [dir],
    tenants: opts.tenants ?? {},
    executors: {
      local: {
        cpu: 64,
        gpus: opts.gpus,
        kill_grace_ms: 1000,
        work_dirs: false,
        // A warm worker serves one tenant only (warm-pool.ts): one ready worker per tenant of the rig, the late one's included.
        pools: [{ name: 'node', runtime: 'node', min: 4, max: 4, concurrency: 64 }],
        default_pools: { node: 'node' },
      },
    },
  };
  const config = parseConfig(raw, dir, {});
  const executor = new LocalExecutor({
    config: config.executors.local,
    pythonInterpreter: 'python3',
    scriptRoots: [...config.script_roots],
    dataRoots: [...config.data_roots],
    runtimesDir: join(ROOT, 'runtimes'),
  });
  const store = SqliteTaskStore.open(join(dir, 'tasks.db'));
  const engine = new Engine({
    config,
    store,
    bus: new MemoryEventBus(),
    executors: new Map([[executor.name, executor]]),
    pools: new Map([[executor.name, new Set(['node'])]]),
    gpuChargeMs: opts.gpuChargeMs,
    onError: (err, context) => console.error(`[engine] ${context}:`, err),
  });
  await engine.start();
  await executor.prewarm?.();

  const tasksOf = async (tenant: string): Promise<Task[]> => {
    const out: Task[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list({ tenant, limit: 1000, cursor });
      out.push(...page.tasks);
      cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);
    return out;
  };
  return {
    engine,
    store,
    dir,
    sleeps: async (tenant, n, ms, gpu = 1) =>
      (
        await engine.submit(
          { tenant },
          Array.from({ length: n }, () => ({ script: 'waits.mjs', params: { ms }, resources: { cpu: 0.1, gpu } })),
        )
      ).map((r) => r.task),
    tasksOf,
    stop: async () => {
      await engine.stop();
      await executor.close();
      await store.close();
    },
  };
}

/** GPU-seconds each task of `tasks` held within [from, to) (epoch ms): GPUs × the overlap of its run with the window. */
export const gpuSecondsIn = (tasks: readonly Task[], from: number, to: number): number => {
  let s = 0;
  for (const t of tasks) {
    if (t.started_at === null) continue;
    const end = t.finished_at ?? to;
    const overlap = Math.min(end, to) - Math.max(t.started_at, from);
    if (overlap > 0) s += (t.resources.gpu * overlap) / 1000;
  }
  return s;
};
