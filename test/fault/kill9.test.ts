/**
 * kill -9 of the server in the middle of 2,000 tasks, then a restart on the same database:
 * every task ends in a terminal state, none is lost, none succeeds twice.
 */
import { afterAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { api, ROOT, startServerProcess, tempDir, writeConfig, type ServerProcess } from '../helpers/server-process.ts';

const TOTAL = 2000;

describe('crash recovery', () => {
  let server: ServerProcess | null = null;
  afterAll(async () => {
    await server?.kill('SIGKILL');
  });

  it('survives kill -9 during a run of 2,000 tasks', { timeout: 240_000 }, async () => {
    const dir = tempDir();
    const config = writeConfig(dir, {
      script_roots: [join(ROOT, 'test/fault/scripts')],
      data_roots: [join(dir, 'data')],
      executors: {
        local: {
          cpu: 16,
          pools: [{ name: 'js', runtime: 'node', min: 1, max: 2, concurrency: 8 }],
          default_pools: { node: 'js' },
        },
      },
    });
    server = await startServerProcess(dir, config);
    const tasks = Array.from({ length: TOTAL }, (_, i) => ({ script: 'short.js', params: { ms: 2 + (i % 7) }, resources: { cpu: 1 }, max_attempts: 3 }));
    for (let i = 0; i < TOTAL; i += 500) {
      const r = await api(server.url, 'POST', '/api/v1/tasks/batch', { tasks: tasks.slice(i, i + 500) });
      expect(r.status).toBe(201);
    }
    // Let a good share run, then pull the plug.
    for (;;) {
      const r = await api(server.url, 'GET', '/api/v1/tasks?status=completed&limit=1000');
      if (r.body.tasks.length >= 300) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    await server.kill('SIGKILL');
    const port = Number(new URL(server.url).port);

    server = await startServerProcess(dir, config, port);
    const deadline = Date.now() + 180_000;
    for (;;) {
      const r = await api(server.url, 'GET', '/api/v1/tasks?status=pending,running,cancelling&limit=1');
      if (r.body.tasks.length === 0) break;
      if (Date.now() > deadline) throw new Error('tasks did not finish after restart');
      await new Promise((res) => setTimeout(res, 100));
    }
    await server.kill('SIGTERM');
    server = null;

    const db = new Database(join(dir, 'state', 'lakeray.db'), { readonly: true });
    const byStatus = db.prepare('SELECT status, COUNT(*) AS n FROM tasks GROUP BY status').all() as { status: string; n: number }[];
    const total = byStatus.reduce((a, r) => a + r.n, 0);
    expect(total).toBe(TOTAL);
    expect(byStatus.filter((r) => !['completed', 'failed', 'cancelled'].includes(r.status))).toEqual([]);
    const twice = db
      .prepare(
        `SELECT task_id, COUNT(*) AS n FROM events WHERE type = 'state' AND json_extract(data, '$.status') = 'completed'
         GROUP BY task_id HAVING n > 1`,
      )
      .all();
    expect(twice).toEqual([]);
    const succeeded = byStatus.find((r) => r.status === 'completed')?.n ?? 0;
    expect(succeeded).toBe(TOTAL); // every task had attempts left to finish after the crash
    const recovered = db.prepare(`SELECT COUNT(*) AS n FROM events WHERE type = 'state' AND json_extract(data, '$.reason') = 'lease_lost'`).get() as { n: number };
    expect(recovered.n).toBeGreaterThan(0);
    db.close();
  });
});
