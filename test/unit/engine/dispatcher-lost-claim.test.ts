/**
 * A claim that loses some of its tasks to another node (dispatcher.ts, LOST_CLAIM_RETRY_MS):
 * the room they would have used is still free, and nothing else wakes this node for the tasks
 * queued behind them (the other node's completions wake only that node). The dispatcher must
 * read the queue again by itself and claim the rest: no submit, no wake-up from the test.
 *
 * The real Dispatcher over a SQLite store in memory; "another node" is a plain CAS on the same
 * store that takes a task just before this dispatcher's claim commits. The executor is a fake
 * that starts nothing and only records what it was asked to run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Task } from '../../../src/domain/task.ts';
import { SqliteTaskStore } from '../../../src/store/sqlite/sqlite-store.ts';
import type { Fence, TaskStore, TransitionRequest } from '../../../src/store/task-store.ts';
import { dispatcherRig } from '../../helpers/dispatcher-rig.ts';
import { taskFixture } from '../../helpers/task-fixture.ts';
import { until } from '../../helpers/until.ts';

const ME = 'i_me';
const OTHER = 'i_other_node';

/**
 * The store as this node sees it, except that its first claim loses `steal` tasks: another
 * node's CAS queued → running commits first (its own lease owner), so this claim's CAS for them
 * finds them running and fails; the rest of the claim applies.
 */
function contendedStore(inner: SqliteTaskStore, steal: (requests: TransitionRequest[]) => string[]): { store: TaskStore; stolen: string[] } {
  const stolen: string[] = [];
  let contended = false;
  const transition: TaskStore['transition'] = async (requests) => {
    if (!contended && requests.some((r) => r.to === 'running')) {
      contended = true;
      for (const id of steal(requests)) {
        const now = Date.now();
        const [r] = await inner.transition([
          { id, from: ['pending'], to: 'running', patch: { attempt: 1, started_at: now, lease_owner: OTHER, lease_expires_at: now + 60_000 }, now },
        ]);
        if (r) stolen.push(id);
      }
    }
    return inner.transition(requests);
  };
  const store = new Proxy(inner, {
    get: (target, prop, receiver) => (prop === 'transition' ? transition : (Reflect.get(target, prop, receiver) as unknown)),
  }) as TaskStore;
  return { store, stolen };
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

async function rig(queued: number, cpu: number, steal: (requests: TransitionRequest[]) => string[]) {
  const inner = SqliteTaskStore.open(':memory:');
  const created = Date.now() - 1000;
  const tasks: Task[] = Array.from({ length: queued }, (_, i) => taskFixture({ id: `t${i}`, created_at: created + i }));
  await inner.insert(
    tasks.map((task) => ({ task, body_hash: null })),
    created,
  );
  const ownership = await inner.claimExecutor('local', ME, Date.now(), 60_000);
  const fence: Fence = { executor: 'local', epoch: (ownership as { epoch: number }).epoch };
  const { store, stolen } = contendedStore(inner, steal);
  const { dispatcher, runs, errors, stop } = dispatcherRig({ store, tenantStore: inner.tenants, instanceId: ME, fence, cpu });
  stops.push(async () => {
    await stop();
    await inner.close();
  });
  return { inner, dispatcher, runs, stolen, errors };
}

describe('a claim that lost tasks to another node', () => {
  it('reads the queue again and claims what is queued behind them, with no new submit', async () => {
    // Room for 2 of 5 queued tasks; another node takes the first of the two this node claims.
    const { inner, dispatcher, runs, stolen, errors } = await rig(5, 2, (requests) => [requests[0]!.id]);
    dispatcher.wake(); // the only wake-up: the first round
    await until('this node runs two tasks', async () => runs.size === 2, 5000);
    expect(stolen).toEqual(['t0']);
    // The task behind them was claimed here, in a round nobody asked for.
    expect([...runs.keys()].sort()).toEqual(['t1', 't2']);
    const rows = await Promise.all(['t0', 't1', 't2', 't3', 't4'].map(async (id) => (await inner.get(id))!));
    expect(rows.map((t) => [t.id, t.status, t.lease_owner])).toEqual([
      ['t0', 'running', OTHER],
      ['t1', 'running', ME],
      ['t2', 'running', ME],
      ['t3', 'pending', null],
      ['t4', 'pending', null],
    ]);
    expect(errors).toEqual([]);
  });

  it('a claim that lost all of its tasks claims the next ones too', async () => {
    const { dispatcher, runs, stolen, errors } = await rig(4, 2, (requests) => requests.map((r) => r.id));
    dispatcher.wake();
    await until('this node runs two tasks', async () => runs.size === 2, 5000);
    expect(stolen).toEqual(['t0', 't1']);
    expect([...runs.keys()].sort()).toEqual(['t2', 't3']);
    expect(errors).toEqual([]);
  });
});
