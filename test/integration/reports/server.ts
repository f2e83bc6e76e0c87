/**
 * The reports tests' platform: a real Lakeray server (startServer, as `lakeray up` builds it)
 * on an ephemeral port, with scripts/ as its script root and a small Python warm pool.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { startServer, type RunningServer } from '../../../src/main.ts';
import { api, tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';

export const SCRIPTS = join(import.meta.dirname, 'scripts');

export interface ReportsServer {
  server: RunningServer;
  url: string;
  dir: string;
  submit(body: Record<string, unknown>): Promise<string>;
  get(id: string): Promise<any>;
  finished(id: string, ms?: number): Promise<any>;
  close(): Promise<void>;
}

export async function startReportsServer(opts: { dir?: string; port?: number; extra?: Record<string, unknown> } = {}): Promise<ReportsServer> {
  const dir = opts.dir ?? tempDir();
  mkdirSync(join(dir, 'data'), { recursive: true });
  const config = parseConfig(
    {
      state_dir: join(dir, 'state'),
      script_roots: [SCRIPTS],
      data_roots: [join(dir, 'data')],
      executors: { local: { cpu: 4, gpus: 0, kill_grace_ms: 1000, pools: [{ name: 'py', runtime: 'python', min: 0, max: 1 }] } },
      ...opts.extra,
    },
    dir,
    {},
  );
  const server = await startServer({ config, port: opts.port ?? 0, logLevel: 'silent' });
  const get = async (id: string) => (await api(server.url, 'GET', `/api/v1/tasks/${id}`)).body;
  return {
    server,
    url: server.url,
    dir,
    async submit(body) {
      const r = await api(server.url, 'POST', '/api/v1/tasks', body);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return (r.body as { id: string }).id;
    },
    get,
    finished: (id, ms) =>
      until(`task ${id} to finish`, async () => {
        const t = await get(id);
        return ['completed', 'failed', 'cancelled'].includes(t.status) ? t : null;
      }, ms),
    close: () => server.close(),
  };
}
