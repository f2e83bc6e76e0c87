/**
 * The server listens before its engine has recovered (main.ts: an actors-mode driver must be
 * able to poll while its executor re-attaches), so tasks can be submitted then: none may start
 * before start() has re-attached what the previous instance left — its executors are held.
 */
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryEventBus } from '../../src/events/memory.ts';
import { SqliteTaskStore } from '../../src/store/sqlite/sqlite-store.ts';
import { makeExecutor } from '../integration/executor/helpers.ts';
import { ROOT, tempDir } from '../helpers/server-process.ts';
import { until } from '../helpers/until.ts';

const SCRIPTS = join(ROOT, 'test/fault/scripts');
const executor = makeExecutor({ cpu: 2 }, { scriptRoots: [SCRIPTS] });
const dir = tempDir();
const store = SqliteTaskStore.open(join(dir, 'tasks.db'));
const config = parseConfig({ state_dir: join(dir, 'state'), script_roots: [SCRIPTS], data_roots: [dir] }, dir, {});
const engine = new Engine({ config, store, bus: new MemoryEventBus(), executors: new Map([['local', executor]]), onError: () => {} });
afterAll(async () => {
  await engine.stop();
  await executor.close();
  await store.close();
});

it('a task submitted before the engine started waits for start(), then runs', async () => {
  const [submitted] = await engine.submit({ tenant: 'default' }, [{ script: 'short.js', params: { ms: 1 }, resources: { cpu: 1 } }]);
  const id = submitted!.task.id;
  await new Promise((r) => setTimeout(r, 1500)); // a dispatch round had time to start it
  expect((await store.get(id))?.status).toBe('pending');
  await engine.start();
  const done = await until('the task to succeed', async () => ((await store.get(id))?.status === 'completed' ? true : null), 30_000);
  expect(done).toBe(true);
});
