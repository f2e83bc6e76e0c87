/**
 * A separate process racing others to finish the same tasks in one SQLite file (used by
 * sqlite.test.ts). argv: <db path> <worker number> <signal dir>. Reads the task ids from
 * <signal dir>/ids.json, writes <signal dir>/ready-<n> once its store is open, waits for
 * <signal dir>/go so all workers start together, and prints the ids it won as JSON.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteTaskStore } from '../../../src/store/sqlite/sqlite-store.ts';

const [path, workerArg, signals] = process.argv.slice(2) as [string, string, string];
const worker = Number(workerArg);
const ids = JSON.parse(readFileSync(join(signals, 'ids.json'), 'utf8')) as string[];
const store = SqliteTaskStore.open(path);

writeFileSync(join(signals, `ready-${worker}`), '');
const deadline = Date.now() + 30_000;
while (!existsSync(join(signals, 'go'))) {
  if (Date.now() > deadline) throw new Error('no go signal');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
}

const won: string[] = [];
// Each worker walks the tasks from a different offset, so it meets the others mid-way.
for (let i = 0; i < ids.length; i++) {
  const id = ids[(i + worker * Math.floor(ids.length / 4)) % ids.length] as string;
  const [r] = await store.transition([
    { id, from: ['running', 'cancelling'], to: worker % 2 === 0 ? 'completed' : 'failed', patch: { result: worker }, now: Date.now() },
  ]);
  if (r) won.push(id);
}
await store.close();
process.stdout.write(JSON.stringify(won));
