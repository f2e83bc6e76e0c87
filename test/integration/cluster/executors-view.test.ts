/**
 * GET /api/v1/executors with node-scoped local executors (routes/executors.ts): one API and
 * two scheduler processes (node-a, node-b) over one PostgreSQL. The API process, which runs
 * nothing itself, lists the shared queue `local` and each node's `local@<node>` with its owner,
 * lease and load (schedulers serve no listing). kill -9 of node-b: node-a recovers its
 * executor, which is then no longer listed; kill -9 of node-a too: nobody recovers it, so it
 * is listed lapsed and down, and so is the shared queue.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { ExecutorInfo } from '../../../web/src/api/types.ts';
import type { Cluster } from '../../helpers/cluster.ts';
import { startTwoNodes } from './two-nodes.ts';
import { until } from '../../helpers/until.ts';

let cluster: Cluster | undefined;

const listing = async (url: string): Promise<ExecutorInfo[]> => {
  const r = await fetch(`${url}/api/v1/executors`);
  expect(r.status).toBe(200);
  return ((await r.json()) as { executors: ExecutorInfo[] }).executors;
};

const sleeper = (executor: string) => ({ script: 'mixed.js', executor, params: { kind: 'sleep', steps: 240, step_ms: 250 } });

describe('executors listing with node-scoped local executors', () => {
  afterAll(async () => {
    await cluster?.stop();
  });

  it("lists every node's local@<node> with owner, lease and load; a recovered node is no longer listed, an unrecovered one is down", { timeout: 300_000 }, async () => {
    cluster = await startTwoNodes(2);
    const api = cluster.apis()[0]!.url;
    // Two long tasks pinned to node-b (2 slots: both run), one more waits there queued.
    const submitted = await fetch(`${api}/api/v1/tasks/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tasks: [sleeper('local@node-b'), sleeper('local@node-b'), sleeper('local@node-b')] }),
    });
    expect(submitted.status).toBeLessThan(300);

    const seen = await until('both nodes listed, node-b running 2 with 1 queued', async () => {
      const l = await listing(api);
      return l.find((e) => e.name === 'local@node-b')?.load?.running === 2 && l.some((e) => e.name === 'local@node-a') ? l : null;
    }, 120_000, 250);
    expect(seen.map((e) => e.name)).toEqual(['local', 'local@node-a', 'local@node-b']);
    const [queue, a, b] = seen as [ExecutorInfo, ExecutorInfo, ExecutorInfo];
    expect(queue).toMatchObject({ kind: 'local', health: { ok: true, message: null }, capacity: { cpu: 2 }, load: { queued: 0, running: 0 } });
    expect(queue.node).toBeUndefined();
    for (const e of [a, b]) {
      expect(e).toMatchObject({ kind: 'local', mode: null, health: { ok: true }, capacity: { cpu: 2 }, node: { lease: 'held', epoch: 1 } });
      expect(e.node!.expires_at).toBeGreaterThan(Date.now() - 2000);
    }
    expect(a.node!.owner).not.toBe(b.node!.owner);
    expect(a.load).toEqual({ queued: 0, running: 0 });
    expect(b.load).toEqual({ queued: 1, running: 2 });

    // kill -9 node-b: node-a recovers its executor and gives it up: no longer listed.
    await cluster.kill(cluster.schedulers().find((n) => n.slot.endsWith('b'))!.slot);
    await until('node-b recovered and no longer listed', async () => ((await listing(api)).some((x) => x.name === 'local@node-b') ? null : true), 60_000, 250);
    expect((await listing(api)).map((e) => e.name)).toEqual(['local', 'local@node-a']);

    // kill -9 node-a too: nobody recovers it, so it stays listed, lapsed and down, and the
    // shared queue is down (no node takes from it).
    await cluster.kill(cluster.schedulers().find((n) => n.slot.endsWith('a'))!.slot);
    const after = await until('node-a lapsed', async () => {
      const l = await listing(api);
      return l.find((x) => x.name === 'local@node-a')?.node?.lease === 'lapsed' ? l : null;
    }, 60_000, 250);
    expect(after.map((e) => [e.name, e.health.ok])).toEqual([
      ['local', false],
      ['local@node-a', false],
    ]);
    expect(after[0]!.health.message).toMatch(/no scheduler node takes tasks/);
    expect(after[1]!.health.message).toMatch(/node-a stopped renewing/);
  });
});
