/**
 * The PostgreSQL store's connection pool when the server drops a connection the pool has
 * handed out: a transaction between two statements when PostgreSQL restarts (FATAL 57P01
 * arrives with no query to fail). The process must not crash on the client's 'error' event;
 * the transaction fails with STORE_UNAVAILABLE and the pool goes on with a new connection.
 * (Found by the multi-process fault suite: the owning scheduler died on a PostgreSQL restart.)
 */
import pg from 'pg';
import { expect, it } from 'vitest';
import { Connection } from '../../../src/store/postgres/connection.ts';
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
