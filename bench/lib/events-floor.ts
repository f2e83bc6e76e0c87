/**
 * The floor of `events-multi`: the same load on the same machine through the same hops, with
 * nothing of Lakeray in them. TASKS Python tickers (bench/scripts/ticker.py, Lakeray's line
 * encoder) → one relay process that stamps, stores each batch in PostgreSQL with one INSERT and
 * publishes it with one XADD (events-floor-relay.ts, the scheduler's place) → two fan-out
 * processes that XREAD and write to WebSockets (events-floor-fanout.ts, the API nodes' place) →
 * the very subscriber process `events-multi` uses (ws-clients.ts, the same sockets spread the
 * same way, the same ping). A fresh PostgreSQL and Redis of its own, as the cluster has.
 * Whatever latency the floor has, this machine gives any design with these hops; what Lakeray
 * adds to it is the ratio.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startPostgresServer } from '../../test/helpers/postgres-server.ts';
import { startRedisServer } from '../../test/helpers/redis-server.ts';
import { killGroup, waitExit } from './child-process.ts';

export interface FloorOptions {
  tasks: number;
  clients: number;
  rate: number;
  seconds: number;
  /** Store each batch in PostgreSQL before publishing it (false: Redis only). */
  store: boolean;
}

/** ws-clients.ts's report line. */
export type ClientsReport = Record<string, any>;

/** A child in its own process group, its stdout as JSON lines (`next()` waits for one). */
function start(args: string[]): { child: ChildProcess; next(): Promise<any> } {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return {
    child,
    async next() {
      const { value, done } = await lines.next();
      if (done) throw new Error(`${args[0]} ended before answering (exit ${child.exitCode ?? child.signalCode})`);
      return JSON.parse(value);
    },
  };
}

export async function runFloor(o: FloorOptions): Promise<{ report: ClientsReport; relay: Record<string, number>; expected: number }> {
  const [pgServer, redis] = await Promise.all([o.store ? startPostgresServer() : null, startRedisServer()]);
  const children: ChildProcess[] = [];
  try {
    const databaseUrl = pgServer ? await pgServer.createDatabase() : '-';
    const fanouts = [start([join(import.meta.dirname, 'events-floor-fanout.ts'), redis.url]), start([join(import.meta.dirname, 'events-floor-fanout.ts'), redis.url])];
    children.push(...fanouts.map((f) => f.child));
    const urls = (await Promise.all(fanouts.map((f) => f.next()))).map((m: { url: string }) => m.url);
    // The same head start as events-multi gives its tickers: cold starts and subscriptions.
    const startAt = Date.now() + 25_000;
    const relay = start([join(import.meta.dirname, 'events-floor-relay.ts'), redis.url, databaseUrl, String(o.tasks), String(o.rate), String(o.seconds), String(startAt)]);
    children.push(relay.child);
    const { ids } = (await relay.next()) as { ids: string[] };
    const until = startAt + o.seconds * 1000 + 3000;
    const perTask = o.rate * o.seconds;
    const expected = perTask * o.clients + perTask * o.tasks;
    const clients = start([join(import.meta.dirname, 'ws-clients.ts'), urls.join(','), ids.join(','), String(o.clients), String(until), String(startAt + 1000), String(startAt + (o.seconds - 1) * 1000), String(expected)]);
    children.push(clients.child);
    const ready = await clients.next();
    if (!ready.ready) throw new Error('the subscribers did not say ready');
    if (Date.now() > startAt) console.log('warning (floor): subscribers were ready only after the tickers started');
    const report = (await clients.next()) as ClientsReport;
    const { done } = (await relay.next()) as { done: Record<string, number> };
    return { report, relay: done, expected };
  } finally {
    for (const c of children) killGroup(c, 'SIGKILL');
    await Promise.all(children.map((c) => waitExit(c, 5_000)));
    await Promise.allSettled([pgServer?.stop(), redis.stop()]);
  }
}
