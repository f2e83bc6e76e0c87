/**
 * After a kill -9 restart, the adopted actors driver's first poll lists busy actors whose tasks
 * this server has not re-attached yet. The executor counted only the running tasks it follows
 * as busy, so a full pool read as capacity 0 and submit refused its tasks for good
 * (400 RESOURCES_UNSATISFIABLE "cpu=0 in total") instead of queueing them. Now the capacity is
 * the pools' slots as the driver counts them (free + busy), and submit judges a task against
 * what the configured pools can ever place: beyond that is a 400, even before the driver polls.
 *
 * The executor's driver is a real Ray job on the run's head, given a URL where nothing listens:
 * it never polls, so the polls here are the only ones (made as the route makes them).
 */
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import type { DriverPoll } from '../../src/domain/driver-poll.ts';
import { Engine } from '../../src/engine/engine.ts';
import { RemoteReports } from '../../src/engine/remote-reports.ts';
import { TaskTokens } from '../../src/engine/task-tokens.ts';
import { MemoryEventBus } from '../../src/events/memory.ts';
import { SqliteTaskStore } from '../../src/store/sqlite/sqlite-store.ts';
import { rayHead } from '../helpers/ray-head.ts';
import { freePort, ROOT, tempDir } from '../helpers/server-process.ts';
import { until } from '../helpers/until.ts';
import { unpolledActorsExecutor } from '../integration/ray/actors/actors-platform.ts';

const SCRIPTS = join(ROOT, 'test/fault/scripts');
const NAME = `k9c-${Math.random().toString(36).slice(2, 8)}`;
const address = process.env.LAKERAY_TEST_RAY_URL ?? (await rayHead()).url;
const dir = tempDir('lakeray-actors-capacity-');
const config = parseConfig({ state_dir: join(dir, 'state'), script_roots: [SCRIPTS], data_roots: [dir] }, dir, {});
const store = SqliteTaskStore.open(join(dir, 'lakeray.db'));
const tokens = TaskTokens.fromStateDir(join(dir, 'state'));
const reports = new RemoteReports({ tokens, task: (id) => store.get(id) });
const executor = await unpolledActorsExecutor({ name: NAME, address, scriptRoot: SCRIPTS, dataRoot: dir, tokens, reports, maxActors: 2, freePort });
// not started: nothing is dispatched, a task accepted stays queued
const engine = new Engine({ config, store, bus: new MemoryEventBus(), executors: new Map([[NAME, executor]]), onError: () => {} });

afterAll(async () => {
  await executor.stopDriver();
  await engine.stop();
  await executor.close();
  await store.close();
});

const submit = (cpu: number) => engine.submit({ tenant: 'default' }, [{ script: 'ledger.py', executor: NAME, params: { ledger: dir, ms: 1 }, resources: { cpu } }]);
const poll = (body: Omit<DriverPoll, 'driver_id'>) => executor.poll({ driver_id: executor.driver.id!, ...body }, new AbortController().signal);

it('a full pool whose tasks are not re-attached yet keeps its capacity: a task that fits the pools is queued, not refused', { timeout: 300_000 }, async () => {
  // before any poll (the driver not healthy yet): judged against the configured pools, 2 × 0.1 CPU
  await expect(submit(0.5)).rejects.toMatchObject({ code: 'RESOURCES_UNSATISFIABLE', message: expect.stringContaining('at most') });

  await until('the executor to have its driver on Ray', async () => executor.driver.id !== undefined, 240_000, 100);
  // the adopted driver's first poll: both actors busy with tasks this server does not follow
  await poll({ running: ['t-before-restart-1', 't-before-restart-2'], capacity: { py: 0 }, busy: { py: 2 }, done: [] });
  expect(executor.capacity.cpu).toBeCloseTo(0.2);
  const [queued] = await submit(0.1);
  expect((await store.get(queued!.task.id))?.status).toBe('pending');
  expect(executor.reserve(queued!.task)).toBe(false); // no free actor now: it waits

  // a driver from before `busy`: its pools have max_actors slots
  await poll({ running: ['t-before-restart-1'], capacity: { py: 1 }, done: [] });
  expect(executor.capacity.cpu).toBeCloseTo(0.2);
  await expect(submit(0.3)).rejects.toMatchObject({ code: 'RESOURCES_UNSATISFIABLE' });
});
