/**
 * Shared by the lake benchmarks: a platform with the examples' scripts and a warm Python pool
 * (numpy + pyarrow preloaded, as a user would configure for data tasks), and helpers to run
 * a task to completion.
 */
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/main.ts';
import { BENCH_SCRIPTS, startPlatform, type BenchPlatform } from './platform.ts';

export const FASHION = '/usr/share/datasets/fashion-mnist';

export async function startLakePlatform(): Promise<BenchPlatform> {
  return startPlatform({
    script_roots: [join(PACKAGE_ROOT, 'examples'), BENCH_SCRIPTS],
    executors: {
      local: {
        cpu: 2,
        pools: [{ name: 'data', runtime: 'python', preload: ['numpy', 'pyarrow'], min: 1, max: 1 }],
        default_pools: { python: 'data' },
      },
    },
  });
}

/** Submits a task and resolves with it once it ended (throws unless it succeeded). */
export async function runTask(p: BenchPlatform, body: Record<string, unknown>): Promise<{ id: string; result: any; ms: number }> {
  const caller = { tenant: 'default' };
  let taskId: string | undefined;
  const early: string[] = [];
  let resolve!: (id: string) => void;
  const done = new Promise<string>((r) => (resolve = r));
  const off = p.server.engine.subscribe(caller, {}, (events) => {
    for (const e of events)
      if (e.type === 'state' && ['completed', 'failed', 'cancelled'].includes(e.data.status as string)) {
        if (taskId === undefined) early.push(e.task_id);
        else if (e.task_id === taskId) resolve(taskId);
      }
  });
  const t0 = performance.now();
  try {
    const task = await p.post('/api/v1/tasks', body);
    taskId = task.id as string;
    if (early.includes(taskId)) resolve(taskId);
    await done;
    const ms = performance.now() - t0;
    const t = await p.server.engine.get(caller, taskId);
    if (t.status !== 'completed') throw new Error(`task ${taskId} ${t.status}: ${JSON.stringify(t.error)}`);
    return { id: taskId, result: t.result, ms };
  } finally {
    off();
  }
}
