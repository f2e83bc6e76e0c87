/** The real `bin/lakeray.js`, run as npm would: through a symlink in a node_modules/.bin. */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeApi, makeTask } from './fake-api.ts';

const run = promisify(execFile);
const bin = resolve(import.meta.dirname, '../../../bin/lakeray.js');
let dir: string;
let link: string;
let api: FakeApi;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lakeray-bin-'));
  mkdirSync(join(dir, 'node_modules/.bin'), { recursive: true });
  link = join(dir, 'node_modules/.bin/lakeray');
  symlinkSync(bin, link);
  api = await new FakeApi().start();
  api.add({ task: makeTask({ id: 'tsk_bin' }), events: [] });
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await api.stop();
});

const exec = async (args: string[]) => {
  try {
    const { stdout, stderr } = await run(link, args, { cwd: dir, env: { ...process.env, LAKERAY_URL: api.url } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
};

describe('bin/lakeray.js', () => {
  it('runs through a symlink and exits with the CLI code', { timeout: 30_000 }, async () => {
    const help = await exec(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: lakeray');
    const tasks = await exec(['tasks']);
    expect(tasks).toMatchObject({ code: 0 });
    expect(tasks.stdout).toContain('tsk_bin');
    expect((await exec(['tasks', '--limit', 'x'])).code).toBe(2);
  });
});
