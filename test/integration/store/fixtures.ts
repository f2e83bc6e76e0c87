/**
 * Test helpers for the TaskStore conformance suite. Every test uses its own tenants,
 * executors and ids (from `uniq`), so the suite stays correct even when an implementation's
 * `open()` hands back a database shared with earlier tests (e.g. one Postgres schema).
 */
import { afterEach, beforeEach } from 'vitest';
import type { Task } from '../../../src/domain/task.ts';
import type { NewTask, TaskStore } from '../../../src/store/task-store.ts';
import { taskFixture } from '../../helpers/task-fixture.ts';

export type OpenStore = () => TaskStore | Promise<TaskStore>;

let counter = 0;
const run = Math.random().toString(36).slice(2, 8);

/** A name no other test (or earlier run on the same database) uses. */
export const uniq = (prefix: string): string => `${prefix}_${run}_${(++counter).toString().padStart(6, '0')}`;

/** A fixed base time, so ordering by created_at is under the test's control. */
export const T0 = 1_700_000_000_000;

/** A valid queued task; override whatever the test cares about. */
export const makeTask = (over: Partial<Task> = {}): Task => taskFixture({ id: uniq('task'), created_at: T0, ...over });

export const newTask = (over: Partial<Task> = {}, body_hash: string | null = null): NewTask => ({ task: makeTask(over), body_hash });

/** Inserts tasks and returns them as stored. */
export const seed = async (store: TaskStore, tasks: Task[], now = T0): Promise<Task[]> =>
  (await store.insert(tasks.map((task) => ({ task, body_hash: null })), now)).results.map((r) => r.task);

/** Opens a fresh store before each test of the enclosing describe and closes it after. */
export const useStore = (open: OpenStore): (() => TaskStore) => {
  let store: TaskStore | undefined;
  beforeEach(async () => {
    store = await open();
  });
  afterEach(async () => {
    const s = store;
    store = undefined;
    await s?.close();
  });
  return () => {
    if (!store) throw new Error('store is only available inside a test');
    return store;
  };
};

/** Moves a queued task to running under `owner`, as the dispatcher would. */
export const start = async (store: TaskStore, id: string, owner = 'node-a', now = T0 + 1, leaseMs = 30_000): Promise<Task> => {
  const [r] = await store.transition([
    { id, from: ['pending'], to: 'running', patch: { attempt: 1, started_at: now, lease_owner: owner, lease_expires_at: now + leaseMs }, now },
  ]);
  if (!r) throw new Error(`could not start ${id}`);
  return r.task;
};
