/**
 * Starts a Lakeray server in this process for a benchmark, with its own temp state dir and a
 * config built from `overrides`, plus a tiny HTTP client. Submissions go through the public
 * API; completion is observed through the engine's event subscription (no polling).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { parseConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { startServer, type RunningServer } from '../../src/main.ts';

export const BENCH_SCRIPTS = join(import.meta.dirname, '..', 'scripts');

export interface BenchPlatform {
  server: RunningServer;
  /** The parsed config the server runs with (its lake root, state dir, …). */
  config: Readonly<Config>;
  post<T = any>(path: string, body: unknown, headers?: Record<string, string>): Promise<T>;
  close(): Promise<void>;
}

export async function startPlatform(overrides: Record<string, unknown>): Promise<BenchPlatform> {
  const dir = mkdtempSync(join(tmpdir(), 'lakeray-bench-'));
  const config = parseConfig(
    { state_dir: join(dir, 'state'), script_roots: [BENCH_SCRIPTS], data_roots: [join(dir, 'data')], log_level: 'warn', ...overrides },
    dir,
    {},
  );
  const server = await startServer({ config, port: 0, logLevel: 'silent' });
  const pool = new Pool(server.url, { connections: 8, pipelining: 1 });
  return {
    server,
    config,
    async post(path, body, headers = {}) {
      const r = await pool.request({ path, method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
      const text = await r.body.text();
      if (r.statusCode >= 300) throw new Error(`${path} → ${r.statusCode}: ${text}`);
      return JSON.parse(text);
    },
    async close() {
      await pool.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves with each task's final event data once all `ids` reached a terminal state. */
export function waitForTerminal(server: RunningServer, count: number, onTerminal?: (id: string, status: string) => void): {
  done: Promise<Map<string, string>>;
  stop(): void;
} {
  const finished = new Map<string, string>();
  let resolve!: (m: Map<string, string>) => void;
  const done = new Promise<Map<string, string>>((r) => (resolve = r));
  const unsubscribe = server.engine.subscribe({ tenant: 'default' }, {}, (events) => {
    for (const e of events) {
      if (e.type !== 'state') continue;
      const status = e.data.status as string;
      if (status === 'completed' || status === 'failed' || status === 'cancelled') {
        finished.set(e.task_id, status);
        onTerminal?.(e.task_id, status);
      }
    }
    if (finished.size >= count) {
      unsubscribe();
      resolve(finished);
    }
  });
  return { done, stop: unsubscribe };
}
