/**
 * Node-scoped local executors (issue 14 §3, engine/node-queues.ts): two scheduler processes
 * on two node names and one API process over one PostgreSQL. Tasks submitted to `local` run
 * on both nodes at once (each task's executor says which: `local@node-a` / `local@node-b`);
 * tasks pinned to `local@node-b` run only there; kill -9 of node-a's scheduler while it runs
 * tasks → node-b takes node-a's executor over (a new epoch), re-queues them and runs them:
 * none lost, none with two terminal events; node-a restarted under its name owns its
 * executor again and runs what is pinned to it.
 */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { Cluster } from '../../helpers/cluster.ts';
import { startTwoNodes } from './two-nodes.ts';
import { until } from '../../helpers/until.ts';

const TERMINAL = ['completed', 'failed', 'cancelled'];

interface TaskView {
  id: string;
  status: string;
  executor: string;
  started_at: number | null;
  finished_at: number | null;
  attempt: number;
}

let cluster: Cluster | undefined;
let db: pg.Client | undefined;

async function submit(api: string, tasks: Record<string, unknown>[]): Promise<string[]> {
  const r = await fetch(`${api}/api/v1/tasks/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tasks }) });
  const body = (await r.json()) as { results?: { task?: { id: string } }[]; tasks?: { id: string }[] };
  if (r.status >= 300) throw new Error(`submit: ${r.status} ${JSON.stringify(body)}`);
  const rows = body.results?.map((x) => x.task) ?? body.tasks ?? [];
  return rows.map((t) => (t as { id: string }).id);
}

async function tasks(ids: readonly string[]): Promise<TaskView[]> {
  const { rows } = await db!.query<TaskView>(
    `SELECT id, status, executor, started_at::float8 AS started_at, finished_at::float8 AS finished_at, attempt FROM tasks WHERE id = ANY($1)`,
    [ids],
  );
  return rows;
}

const allDone = (ids: readonly string[]) =>
  until(`${ids.length} tasks terminal`, async () => ((await tasks(ids)).filter((t) => TERMINAL.includes(t.status)).length === ids.length ? true : null), 180_000, 250);

const sleeper = (ms: number, over: Record<string, unknown> = {}) => ({ script: 'mixed.js', params: { kind: 'sleep', steps: Math.max(1, Math.round(ms / 250)), step_ms: 250 }, ...over });

describe('node-scoped local executors', () => {
  afterAll(async () => {
    await db?.end().catch(() => {});
    await cluster?.stop();
  });

  it('runs local tasks on both nodes at once, pinned ones on their node, and recovers a killed node elsewhere', { timeout: 600_000 }, async () => {
    cluster = await startTwoNodes(3);
    const c = cluster;
    db = new pg.Client({ connectionString: c.databaseUrl });
    await db.connect();
    const api = c.apis()[0]!.url;
    try {
      // Both nodes up: each holds its own executor (a scheduler answers /health before it has
      // taken its lease, and on a loaded machine node-a alone could run all twelve meanwhile).
      await until('both nodes own their executor', async () => {
        const { rows } = await db!.query<{ executor: string }>(`SELECT executor FROM executor_owners WHERE owner IS NOT NULL`);
        return rows.filter((o) => o.executor.startsWith('local@')).length === 2 ? true : null;
      }, 120_000, 100);
      // 1. Twelve 2 s tasks into `local`, 3 slots per node: both nodes run them, at the same time.
      const shared = await submit(api, Array.from({ length: 12 }, () => sleeper(2000)));
      await allDone(shared);
      const ran = await tasks(shared);
      expect(ran.every((t) => t.status === 'completed')).toBe(true);
      const onA = ran.filter((t) => t.executor === 'local@node-a');
      const onB = ran.filter((t) => t.executor === 'local@node-b');
      expect(onA.length + onB.length).toBe(12);
      expect(onA.length).toBeGreaterThan(0);
      expect(onB.length).toBeGreaterThan(0);
      const overlaps = onA.some((a) => onB.some((b) => a.started_at! < b.finished_at! && b.started_at! < a.finished_at!));
      expect(overlaps).toBe(true);
      // Each node holds its own executor's ownership; nobody owns the shared queue.
      const owners = (await db.query<{ executor: string; owner: string | null }>(`SELECT executor, owner FROM executor_owners`)).rows;
      expect(owners.filter((o) => o.owner !== null).map((o) => o.executor).sort()).toEqual(['local@node-a', 'local@node-b']);

      // 2. Pinned to node-b: only node-b runs them. A name that is no node's executor is refused.
      const pinned = await submit(api, Array.from({ length: 6 }, () => sleeper(250, { executor: 'local@node-b' })));
      await allDone(pinned);
      expect((await tasks(pinned)).map((t) => [t.status, t.executor])).toEqual(Array.from({ length: 6 }, () => ['completed', 'local@node-b']));
      const bad = await fetch(`${api}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ script: 'mixed.js', executor: 'local@no such node' }) });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('UNKNOWN_EXECUTOR');

      // 3. kill -9 node-a's scheduler while it runs tasks: node-b recovers them.
      const { rows: [before] } = await db.query<{ epoch: number }>(`SELECT epoch FROM executor_owners WHERE executor = 'local@node-a'`);
      const long = await submit(api, Array.from({ length: 8 }, () => sleeper(4000, { max_attempts: 3 })));
      await until('node-a running some of them', async () => ((await tasks(long)).some((t) => t.executor === 'local@node-a' && t.status === 'running') ? true : null), 60_000, 100);
      const runningOnA = (await tasks(long)).filter((t) => t.executor === 'local@node-a' && t.status === 'running').map((t) => t.id);
      await c.kill('sched-a');
      await allDone(long);
      const after = await tasks(long);
      expect(after.map((t) => t.status)).toEqual(Array.from({ length: 8 }, () => 'completed'));
      // What ran on node-a when it died ran again, on node-b, as a second attempt.
      for (const id of runningOnA) expect(after.find((t) => t.id === id)).toMatchObject({ executor: 'local@node-b', attempt: 2 });
      const twice = await db.query(`SELECT task_id FROM events WHERE type = 'state' AND data::json->>'status' = ANY($1) GROUP BY task_id HAVING count(*) > 1`, [TERMINAL]);
      expect(twice.rows).toEqual([]);
      // node-b took node-a's executor (a new epoch: a late write of node-a is refused) and gave it up again.
      const { rows: [taken] } = await db.query<{ epoch: number; owner: string | null }>(`SELECT epoch, owner FROM executor_owners WHERE executor = 'local@node-a'`);
      expect(taken!.epoch).toBeGreaterThan(before!.epoch);
      expect(taken!.owner).toBeNull();

      // 4. Tasks pinned to node-a wait for it; node-a restarted under its name owns its executor again and runs them.
      const waiting = await submit(api, Array.from({ length: 3 }, () => sleeper(250, { executor: 'local@node-a' })));
      await c.restart('sched-a');
      await allDone(waiting);
      expect((await tasks(waiting)).map((t) => [t.status, t.executor])).toEqual(Array.from({ length: 3 }, () => ['completed', 'local@node-a']));
    } catch (err) {
      console.log(c.output().slice(-20_000));
      throw err;
    }
  });
});
