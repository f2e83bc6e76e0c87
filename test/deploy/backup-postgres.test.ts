/**
 * docs/operations.md's PostgreSQL backup and restore, with the page's own pg_dump and
 * pg_restore lines run by a shell: a dump of a live server's store, then the restore over the
 * same database (which holds newer rows and the same schema) with Lakeray stopped. The restored
 * store has the dump's tasks, not the one made after, and takes new ones. The process is an
 * `--role api` one (it stores and reads; no executor to own), as the API pods that a restore stops.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { usePostgres } from '../helpers/postgres-server.ts';
import { api, freePort, ROOT, tempDir, writeConfig } from '../helpers/server-process.ts';
import { until } from '../helpers/until.ts';

const postgres = usePostgres();

/** The page's shell line that starts with `command`. */
function docLine(command: string): string {
  const line = readFileSync(join(ROOT, 'docs/operations.md'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${command} `));
  if (!line) throw new Error(`docs/operations.md: no \`${command}\` line`);
  return line;
}

/** `lakeray up --role api` on `port`, ready; returns its stop. */
async function startApi(config: string, port: number): Promise<{ url: string; stop(): Promise<number | null> }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/lakeray.js'), 'up', '--role', 'api', '--config', config, '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (out += b));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    return exited;
  };
  await until('the api process ready', async () => child.exitCode === null && (await api(url, 'GET', '/ready').catch(() => ({ status: 0 }))).status === 200, 60_000, 100).catch(async (e: Error) => {
    await stop();
    throw new Error(`${e.message}\n${out}`);
  });
  return { url, stop };
}

describe('PostgreSQL backup and restore (docs/operations.md)', () => {
  let stopServer: (() => Promise<number | null>) | undefined;
  afterEach(async () => {
    await stopServer?.();
  });

  it('restores what the dump of a live store held', { timeout: 180_000 }, async () => {
    const url = await (await postgres()).createDatabase();
    const dir = tempDir();
    const config = writeConfig(dir, { store: { kind: 'postgres', url }, script_roots: [join(ROOT, 'test/fixtures/scripts')], data_roots: [join(dir, 'data')] });
    const port = await freePort();
    let server = await startApi(config, port);
    stopServer = server.stop;
    const submit = async () => {
      const r = await api(server.url, 'POST', '/api/v1/tasks', { script: 'waits.mjs', params: { ms: 10 } });
      expect(r.status).toBe(201);
      return r.body.id as string;
    };
    const before = [await submit(), await submit()];
    const shell = (line: string) => execFileSync('bash', ['-c', line], { cwd: dir, env: { ...process.env, LAKERAY_STORE_URL: url }, stdio: 'pipe' });
    shell(docLine('pg_dump')); // while the server runs
    const after = await submit();

    expect(await server.stop()).toBe(0);
    shell(docLine('pg_restore'));
    server = await startApi(config, port);
    stopServer = server.stop;
    for (const id of before) expect((await api(server.url, 'GET', `/api/v1/tasks/${id}`)).body.status).toBe('pending');
    expect((await api(server.url, 'GET', `/api/v1/tasks/${after}`)).status).toBe(404);
    const listed = (await api(server.url, 'GET', '/api/v1/tasks')).body.tasks.map((t: { id: string }) => t.id);
    expect(listed.sort()).toEqual([...before].sort());
    await submit(); // the restored store takes new tasks (its sequences came back with it)
  });
});
