/**
 * A task's process gets an allowlisted environment (src/executors/local/task-env.ts), not the
 * server's: a real server whose own environment holds a cloud key and the store's URL runs a
 * script, cold and in a warm pool, that returns and prints its environment; neither secret is
 * in it, while what the runtime needs (PATH, the task's LAKERAY_* protocol variables) and what
 * `pass_env` names are.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { startServer, type RunningServer } from '../../../src/main.ts';
import { api, tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';

const SECRET = 'wJalrXUtnFEMI-not-a-real-key-3f1c';
const STORE_URL = 'postgres://lakeray:hunter2-store-password@db.internal/lakeray';
const SECRETS = { AWS_SECRET_ACCESS_KEY: SECRET, LAKERAY_STORE_URL: STORE_URL, LAKERAY_ADMIN_KEY: 'lr_admin_secret' };
let server: RunningServer;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  for (const [k, v] of Object.entries({ ...SECRETS, HF_HOME: '/models/hf' })) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  const dir = tempDir('lakeray-task-env-');
  // parseConfig is given no environment: the server's config is not the point, its process env is.
  const config = parseConfig(
    {
      state_dir: join(dir, 'state'),
      script_roots: [join(import.meta.dirname, 'scripts')],
      data_roots: [dir],
      executors: { local: { cpu: 2, pass_env: ['HF_HOME'], pools: [{ name: 'warm', runtime: 'python', min: 0, max: 1 }] } },
    },
    dir,
    {},
  );
  server = await startServer({ config, port: 0, logLevel: 'silent' });
});

afterAll(async () => {
  await server?.close();
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

const runEnv = async (body: Record<string, unknown>): Promise<{ env: Record<string, string>; logs: string }> => {
  const r = await api(server.url, 'POST', '/api/v1/tasks', { script: 'print_env.py', ...body });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  const id = r.body.id as string;
  const task = await until(`task ${id} to end`, async () => {
    const t = (await api(server.url, 'GET', `/api/v1/tasks/${id}`)).body;
    return ['completed', 'failed', 'cancelled'].includes(t.status) ? t : null;
  }, 60_000);
  expect(task.status, JSON.stringify(task.error)).toBe('completed');
  const events = (await api(server.url, 'GET', `/api/v1/tasks/${id}/events?limit=1000`)).body;
  return { env: task.result.env, logs: JSON.stringify(events) };
};

describe('task environment', () => {
  for (const [how, body] of [['cold', {}], ['warm pool', { pool: 'warm' }]] as const) {
    it(`a ${how} task sees no secret of the server's environment`, async () => {
      const { env, logs } = await runEnv(body);
      for (const [name, value] of Object.entries(SECRETS)) {
        expect(env[name], name).toBeUndefined();
        expect(JSON.stringify(env)).not.toContain(value);
        expect(logs).not.toContain(value);
      }
      expect(env.PATH).toBe(process.env.PATH);
      expect(env.HF_HOME).toBe('/models/hf'); // named in pass_env
      expect(env.LAKERAY_TASK_ID).toMatch(/.+/);
      expect(env.LAKERAY_TASK_TOKEN).toMatch(/^lrt1\./);
      expect(env.CUDA_VISIBLE_DEVICES).toBe('');
    });
  }
});
