/**
 * Starts `lakeray up` as a real child process on 127.0.0.1 with its own state directory and
 * config, for tests that kill the server (fault tests) or need a separate process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { stringify } from 'yaml';

export const ROOT = resolve(import.meta.dirname, '../..');

export const freePort = (): Promise<number> =>
  new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });

export interface ServerProcess {
  url: string;
  dir: string;
  child: ChildProcess;
  output: () => string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function tempDir(prefix = 'lakeray-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Write `lakeray.yaml` into dir (state in dir/.lakeray) and return its path. */
export function writeConfig(dir: string, config: Record<string, unknown>): string {
  const path = join(dir, 'lakeray.yaml');
  writeFileSync(path, stringify({ state_dir: join(dir, 'state'), log_level: 'warn', ...config }));
  return path;
}

/**
 * `args`: more options for `lakeray up` (e.g. `--role api`), `env`: more environment. Ready means this child said it
 * runs at the URL and /ready answers 200: a port from freePort() is free when picked, not
 * when the child binds it, and another test's server that took it meanwhile would answer
 * /ready too. A child that lost its port that way is started again on another.
 */
export async function startServerProcess(
  dir: string,
  configPath: string,
  port?: number,
  args: readonly string[] = [],
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(dir, configPath, port ?? (await freePort()), args, env);
    } catch (err) {
      if (port !== undefined || attempt >= 3 || !String((err as Error).message).includes('EADDRINUSE')) throw err;
    }
  }
}

async function startOnce(dir: string, configPath: string, p: number, args: readonly string[], env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/lakeray.js'), 'up', '--config', configPath, '--port', String(p), ...args], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LAKERAY_LOG_LEVEL: 'warn', ...env },
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const url = `http://127.0.0.1:${p}`;
  // A cold start takes 5–10 s; several at once on a loaded 2-core machine, over 30.
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited ${child.exitCode}:\n${out}`);
    if (out.includes(`running at ${url}`)) {
      try {
        const r = await request(`${url}/ready`);
        await r.body.text();
        if (r.statusCode === 200) break;
      } catch {
        // not answering yet
      }
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server not ready in 90 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    dir,
    child,
    output: () => out,
    kill: (signal = 'SIGTERM') =>
      new Promise((res) => {
        if (child.exitCode !== null || child.signalCode !== null) return res();
        child.once('exit', () => res());
        child.kill(signal);
      }),
  };
}

export async function api<T = any>(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const r = await request(`${url}${path}`, {
    method: method as 'GET',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.body.text();
  return { status: r.statusCode, body: (text ? JSON.parse(text) : null) as T };
}
