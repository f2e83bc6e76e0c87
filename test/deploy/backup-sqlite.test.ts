/**
 * docs/operations.md's SQLite backup and restore, as written there: the online backup command
 * (taken from the page itself) run against a live server's database, then the restore steps.
 * The restored server has the tasks of the backup, with their states, and not the ones made after.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { api, freePort, ROOT, startServerProcess, tempDir, writeConfig, type ServerProcess } from '../helpers/server-process.ts';
import { until } from '../helpers/until.ts';

/** The page's `node -e "…"` backup line, with its two paths. */
function docBackupCommand(): { script: string; db: string; backup: string } {
  const doc = readFileSync(join(ROOT, 'docs/operations.md'), 'utf8');
  const m = /^node -e "(.*)"$/m.exec(doc);
  if (!m) throw new Error('docs/operations.md: no `node -e "…"` backup line');
  const paths = [...m[1]!.matchAll(/'([^']+\.db)'/g)].map((x) => x[1]!);
  return { script: m[1]!, db: paths[0]!, backup: paths[1]! };
}

describe('SQLite backup and restore (docs/operations.md)', () => {
  let server: ServerProcess | undefined;
  afterEach(async () => {
    await server?.kill('SIGTERM');
  });

  it('restores what the online backup of a live server held', { timeout: 120_000 }, async () => {
    const dir = tempDir();
    const config = writeConfig(dir, { script_roots: [join(ROOT, 'test/fixtures/scripts')], data_roots: [join(dir, 'data')] });
    const port = await freePort();
    server = await startServerProcess(dir, config, port);
    const submit = async () => {
      const r = await api(server!.url, 'POST', '/api/v1/tasks', { script: 'waits.mjs', params: { ms: 10 } });
      expect(r.status).toBe(201);
      return r.body.id as string;
    };
    const before = [await submit(), await submit()];
    await until('both tasks succeeded', async () => (await api(server!.url, 'GET', '/api/v1/tasks?status=completed')).body.tasks.length === 2, 60_000);

    const cmd = docBackupCommand();
    const db = join(dir, 'state', 'lakeray.db');
    const backup = join(dir, 'backup.db');
    expect(cmd.db).toBe('.lakeray/lakeray.db');
    execFileSync(process.execPath, ['-e', cmd.script.replaceAll(cmd.db, db).replaceAll(cmd.backup, backup)], { cwd: ROOT, stdio: 'pipe' });
    const after = await submit(); // made after the backup: the restore must not have it

    // Restore: stop the server, replace the database, delete -wal and -shm, start.
    await server.kill('SIGTERM');
    copyFileSync(backup, db);
    for (const f of [`${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
    expect(existsSync(`${db}-wal`)).toBe(false);
    server = await startServerProcess(dir, config, port);
    for (const id of before) expect((await api(server.url, 'GET', `/api/v1/tasks/${id}`)).body.status).toBe('completed');
    expect((await api(server.url, 'GET', `/api/v1/tasks/${after}`)).status).toBe(404);
  });
});
