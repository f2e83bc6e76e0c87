/**
 * A separate process racing others to finish the same tasks in one PostgreSQL database (used by
 * postgres.test.ts, like race-worker.ts for SQLite). argv: <database url> <worker number>
 * <signal dir>. Reads the task ids from <signal dir>/ids.json, writes <signal dir>/ready-<n>
 * once its store is open, waits for <signal dir>/go, and prints the ids it won as JSON.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PostgresTaskStore } from '../../../src/store/postgres/postgres-store.ts';

const [url, workerArg, signals] = process.argv.slice(2) as [string, string, string];
const worker = Number(workerArg);
const ids = JSON.parse(readFileSync(join(signals, 'ids.json'), 'utf8')) as string[];
const store = await PostgresTaskStore.open({ url, poolSize: 4 });

writeFileSync(join(signals, `ready-${worker}`), '');
const deadline = Date.now() + 30_000;
while (!existsSync(join(signals, 'go'))) {
  if (Date.now() > deadline) throw new Error('no go signal');
  await new Promise((r) => setTimeout(r, 1));
}

// Each worker walks the tasks from a different offset, odd ones backwards, in batches of 8 (as
// a dispatcher's settle batches are): walkers meet head-on, and their batches lock rows in
// opposite orders (deadlocks PostgreSQL breaks and the store runs again).
const won: string[] = [];
const order = ids.map((_, i) => ids[(i + worker * Math.floor(ids.length / 4)) % ids.length] as string);
if (worker % 2 === 1) order.reverse();
for (let i = 0; i < order.length; i += 8) {
  const batch = order.slice(i, i + 8);
  const results = await store.transition(
    batch.map((id) => ({ id, from: ['running', 'cancelling'] as const, to: worker % 2 === 0 ? ('completed' as const) : ('failed' as const), patch: { result: worker }, now: Date.now() })),
  );
  results.forEach((r, k) => r && won.push(batch[k]!));
}
await store.close();
process.stdout.write(JSON.stringify(won));
