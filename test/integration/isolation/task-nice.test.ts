/**
 * `executors.local.nice` (src/executors/local/harness-process.ts): task processes run at the
 * configured CPU priority, cold and in a warm pool, and what they start inherits it; the server
 * itself keeps its own.
 */
import { getPriority } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { startServer, type RunningServer } from '../../../src/main.ts';
import { api, tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';

let server: RunningServer;

beforeAll(async () => {
  const dir = tempDir('lakeray-task-nice-');
  const config = parseConfig(
    {
      state_dir: join(dir, 'state'),
      script_roots: [join(import.meta.dirname, 'scripts')],
      data_roots: [dir],
      executors: { local: { cpu: 2, nice: 7, pools: [{ name: 'warm', runtime: 'python', min: 0, max: 1 }] } },
    },
    dir,
    {},
  );
  server = await startServer({ config, port: 0, logLevel: 'silent' });
});

afterAll(async () => {
  await server?.close();
});

describe('task CPU priority', () => {
  for (const [how, body] of [['cold', {}], ['warm pool', { pool: 'warm' }]] as const) {
    it(`a ${how} task and its children run at nice 7; the server does not`, async () => {
      const r = await api(server.url, 'POST', '/api/v1/tasks', { script: 'print_nice.py', ...body });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      const task = await until('task ended', async () => {
        const t = (await api(server.url, 'GET', `/api/v1/tasks/${r.body.id}`)).body;
        return ['completed', 'failed', 'cancelled'].includes(t.status) ? t : null;
      }, 60_000);
      expect(task.status, JSON.stringify(task.error)).toBe('completed');
      expect(task.result).toEqual({ nice: 7, child_nice: 7 });
      expect(getPriority()).toBe(0);
    });
  }

  it('refuses a nice value out of 0..19', () => {
    expect(() => parseConfig({ executors: { local: { nice: 20 } } }, tempDir('lakeray-nice-bad-'), {})).toThrow(/nice/);
    expect(() => parseConfig({ executors: { local: { nice: -5 } } }, tempDir('lakeray-nice-bad-'), {})).toThrow(/nice/);
  });
});
