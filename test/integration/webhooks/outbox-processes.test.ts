/**
 * The webhook outbox across processes (webhooks/outbox-worker.ts): deliveries queued while the
 * receiver is down survive a kill -9 of the server and are sent after its restart; two
 * processes over one PostgreSQL store send each delivery once, and the one that survives its
 * peer's kill -9 sends what the dead one had queued; a `completed` delivery the dead process
 * never wrote (killed between the transition and the outbox) is written by the sweep.
 */
import { createHmac } from 'node:crypto';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { usePostgres } from '../../helpers/postgres-server.ts';
import { api, freePort, ROOT, startServerProcess, tempDir, writeConfig, type ServerProcess } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';
import { arrivals, startReceiver, type Receiver } from './receiver.ts';

const SECRET = 'outbox-secret';
const WEBHOOKS = { allow_private: true, secret: SECRET, backoff_ms: 200, max_backoff_ms: 1000, max_attempts: 50, timeout_ms: 1000 };
const servers: ServerProcess[] = [];
const receivers: Receiver[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.kill('SIGKILL')));
  await Promise.all(receivers.map((r) => r.close()));
});

const start = async (dir: string, config: string, args: string[] = []) => {
  const s = await startServerProcess(dir, config, undefined, args);
  servers.push(s);
  return s;
};
const receiver = async (port: number, delayMs = 0) => {
  const r = await startReceiver(port, delayMs);
  receivers.push(r);
  return r;
};

interface LogEntry {
  delivery: string;
  event: string;
  attempt: number;
  outcome: string;
}
const log = async (s: ServerProcess, id: string): Promise<LogEntry[]> => (await api<{ deliveries: LogEntry[] }>(s.url, 'GET', `/api/v1/tasks/${id}/webhooks`)).body.deliveries;

const submit = async (s: ServerProcess, hook: string, n: number): Promise<string[]> => {
  const r = await api<{ tasks: { id: string }[] }>(s.url, 'POST', '/api/v1/tasks/batch', {
    tasks: Array.from({ length: n }, () => ({ script: 'ok.py', webhook: { url: hook, events: ['start', 'completed'] } })),
  });
  expect(r.status).toBe(201);
  return r.body.tasks.map((t) => t.id);
};

const succeeded = async (s: ServerProcess, ids: string[]) =>
  (await Promise.all(ids.map(async (id) => (await api<{ status: string }>(s.url, 'GET', `/api/v1/tasks/${id}`)).body.status))).every((x) => x === 'completed');

/** Every task got its start then its completed, each delivery once, signed. */
const expectDeliveredOnce = (r: Receiver, ids: string[]) => {
  for (const [, n] of arrivals(r.received)) expect(n).toBe(1);
  for (const id of ids) expect(r.received.filter((x) => x.body.task_id === id).map((x) => x.body.event)).toEqual(['start', 'completed']);
  for (const x of r.received) expect(x.headers['x-lakeray-signature']).toBe(`sha256=${createHmac('sha256', SECRET).update(x.raw).digest('hex')}`);
};

/** One process on its own SQLite store (state/lakeray.db in dir). */
const sqliteConfig = (dir: string) =>
  writeConfig(dir, { script_roots: [join(ROOT, 'test/fixtures/scripts')], data_roots: [join(dir, 'data')], executors: { local: { cpu: 2 } }, webhooks: WEBHOOKS });

describe('webhook outbox', () => {
  it('sends the deliveries queued before a kill -9 after the restart', { timeout: 180_000 }, async () => {
    const dir = tempDir('lakeray-outbox-');
    const config = sqliteConfig(dir);
    const port = await freePort(); // nothing listens there yet: the receiver is down
    let s = await start(dir, config);
    const ids = await submit(s, `http://127.0.0.1:${port}/hook`, 3);
    await until('the tasks to succeed', () => succeeded(s, ids), 60_000);
    await until('retried start deliveries', async () => (await Promise.all(ids.map((id) => log(s, id)))).every((l) => l.some((e) => e.attempt >= 2)), 30_000);
    await s.kill('SIGKILL');

    const r = await receiver(port);
    s = await start(dir, config);
    await until('every start and completed delivered', async () => r.received.length >= 2 * ids.length, 60_000);
    await new Promise((res) => setTimeout(res, 1500)); // nothing more comes
    expectDeliveredOnce(r, ids);
    // The restarted server went on counting the attempts the dead one made.
    expect(r.received.every((x) => Number(x.headers['x-lakeray-attempt']) >= 2 || x.body.event === 'completed')).toBe(true);
    const after = await log(s, ids[0]!);
    expect(after.filter((e) => e.outcome === 'delivered').map((e) => e.event)).toEqual(['start', 'completed']);
    await s.kill('SIGTERM');
  });

  it('writes the completed deliveries a kill -9 between the transition and the outbox lost', { timeout: 180_000 }, async () => {
    const dir = tempDir('lakeray-outbox-');
    const config = sqliteConfig(dir);
    const port = await freePort(); // the receiver is down: nothing is delivered before the kill
    let s = await start(dir, config);
    const ids = await submit(s, `http://127.0.0.1:${port}/hook`, 3);
    await until('the tasks to succeed', () => succeeded(s, ids), 60_000);
    await s.kill('SIGKILL');
    // As if the process had died right after each task's last transition committed.
    const db = new Database(join(dir, 'state', 'lakeray.db'));
    const lost = db.prepare("DELETE FROM webhook_deliveries WHERE event = 'completed'").run().changes;
    db.close();
    expect(lost).toBe(ids.length);

    const r = await receiver(port);
    s = await start(dir, config);
    await until('every start and completed delivered', async () => r.received.length >= 2 * ids.length, 60_000);
    await new Promise((res) => setTimeout(res, 6000)); // another sweep: nothing is written twice
    expectDeliveredOnce(r, ids);
    for (const x of r.received.filter((y) => y.body.event === 'completed')) expect(x.body.data).toMatchObject({ status: 'completed' });
    await s.kill('SIGTERM');
  });

  describe('over one PostgreSQL store', () => {
    const pg = usePostgres();

    it('two processes send each delivery once; the survivor of a kill -9 sends what its peer queued', { timeout: 240_000 }, async () => {
      const url = await (await pg()).createDatabase();
      const dirs = [tempDir('lakeray-outbox-'), tempDir('lakeray-outbox-')];
      const configs = dirs.map((dir) =>
        writeConfig(dir, {
          store: { kind: 'postgres', url, pool_size: 4 },
          script_roots: [join(ROOT, 'test/fixtures/scripts')],
          data_roots: [join(dir, 'data')],
          executors: { local: { cpu: 4 } },
          webhooks: WEBHOOKS,
        }),
      );
      const scheduler = await start(dirs[0]!, configs[0]!, ['--role', 'scheduler']);
      const apiNode = await start(dirs[1]!, configs[1]!, ['--role', 'api']);
      const port = await freePort();

      // Both alive, a slow receiver: both workers poll the one outbox.
      let r = await receiver(port, 150);
      const first = await submit(apiNode, `http://127.0.0.1:${port}/hook`, 8);
      await until('the first deliveries', async () => r.received.length >= 2 * first.length, 90_000);
      await new Promise((res) => setTimeout(res, 2500)); // a second sender would have sent by now
      expectDeliveredOnce(r, first);
      await r.close();

      // Receiver down: the scheduler's deliveries wait in the outbox; then the scheduler dies.
      const second = await submit(apiNode, `http://127.0.0.1:${port}/hook`, 4);
      await until('the tasks to succeed', () => succeeded(apiNode, second), 60_000);
      await until('retried deliveries', async () => (await Promise.all(second.map((id) => log(apiNode, id)))).every((l) => l.some((e) => e.attempt >= 2)), 30_000);
      await scheduler.kill('SIGKILL');
      r = await receiver(port);
      await until('the api node to deliver them', async () => r.received.length >= 2 * second.length, 60_000);
      await new Promise((res) => setTimeout(res, 1500));
      expectDeliveredOnce(r, second);
      // No attempt number was used twice for one delivery (one sender at a time).
      for (const id of second) {
        const entries = await log(apiNode, id);
        for (const d of new Set(entries.map((e) => e.delivery))) {
          const attempts = entries.filter((e) => e.delivery === d).map((e) => e.attempt);
          expect(attempts).toEqual(attempts.map((_, i) => i + 1));
        }
      }
    });
  });
});
