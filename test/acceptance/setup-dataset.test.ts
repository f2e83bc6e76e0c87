/**
 * `npm start`'s setup step and the examples' dataset (scripts/fashion-mnist.sh via setup.sh):
 * with the files there it says nothing; without them it either installs Debian's package (as
 * root or through passwordless sudo) or prints one line with the command that does it — never
 * asking for a password, never failing the start.
 *
 * "A machine without the dataset" is this machine with the package's folder hidden behind an
 * empty one in a private mount namespace (unshare -m, as root), run as an unprivileged user
 * without sudo: the real script, the real apt-get and id, nothing stubbed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/main.ts';

const DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';

/** Runs argv with stdin left open (a prompt would wait on it forever: the timeout catches that). */
const run = (argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string; err: string; ms: number }> =>
  new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(argv[0]!, argv.slice(1), { cwd: PACKAGE_ROOT, env: { ...process.env, LAKERAY_MNIST_DIR: '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err, ms: Date.now() - t0 });
    });
  });

/** Hidden behind an empty folder, in a mount namespace of its own, as user nobody (no sudo). */
const withoutDataset = (command: string): string[] => {
  const empty = mkdtempSync(join(tmpdir(), 'lakeray-no-mnist-'));
  return ['unshare', '-m', 'sh', '-c', `mount --bind ${empty} ${DEBIAN_DIR} && exec setpriv --reuid=nobody --regid=nogroup --clear-groups ${command}`];
};
const canHide = existsSync(DEBIAN_DIR) && spawnSync('unshare', ['-m', 'true']).status === 0 && spawnSync('setpriv', ['--version']).status === 0;

describe('setup: the Fashion-MNIST dataset', () => {
  it.runIf(existsSync(DEBIAN_DIR))('says nothing when the dataset is installed', async () => {
    const r = await run(['bash', 'scripts/fashion-mnist.sh']);
    expect(r).toMatchObject({ code: 0, out: '', err: '' });
  });

  it('a LAKERAY_MNIST_DIR without the files: one line saying what to put there, exit 0', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'lakeray-mnist-dir-'));
    const r = await run(['bash', 'scripts/fashion-mnist.sh'], { LAKERAY_MNIST_DIR: empty });
    expect(r.code).toBe(0);
    expect(r.err).toBe(
      `lakeray setup: no Fashion-MNIST files in ${empty} (LAKERAY_MNIST_DIR), so the examples cannot ingest it. Fix: put the four *-ubyte.gz files of https://github.com/zalandoresearch/fashion-mnist there\n`,
    );
  });

  it.runIf(canHide)('not installed, no root, no sudo: one line with the apt-get command, no prompt, and setup.sh still succeeds', async () => {
    const line = 'lakeray setup: Fashion-MNIST is not installed, so the examples cannot ingest it. Fix: sudo apt-get install dataset-fashion-mnist\n';
    const alone = await run(withoutDataset('bash scripts/fashion-mnist.sh'));
    expect(alone.code).toBe(0);
    expect(alone.err).toBe(line);
    expect(alone.ms).toBeLessThan(15_000);
    const setup = await run(withoutDataset('bash scripts/setup.sh'), { LAKERAY_SKIP_WEB: '1', LAKERAY_SKIP_VENV: '1' });
    expect(setup.code, setup.err).toBe(0);
    expect(setup.err).toBe(line);
  });
});
