/**
 * `lakeray up --examples`: the repository's examples wired into a server. Their scripts become
 * a script root, the folder of the Fashion-MNIST files a data root, warm pools keep them warm,
 * and the MNIST dataset is ingested at start — as an ordinary task whose outcome (ingested,
 * or why not and how to fix it) is reported, not only its submission.
 *
 * Where the Fashion-MNIST files are is decided in one place for the server and the script:
 * LAKERAY_MNIST_DIR, else Debian's dataset-fashion-mnist folder (examples/mnist/mnist_clean.py
 * reads the same variable).
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config, PoolConfig } from './config/schema.ts';
import { isTerminal, type Task } from './domain/task.ts';
import type { TaskService } from './engine/task-service.ts';
import type { LakeService } from './lake/service/lake-service.ts';

export const DEBIAN_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const MNIST_DATASET = 'mnist_clean';

/** The folder the MNIST ingestion reads when a task names no input. */
export const mnistDataDir = (env: NodeJS.ProcessEnv = process.env): string => env.LAKERAY_MNIST_DIR || DEBIAN_MNIST_DIR;

/**
 * The config with the examples added: examples/ as a script root, examples/data and the MNIST
 * folder as data roots (so seed 004's body may name that folder as its input) and — unless the
 * config names pools of its own — python and node pools kept at one worker, and a torch pool
 * that scales to zero when idle.
 */
export const withExamples = (c: Readonly<Config>, packageRoot: string, env: NodeJS.ProcessEnv = process.env): Readonly<Config> => {
  const local = c.executors.local;
  const pools: PoolConfig[] = local.pools.length
    ? [...local.pools]
    : [
        { name: 'python', runtime: 'python', preload: [], min: 1, max: 2, idle_timeout_s: 300, concurrency: 1 },
        { name: 'node', runtime: 'node', preload: [], min: 1, max: 1, idle_timeout_s: 300, concurrency: 16 },
        { name: 'torch', runtime: 'python', preload: ['torch'], min: 0, max: 1, idle_timeout_s: 600, concurrency: 1 },
      ];
  const default_pools = local.pools.length ? local.default_pools : { python: 'python', node: 'node' };
  return {
    ...c,
    script_roots: [...new Set([...c.script_roots, join(packageRoot, 'examples')])],
    data_roots: [...new Set([...c.data_roots, join(packageRoot, 'examples', 'data'), mnistDataDir(env)])],
    executors: { ...c.executors, local: { ...local, pools, default_pools } },
  };
};

/** How the start-up ingestion ended. */
export type IngestionOutcome =
  | { state: 'present' }
  | { state: 'ingested'; task: string; rows: number | null; seconds: number | null }
  | { state: 'failed'; task: string | null; code: string; message: string };

export interface ExampleIngestion {
  /** The ingestion task (null when the dataset was already there or nothing could be submitted). */
  task: string | null;
  /** Settles when the task ends; never rejects. */
  outcome: Promise<IngestionOutcome>;
}

const CALLER = { tenant: 'default' };

/**
 * Ingests Fashion-MNIST into `mnist_clean` when the lake lacks it (a few seconds), so
 * `lakeray demo mnist` only has to train and serve. A task already queued or running (a
 * restart) is followed instead of submitting a second one.
 */
export async function ingestExamples(tasks: TaskService, lake: LakeService, logger: Logger): Promise<ExampleIngestion> {
  try {
    if ((await lake.list('datasets')).some((d) => d.id === MNIST_DATASET)) return { task: null, outcome: Promise.resolve({ state: 'present' }) };
    const pending = await tasks.list(CALLER, { name: 'mnist_ingestion', status: ['pending', 'running'], limit: 1 });
    let id = pending.tasks[0]?.id;
    if (id === undefined) {
      const [submitted] = await tasks.submit(CALLER, [
        { name: 'mnist_ingestion', script: 'mnist/mnist_clean.py', output: MNIST_DATASET, params: { normalize: true, flatten: true } },
      ]);
      if (!submitted) throw new Error('the ingestion task was not submitted');
      id = submitted.task.id;
    }
    return { task: id, outcome: outcomeOf(tasks, id) };
  } catch (err) {
    logger.warn({ err }, 'examples: could not start the MNIST ingestion');
    const message = err instanceof Error ? err.message : String(err);
    return { task: null, outcome: Promise.resolve({ state: 'failed', task: null, code: 'INTERNAL_ERROR', message }) };
  }
}

const settled = (t: Task): IngestionOutcome => {
  if (t.status === 'completed') {
    const rows = (t.result as { total_records?: unknown } | null)?.total_records;
    const seconds = t.started_at !== null && t.finished_at !== null ? (t.finished_at - t.started_at) / 1000 : null;
    return { state: 'ingested', task: t.id, rows: typeof rows === 'number' ? rows : null, seconds };
  }
  if (t.status === 'cancelled') return { state: 'failed', task: t.id, code: 'CANCELLED', message: 'the ingestion task was cancelled' };
  return { state: 'failed', task: t.id, code: t.error?.code ?? 'SCRIPT_ERROR', message: t.error?.message ?? 'the ingestion task failed' };
};

/** Resolves when the task ends: subscribed first, then read once, so an end in between is not missed. */
const outcomeOf = (tasks: TaskService, id: string): Promise<IngestionOutcome> =>
  new Promise((resolve) => {
    let done = false;
    const check = async (): Promise<void> => {
      if (done) return;
      try {
        const t = await tasks.get(CALLER, id);
        if (!isTerminal(t.status) || done) return;
        done = true;
        unsubscribe();
        resolve(settled(t));
      } catch (err) {
        done = true;
        unsubscribe();
        resolve({ state: 'failed', task: id, code: 'INTERNAL_ERROR', message: err instanceof Error ? err.message : String(err) });
      }
    };
    const unsubscribe = tasks.subscribe(CALLER, { taskIds: new Set([id]) }, (events) => {
      if (events.some((e) => e.type === 'state')) void check();
    });
    void check();
  });
