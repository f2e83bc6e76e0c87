/**
 * One real server for the isolation tests (startServer: real engine, SQLite, lake, Python
 * harness), and tenants' callers built the way the auth layer builds them. Until API keys
 * route a request to a tenant, another tenant's tasks are submitted through the engine and its
 * lake is reached with its tasks' tokens, exactly as a script reaches it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { expect } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import type { Task } from '../../../src/domain/task.ts';
import type { Caller } from '../../../src/engine/task-service.ts';
import arrow from '../../../src/lake/arrow.ts';
import { startServer, type RunningServer } from '../../../src/main.ts';
import { tempDir } from '../../helpers/server-process.ts';
import { until } from '../../helpers/until.ts';

export const ARROW = 'application/vnd.apache.arrow.stream';
export const ARROW_FILE_REF = 'application/vnd.lakeray.arrow-file+json';

export const callerOf = (tenant: string): Caller => ({ tenant, role: 'admin', key_id: null }) as Caller;

export const ipc = (rows: number): Buffer =>
  Buffer.from(arrow.tableToIPC(arrow.tableFromArrays({ x: Float64Array.from({ length: rows }, (_, i) => i) }), 'stream'));

export interface IsolationServer {
  server: RunningServer;
  dir: string;
  /** A python task of `tenant` held running until released; its token for its attempt. */
  hold(tenant: string): Promise<{ task: Task; token: string; release(): void }>;
  /** Submits as `tenant` and waits for the end. */
  runAs(tenant: string, input: Record<string, unknown>): Promise<Task>;
  close(): Promise<void>;
}

let n = 0;

export async function startIsolationServer(extra: Record<string, unknown> = {}): Promise<IsolationServer> {
  const dir = tempDir('lakeray-isolation-');
  const config = parseConfig(
    {
      state_dir: join(dir, 'state'),
      lake: { root: join(dir, 'lake') },
      script_roots: [join(import.meta.dirname, 'scripts')],
      data_roots: [join(dir, 'data')],
      executors: { local: { cpu: 8, kill_grace_ms: 1000 } },
      ...extra,
    },
    dir,
    {},
  );
  const server = await startServer({ config, port: 0, logLevel: 'silent' });
  const ended = (tenant: string, id: string) =>
    until(`task ${id} to end`, async () => {
      const t = await server.engine.get(callerOf(tenant), id);
      return ['completed', 'failed', 'cancelled'].includes(t.status) ? t : null;
    }, 60_000);
  return {
    server,
    dir,
    async hold(tenant) {
      const release = join(dir, `release-${n++}`);
      const { task } = (await server.engine.submit(callerOf(tenant), [{ script: 'waits.py', params: { release } }]))[0]!;
      const running = await until(`task ${task.id} to run`, async () => ((t) => (t.status === 'running' ? t : null))(await server.engine.get(callerOf(tenant), task.id)), 30_000);
      return { task: running, token: server.tokens.mint(running.id, running.attempt), release: () => writeFileSync(release, '') };
    },
    async runAs(tenant, input) {
      const { task } = (await server.engine.submit(callerOf(tenant), [input as never]))[0]!;
      return ended(tenant, task.id);
    },
    close: () => server.close(),
  };
}

/** A lake request; `headers` as given (a token, X-Lakeray-Task, Accept). */
export async function lakeCall(url: string, method: string, path: string, headers: Record<string, string> = {}, body?: Buffer): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  const r = await request(`${url}${path}`, { method: method as 'GET', headers: body === undefined ? headers : { 'content-type': ARROW, ...headers }, body });
  return { status: r.statusCode, headers: r.headers, text: await r.body.text() };
}

export const expectError = (r: { status: number; text: string }, status: number, code: string): void => {
  expect(r.status, r.text).toBe(status);
  expect(JSON.parse(r.text).error.code).toBe(code);
};
