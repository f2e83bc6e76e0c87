/**
 * `lakeray keys`: made straight in the configured store (while the server runs), usable at
 * once over HTTP, listed without secrets, refused from the next request on once revoked.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../../src/main.ts';
import { ROOT, tempDir } from '../../helpers/server-process.ts';
import { runCli } from './harness.ts';

let dir: string;
let server: RunningServer;

beforeAll(async () => {
  dir = tempDir('lakeray-cli-keys-');
  writeFileSync(
    join(dir, 'lakeray.yaml'),
    `state_dir: ${join(dir, 'state')}\nscript_roots: [${join(ROOT, 'test/fixtures/scripts')}]\nlake: {root: ${join(dir, 'lake')}}\nauth: {mode: keys}\nexecutors: {local: {cpu: 1}}\n`,
  );
  server = await startServer({ configPath: join(dir, 'lakeray.yaml'), port: 0, host: '127.0.0.1', logLevel: 'silent' });
}, 120_000);
afterAll(async () => server?.close());

const status = async (key: string): Promise<number> => (await fetch(`${server.url}/api/v1/tasks`, { headers: { authorization: `Bearer ${key}` } })).status;

describe('lakeray keys', () => {
  it('create prints the key once; it works at once; ls never shows it; revoke refuses it', async () => {
    expect((await fetch(`${server.url}/api/v1/tasks`)).status).toBe(401);
    const made = await runCli(['keys', 'create', '--tenant', 'acme', '--role', 'viewer', '--expires', '30d', '--name', 'ci'], { cwd: dir });
    expect(made.code).toBe(0);
    const key = made.out.trim();
    expect(key).toMatch(/^lrk1\.k[0-9a-f]{16}\.\S{43}$/);
    expect(made.err).toMatch(/shown once/);
    expect(await status(key)).toBe(200);

    const id = key.split('.')[1]!;
    const ls = await runCli(['keys', 'ls'], { cwd: dir });
    expect(ls.out).toContain(id);
    expect(ls.out).toMatch(new RegExp(`${id}\\s+acme\\s+viewer\\s+active`));
    expect(ls.out).not.toContain(key.split('.')[2]);
    const json = JSON.parse((await runCli(['--json', 'keys', 'ls', '--tenant', 'acme'], { cwd: dir })).out);
    expect(json).toEqual([expect.objectContaining({ id, tenant: 'acme', role: 'viewer', name: 'ci' })]);
    expect(JSON.stringify(json)).not.toMatch(/hash|secret/);

    expect(await runCli(['keys', 'revoke', id], { cwd: dir })).toMatchObject({ code: 0, out: `revoked ${id}\n` });
    expect(await status(key)).toBe(401);
    expect((await runCli(['keys', 'ls'], { cwd: dir })).out).toMatch(new RegExp(`${id}\\s+acme\\s+viewer\\s+revoked`));
    const again = await runCli(['keys', 'revoke', id], { cwd: dir });
    expect([again.code, again.err]).toEqual([1, expect.stringContaining('KEY_NOT_FOUND')]);
  });

  it('refuses a bad role, tenant, expiry or id as usage errors', async () => {
    for (const args of [
      ['keys', 'create', '--tenant', 'acme', '--role', 'root'],
      ['keys', 'create', '--tenant', 'Not A Tenant', '--role', 'admin'],
      ['keys', 'create', '--tenant', 'acme', '--role', 'admin', '--expires', 'soon'],
      ['keys', 'create', '--tenant', 'acme', '--role', 'admin', '--expires', '2001-01-01'],
      ['keys', 'revoke', 'nope'],
    ]) {
      const r = await runCli(args, { cwd: dir });
      expect([args.join(' '), r.code]).toEqual([args.join(' '), 2]);
    }
  });
});
