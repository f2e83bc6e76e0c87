/**
 * Fair share across tenants with a deep backlog: the dispatcher reads the queue head in
 * windows of 512, and a tenant with more than that queued must not hide another tenant's
 * tasks from the scheduler until its backlog drains.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { startServer, type RunningServer } from '../../../src/main.ts';
import { tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';

let server: RunningServer;

beforeAll(async () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'data'), { recursive: true });
  const config = parseConfig(
    {
      state_dir: join(dir, 'state'),
      script_roots: [join(import.meta.dirname, 'scripts')],
      data_roots: [join(dir, 'data')],
      executors: {
        local: { cpu: 2, pools: [{ name: 'js', runtime: 'node', min: 1, max: 1, concurrency: 2 }], default_pools: { node: 'js' } },
      },
    },
    dir,
    {},
  );
  server = await startServer({ config, port: 0, logLevel: 'silent' });
});

afterAll(async () => {
  await server?.close();
});

it("a tenant's backlog deeper than the dispatch window does not hold back another tenant", async () => {
  const { engine } = server;
  const backlog = await engine.submit({ tenant: 'big' }, Array.from({ length: 1500 }, () => ({ script: 'noop.js', resources: { cpu: 1 } })));
  const [small] = await engine.submit({ tenant: 'small' }, [{ script: 'noop.js', resources: { cpu: 1 } }]);
  const id = small!.task.id;
  const done = await until('the small tenant\'s task to finish', async () => {
    const t = await engine.get({ tenant: 'small' }, id);
    return t.status === 'completed' ? t : null;
  }, 20_000);
  // Both tenants now share the two slots: the small tenant's task started within a few
  // tasks of the big one, not after the big tenant's queue fell below one window.
  const started = await engine.list({ tenant: 'big' }, { status: ['completed', 'running'], limit: 1000 });
  const before = started.tasks.filter((t) => t.started_at !== null && t.started_at <= (done.started_at as number)).length;
  expect(backlog).toHaveLength(1500);
  expect(before).toBeLessThan(50);
});
