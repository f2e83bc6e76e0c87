/**
 * The PostgreSQL store's connection pool when the server drops a connection the pool has
 * handed out: a transaction between two statements when PostgreSQL restarts (FATAL 57P01
 * arrives with no query to fail). The process must not crash on the client's 'error' event;
 * the transaction fails with STORE_UNAVAILABLE and the pool goes on with a new connection.
 * And a transaction that stalls holding an executor fence's share lock (its process frozen)
 * is ended by the server, so a standby's claim does not wait for the freeze to end.
 * (Both found by the multi-process fault suite: the owning scheduler died on a PostgreSQL
 * restart; a SIGSTOPped owner kept its standby from taking over.) And a pool with every
 * client busy past its connection timeout answers STORE_UNAVAILABLE (503), not a 500 (seen
 * by the events-multi bench on a loaded machine).
 */
import pg from 'pg';
import { expect, it } from 'vitest';
import { Connection } from '../../../src/store/postgres/connection.ts';
import { PostgresTaskStore } from '../../../src/store/postgres/postgres-store.ts';
import { usePostgres } from '../../helpers/postgres-server.ts';

const server = usePostgres();

it('survives the server ending a checked-out connection between two statements', { timeout: 60_000 }, async () => {
  const url = await (await server()).createDatabase();
  const db = new Connection({ url, poolSize: 2 });
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  process.on('uncaughtException', onUncaught);
  try {
    const outcome = db.transaction(async (client) => {
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      // The server ends this backend as a shutdown does (SIGTERM: FATAL 57P01) while we wait.
      await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      await new Promise((r) => setTimeout(r, 500));
      await client.query('SELECT 1');
    });
    await expect(outcome).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(uncaught).toEqual([]);
    // The broken client was not handed out again.
    expect(await db.query<{ one: number }>({ text: 'SELECT 1 AS one' })).toEqual([{ one: 1 }]);
  } finally {
    process.off('uncaughtException', onUncaught);
    await admin.end();
    await db.close();
  }
});

it('a statement that waits past the connection timeout for a pool client is STORE_UNAVAILABLE', { timeout: 60_000 }, async () => {
  const url = await (await server()).createDatabase();
  const db = new Connection({ url, poolSize: 1 });
  const held = await db.pool.connect(); // the pool's only client, busy
  try {
    await expect(db.execute({ text: 'SELECT 1' })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    held.release();
    expect(await db.query<{ one: number }>({ text: 'SELECT 1 AS one' })).toEqual([{ one: 1 }]);
  } finally {
    await db.close();
  }
});

it('ends a transaction that stalls holding an executor fence, so a standby can take the executor over', { timeout: 90_000 }, async () => {
  const url = await (await server()).createDatabase();
  const owner = await PostgresTaskStore.open({ url, poolSize: 2 });
  const standby = await PostgresTaskStore.open({ url, poolSize: 2 });
  const stalled = new Connection({ url, poolSize: 1 });
  try {
    const won = await owner.claimExecutor('local', 'frozen', Date.now(), 1_000);
    expect(won?.epoch).toBe(1);
    // The owner's process freezes (SIGSTOP, a long GC pause) inside a fenced write: its
    // transaction holds the fence's share lock on the owner row and sends nothing more.
    let release = () => {};
    const stuck = stalled.transaction(async (client) => {
      await client.query('SELECT 1 FROM executor_owners WHERE executor = $1 AND epoch = $2 FOR SHARE', ['local', 1]);
      await new Promise<void>((r) => (release = r));
      await client.query('SELECT 1');
    });
    stuck.catch(() => {});
    await new Promise((r) => setTimeout(r, 1_200)); // the ownership expires
    const t0 = Date.now();
    const taken = await standby.claimExecutor('local', 'standby', Date.now(), 6_000);
    expect(taken?.owner).toBe('standby');
    expect(taken?.epoch).toBe(2);
    expect(Date.now() - t0).toBeLessThan(15_000);
    release();
    await expect(stuck).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  } finally {
    await Promise.all([owner.close(), standby.close(), stalled.close()]);
  }
});
