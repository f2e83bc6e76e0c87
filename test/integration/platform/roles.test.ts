/**
 * `lakeray up --role`: an `api` process takes submits over HTTP and owns no executor (it
 * never dispatches); a scheduler started later on the same store runs what it accepted. Real
 * servers (startServer), one after the other on one SQLite file (its lock allows one process
 * at a time; several at once is the PostgreSQL store's job).
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import type { Task } from '../../../src/domain/task.ts';
import { startServer } from '../../../src/main.ts';
import { SqliteTaskStore } from '../../../src/store/sqlite/sqlite-store.ts';
import { tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';

it('an api process queues and owns nothing; a scheduler on the same store runs what it accepted', async () => {
  const dir = tempDir('lakeray-roles-');
  const config = parseConfig(
    { state_dir: join(dir, 'state'), script_roots: [join(import.meta.dirname, 'scripts')], data_roots: [dir], scheduler: { ownership_renew_ms: 100 } },
    dir,
    {},
  );
  const api = await startServer({ config, port: 0, logLevel: 'silent', role: 'api' });
  let id: string;
  try {
    const res = await fetch(`${api.url}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ script: 'noop.js' }) });
    expect(res.status).toBe(201);
    id = ((await res.json()) as Task).id;
    // Several ownership rounds later: still queued, and no executor has an owner.
    await new Promise((r) => setTimeout(r, 800));
    expect((await api.engine.get({ tenant: 'default' }, id)).status).toBe('pending');
    expect((await fetch(`${api.url}/ready`)).status).toBe(200);
  } finally {
    await api.close();
  }
  const store = SqliteTaskStore.open(join(dir, 'state', 'lakeray.db'));
  expect(await store.executorOwners()).toEqual([]);
  await store.close();

  const scheduler = await startServer({ config, port: 0, logLevel: 'silent', role: 'scheduler' });
  try {
    const done = await until('the task to run under the scheduler', async () => {
      const t = await scheduler.engine.get({ tenant: 'default' }, id);
      return t.status === 'completed' ? t : null;
    }, 20_000);
    expect(done.attempt).toBe(1);
  } finally {
    await scheduler.close();
  }
});
