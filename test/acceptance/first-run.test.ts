/**
 * README's first command on a fresh machine: `lakeray up --examples` (what `npm start` runs
 * after setup) in a fresh working directory.
 *
 * With Debian's dataset-fashion-mnist installed, the banner reports mnist_clean ingested (70,000
 * rows), and a second start finds it in the lake at once. Without it, the ingestion's failure is
 * never silent: one line with the command that fixes it, in the terminal, in `lakeray demo
 * mnist`, on the Draw page and on /demo/mnist.
 *
 * "Without it" is this machine with /usr/share/datasets hidden behind an empty folder in a
 * private mount namespace (unshare -m, as root): the server, its Python workers and the script
 * see exactly what a machine without the package has. Where unshare is not allowed, the
 * script's folder is pointed at an empty one instead (LAKERAY_MNIST_DIR), with its own fix line.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureWebBuilt, launchBrowser, openPage } from '../e2e/helpers.ts';
import { api, tempDir } from '../helpers/server-process.ts';
import { runCli } from '../integration/cli/harness.ts';
import { startUp, type UpProcess } from './up-process.ts';

const DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';
const canHide = process.getuid?.() === 0 && spawnSync('unshare', ['-m', 'true']).status === 0;
const FIX = 'https://github.com/zalandoresearch/fashion-mnist';

describe('without the dataset', () => {
  let up: UpProcess;
  let browser: Browser;
  let expected: string;

  beforeAll(async () => {
    await ensureWebBuilt();
    const empty = mkdtempSync(join(tmpdir(), 'lakeray-no-datasets-'));
    if (canHide) {
      // As on a machine without the package: no /usr/share/datasets/fashion-mnist at all. The server runs as root here.
      expected = `Fashion-MNIST is not installed (no IDX files in ${DEBIAN_DIR}). Fix: apt-get install dataset-fashion-mnist`;
      up = await startUp(tempDir('lakeray-first-run-'), ['--examples'], {
        wrap: (argv) => ['unshare', '-m', 'sh', '-c', `mount --bind ${empty} /usr/share/datasets && exec "$@"`, 'sh', ...argv],
      });
    } else {
      expected = `Fashion-MNIST not found (no train-images-idx3-ubyte[.gz] in ${empty}). Fix: put the four *-ubyte.gz files of ${FIX} there`;
      up = await startUp(tempDir('lakeray-first-run-'), ['--examples'], { env: { LAKERAY_MNIST_DIR: empty } });
    }
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    expect(await up?.stop()).toBe(0);
  });

  it('the terminal reports the failed ingestion in one line with the fix', async () => {
    const task = (await up.waitFor(/ingesting \(task (\S+);/))[1];
    await up.waitFor(/was not ingested/, 'stderr', 60_000);
    const lines = up.stderr().split('\n').filter((l) => l.includes('mnist_clean'));
    expect(lines).toEqual([`  ✗ dataset mnist_clean was not ingested: ${expected}`]);
    const t = (await api(up.url, 'GET', `/api/v1/tasks/${task}`)).body;
    expect(t.error).toEqual({ code: 'INPUT_NOT_FOUND', message: expected });
  }, 90_000);

  it('`lakeray demo mnist` stops at ingestion with the same one line and exit 1', async () => {
    const rejected = () => up.stdout().split('\n').filter((l) => l.includes('"msg":"request rejected"')).length;
    const before = rejected();
    const r = await runCli(['--url', up.url, 'demo', 'mnist']);
    // It asks whether the dataset exists through the list, not by a 404 the server would log.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(rejected()).toBe(before);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`error INPUT_NOT_FOUND: ${expected}\n`);
    expect(r.out).toContain('▶ ingest Fashion-MNIST into dataset mnist_clean');
    expect(r.out).not.toContain('train the CNN');
  }, 60_000);

  it('the Draw page and /demo/mnist show the line', async () => {
    const draw = await openPage(browser, `${up.url}/draw`);
    await draw.page.getByText(expected, { exact: true }).waitFor({ timeout: 15_000 });
    expect(draw.errors).toEqual([]);
    await draw.page.context().close();
    const html = await (await request(`${up.url}/demo/mnist`)).body.text();
    expect(html).toContain(`<p class="missing" role="alert">${expected}</p>`);
  }, 60_000);
});

describe.runIf(existsSync(DEBIAN_DIR) || process.env.CI)('with the dataset', () => {
  it('ends with mnist_clean ingested, and a second start finds it at once', async () => {
    const cwd = tempDir('lakeray-first-run-ok-');
    const first = await startUp(cwd, ['--examples']);
    try {
      const task = (await first.waitFor(/ingesting \(task (\S+);/))[1];
      const done = await first.waitFor(/^ {2}✓ dataset mnist_clean: 70,000 rows ingested in [\d.]+ s \(task (\S+)\)$/m, 'stdout', 180_000);
      expect(done[1]).toBe(task);
      expect((await api(first.url, 'GET', '/api/v1/datasets/mnist_clean')).body.num_rows).toBe(70_000);
      expect(first.stderr()).not.toContain('mnist_clean');
    } finally {
      expect(await first.stop()).toBe(0);
    }
    const second = await startUp(cwd, ['--examples']);
    try {
      // The banner's first line can arrive in a chunk of its own: wait for the dataset's line.
      await second.waitFor(/^ {2}✓ dataset mnist_clean is in the lake$/m, 'stdout', 30_000);
      expect(second.stdout()).not.toContain('ingesting');
    } finally {
      expect(await second.stop()).toBe(0);
    }
  }, 300_000);
});
