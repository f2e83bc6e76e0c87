/**
 * Pruning dead nodes' executors on a real PostgreSQL 15 (TaskStore.pruneExecutors,
 * ownership.ts): the prune races the node coming back (a claim on another connection) and the
 * epoch still only moves on; and a scheduler's ownership loop forgets a dead node's
 * `local@<node>` after the grace, keeping its own, live nodes' and ones a task still names.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { Ownership } from '../../../src/engine/ownership.ts';
import { PostgresTaskStore } from '../../../src/store/postgres/postgres-store.ts';
import { usePostgres } from '../../helpers/postgres-server.ts';
import { until } from '../../helpers/until.ts';
import { makeTask, seed, T0, uniq } from './fixtures.ts';

const server = usePostgres();
const TTL = 10_000;

describe('PostgreSQL: pruning dead node executors', () => {
  it('a prune racing the node coming back never lets the epoch go back', { timeout: 120_000 }, async () => {
    const url = await (await server()).createDatabase();
    const [pruner, node] = await Promise.all([PostgresTaskStore.open({ url }), PostgresTaskStore.open({ url })]);
    try {
      const executor = uniq('local@racer');
      let epoch = (await node.claimExecutor(executor, 'node', T0, TTL))!.epoch;
      let pruned = 0;
      for (let i = 1; i <= 60; i++) {
        // The ownership lapsed at T0 + (i - 1) TTL + TTL: both the prune and the claim may apply.
        const now = T0 + i * TTL;
        const [gone, back] = await Promise.all([pruner.pruneExecutors([executor], now), node.claimExecutor(executor, 'node', now, TTL)]);
        pruned += gone.length;
        // Whichever came first, the claim wins with the very next epoch: from the row, or from its tombstone.
        expect(back).toMatchObject({ executor, owner: 'node', epoch: epoch + 1 });
        epoch = back!.epoch;
      }
      console.info(`[store] postgres prune-vs-claim race: ${pruned} of 60 rounds pruned first`);
      expect((await node.executorOwners()).find((o) => o.executor === executor)?.epoch).toBe(61);
    } finally {
      await Promise.all([pruner.close(), node.close()]);
    }
  });

  it("a claim that read the row before the prune committed and inserts after it still moves on from the pruned epoch", { timeout: 60_000 }, async () => {
    const url = await (await server()).createDatabase();
    const [pruner, node] = await Promise.all([PostgresTaskStore.open({ url }), PostgresTaskStore.open({ url })]);
    const holder = new pg.Client(url);
    await holder.connect();
    try {
      const executor = uniq('local@late');
      for (let i = 0; i < 3; i++) await node.claimExecutor(executor, 'node', T0 + i * TTL, TTL);
      const now = T0 + 10 * TTL;
      // Hold the row so the prune waits in its DELETE; the claim then reads (snapshot: the
      // row, epoch 3, no tombstone) and waits too. Let go: the prune deletes first, the claim
      // finds no row any more and inserts.
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM executor_owners WHERE executor = $1 FOR SHARE', [executor]);
      const waiting = async (n: number) =>
        (await holder.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")).rows[0].n >= n || null;
      const gone = pruner.pruneExecutors([executor], now);
      await until('the prune to wait for the row', () => waiting(1), 10_000);
      const back = node.claimExecutor(executor, 'node', now, TTL);
      await until('the claim to wait for the row', () => waiting(2), 10_000);
      await holder.query('COMMIT');
      expect(await gone).toEqual([executor]);
      expect(await back).toMatchObject({ owner: 'node', epoch: 4 });
    } finally {
      await holder.end();
      await Promise.all([pruner.close(), node.close()]);
    }
  });

  it("a scheduler's ownership loop forgets a dead node after the grace, nothing else", { timeout: 60_000 }, async () => {
    const url = await (await server()).createDatabase();
    const store = await PostgresTaskStore.open({ url });
    try {
      const GRACE = 60_000;
      const [mine, dead, lateDead, live, pinned, configured] = ['local@me', 'local@dead', 'local@late', 'local@live', 'local@pinned', 'ray'];
      for (const e of [dead, pinned, configured]) await store.claimExecutor(e, 'gone', T0, TTL);
      await store.claimExecutor(lateDead, 'gone', T0 + GRACE, TTL);
      await seed(store, [makeTask({ executor: pinned, tenant: uniq('tenant') })]);
      let now = T0 + TTL + GRACE;
      await store.claimExecutor(live, 'alive', now, TTL);
      const ownership = new Ownership({
        store,
        executors: [mine],
        owner: 'me',
        ttlMs: TTL,
        renewMs: 1000,
        steal: false,
        gained: async () => {},
        lost: () => {},
        pruneAfterMs: GRACE,
        now: () => now,
      });
      await ownership.start();
      await ownership.stop();
      const names = async () => (await store.executorOwners()).map((o) => o.executor).sort();
      // Lapsed exactly GRACE ago: gone; lapsed less long, named by a queued task, not a node's, or live: kept.
      expect(await names()).toEqual([configured, lateDead, live, mine, pinned].sort());
      now += GRACE + TTL;
      expect(await ownership.pruneDeadNodes()).toEqual([lateDead, live]);
      // The dead node comes back: a new epoch above the pruned one.
      expect(await store.claimExecutor(dead, 'back', now, TTL)).toMatchObject({ epoch: 2 });
    } finally {
      await store.close();
    }
  });
});
