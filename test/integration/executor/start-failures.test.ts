/**
 * Through the engine (SQLite in memory, the real local executor and harnesses): a task its
 * harness cannot start fails at once with a clear code, and frees its slot (the executor has
 * room for one task at a time: the next task runs). Cold processes and warm pools, Python and
 * Node. The engine refuses params nested deeper than server.max_json_depth; at the highest
 * depth that setting allows (1,000), params still nest deeper than Python's JSON decoder goes.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import type { Task } from '../../../src/domain/task.ts';
import { Engine } from '../../../src/engine/engine.ts';
import { MemoryEventBus } from '../../../src/events/memory.ts';
import { LocalExecutor } from '../../../src/executors/local/local-executor.ts';
import { SqliteTaskStore } from '../../../src/store/sqlite/sqlite-store.ts';
import { nested, PYTHON, RUNTIMES, tempDir } from './helpers.ts';

const SCRIPTS = path.join(import.meta.dirname, 'scripts');
const caller = { tenant: 'default' };

/** 1,000 levels: accepted with max_json_depth 1000, and deeper than Python's JSON decoder goes (its recursion limit, 1,000, counts the job's own levels too). */
const deep = () => nested(999);

type Kind = 'cold' | 'warm';

const open = async (kind: Kind, python = PYTHON) => {
  const dir = tempDir();
  const local = {
    cpu: 1,
    kill_grace_ms: 2000,
    pools: kind === 'warm' ? [{ name: 'py', runtime: 'python', min: 1, max: 1 }, { name: 'js', runtime: 'node', min: 1, max: 1, concurrency: 2 }] : [],
    default_pools: kind === 'warm' ? { python: 'py', node: 'js' } : {},
  };
  const config = parseConfig(
    { state_dir: path.join(dir, 'state'), script_roots: [SCRIPTS], data_roots: [dir], executors: { local }, server: { max_json_depth: 1000 } },
    dir,
    {},
  );
  const executor = new LocalExecutor({ config: config.executors.local, pythonInterpreter: python, scriptRoots: [SCRIPTS], dataRoots: [dir], runtimesDir: RUNTIMES });
  const store = SqliteTaskStore.open(':memory:');
  const engine = new Engine({
    config,
    store,
    bus: new MemoryEventBus(),
    executors: new Map([['local', executor]]),
    pools: new Map([['local', new Set(local.pools.map((p) => p.name))]]),
  });
  await engine.start();
  return {
    engine,
    async close() {
      await engine.stop();
      await executor.close();
      await store.close();
    },
  };
};

let opened: Awaited<ReturnType<typeof open>> | null = null;
afterEach(async () => {
  await opened?.close();
  opened = null;
});

const finished = async (engine: Engine, id: string, ms = 20_000): Promise<Task> => {
  let task: Task | undefined;
  const deadline = Date.now() + ms;
  for (;;) {
    task = await engine.get(caller, id);
    if (['completed', 'failed', 'cancelled'].includes(task.status)) return task;
    if (Date.now() > deadline) throw new Error(`task ${id} is still ${task.status} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

/** Submits the bad task, expects it to fail with `code` within `ms`, then runs a good one in the slot it freed. */
const failsFastAndFreesItsSlot = async (kind: Kind, bad: { script: string; params?: Record<string, unknown> }, code: string, good: string) => {
  opened = await open(kind);
  const { engine } = opened;
  const at = Date.now();
  const [submitted] = await engine.submit(caller, [{ ...bad, resources: { cpu: 1 } }]);
  const failed = await finished(engine, submitted!.task.id);
  expect(failed, JSON.stringify(failed.error)).toMatchObject({ status: 'failed', error: { code } });
  expect(Date.now() - at).toBeLessThan(15_000);
  const [next] = await engine.submit(caller, [{ script: good, resources: { cpu: 1 } }]);
  expect((await finished(engine, next!.task.id)).status).toBe('completed');
  return failed;
};

describe('a task its harness cannot start fails at once and frees its slot', () => {
  for (const kind of ['cold', 'warm'] as const) {
    it(`${kind}, python: params nested deeper than the harness decodes → JOB_UNREADABLE`, async () => {
      const failed = await failsFastAndFreesItsSlot(kind, { script: 'echo.py', params: deep() }, 'JOB_UNREADABLE', 'echo.py');
      expect(failed.error?.message).toContain('RecursionError');
    });

    it(`${kind}, python and node: a script that fails to import, or has no run() → SCRIPT_ERROR`, async () => {
      await failsFastAndFreesItsSlot(kind, { script: 'import_error.py' }, 'SCRIPT_ERROR', 'echo.py');
      await opened?.close();
      await failsFastAndFreesItsSlot(kind, { script: 'no_run.mjs' }, 'SCRIPT_ERROR', 'echo.mjs');
    });

    it(`${kind}, python: a missing interpreter → EXECUTOR_ERROR`, async () => {
      opened = await open(kind, '/nonexistent/python3');
      const { engine } = opened;
      const [t] = await engine.submit(caller, [{ script: 'echo.py', resources: { cpu: 1 } }]);
      const failed = await finished(engine, t!.task.id);
      expect(failed).toMatchObject({ status: 'failed', error: { code: 'EXECUTOR_ERROR' } });
      expect(failed.error?.message).toContain('ENOENT');
      // The slot is free: a node task (its interpreter exists) runs.
      const [next] = await engine.submit(caller, [{ script: 'echo.mjs', resources: { cpu: 1 } }]);
      expect((await finished(engine, next!.task.id)).status).toBe('completed');
    });
  }
});
