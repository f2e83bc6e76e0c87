/**
 * End-to-end tests of the web UI: the real server in-process (startServer, real SQLite, real
 * executor, real LanceDB on a temp directory), the built UI it serves, and Debian's Chromium
 * driven by playwright-core. Every page a test opens records console errors and uncaught
 * exceptions; `expectNoConsoleErrors` fails the test on any of them.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type ConsoleMessage, type Page } from 'playwright-core';
import { request } from 'undici';
import { expect } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import arrow, { type Table } from '../../src/lake/arrow.ts';
import { PACKAGE_ROOT, type RunningServer, startServer } from '../../src/main.ts';
import { buildWeb } from '../../web/build.ts';
import { api, tempDir } from '../helpers/server-process.ts';

export { api };
export { until } from '../helpers/until.ts';

export const CHROMIUM = process.env.LAKERAY_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(import.meta.dirname, 'screenshots');
export const DESKTOP = { width: 1360, height: 900 };
export const PHONE = { width: 375, height: 780 };

/** The same step scripts/setup.sh runs: build web/dist unless it is up to date. */
export const ensureWebBuilt = (): Promise<boolean> => buildWeb({ ifStale: true, quiet: true });

export interface E2EServer {
  url: string;
  server: RunningServer;
  dir: string;
  close(): Promise<void>;
}

/**
 * A fresh platform on a free port: examples/ as the script root, a temp lake and state.
 * `more`: further script roots and named executors (e.g. a Ray executor).
 */
export async function startE2EServer(prefix = 'lakeray-e2e-', cpu = 4, more: { scriptRoots?: string[]; executors?: Record<string, unknown> } = {}): Promise<E2EServer> {
  await ensureWebBuilt();
  const dir = tempDir(prefix);
  mkdirSync(join(dir, 'data'), { recursive: true });
  const config = parseConfig(
    {
      state_dir: join(dir, 'state'),
      lake: { root: join(dir, 'lake') },
      script_roots: [join(PACKAGE_ROOT, 'examples'), join(import.meta.dirname, 'scripts'), ...(more.scriptRoots ?? [])],
      data_roots: [join(dir, 'data')],
      executors: { local: { cpu, kill_grace_ms: 1000 }, ...more.executors },
    },
    dir,
    {},
  );
  const server = await startServer({ config, port: 0, host: '127.0.0.1', logLevel: 'silent' });
  return { url: server.url, server, dir, close: () => server.close() };
}

export const launchBrowser = (): Promise<Browser> => chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'] });

/** Requests the UI may make to routes a server without the video backend does not have. */
const OPTIONAL_ROUTES = [/\/v1\/video\//, /\/api\/v1\/uploads/, /\/api\/v1\/tasks\/[^/]+\/artifacts/];

export interface UiPage {
  page: Page;
  errors: string[];
}

export async function openPage(browser: Browser, url: string, viewport = DESKTOP, opts: { allowHttpErrors?: RegExp[] } = {}): Promise<UiPage> {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, reducedMotion: 'reduce' });
  const page = await context.newPage();
  const errors: string[] = [];
  const allowed = [...OPTIONAL_ROUTES, ...(opts.allowHttpErrors ?? [])];
  page.on('console', (msg: ConsoleMessage) => {
    if (msg.type() !== 'error') return;
    // Chrome logs every 4xx/5xx answer as "Failed to load resource"; an optional route that
    // is not there (yet) is not a page error: the page shows it in words.
    const where = msg.location().url ?? '';
    if (/Failed to load resource/.test(msg.text()) && allowed.some((r) => r.test(where))) return;
    errors.push(`${msg.text()} (${where})`);
  });
  page.on('pageerror', (err) => errors.push(`uncaught: ${err.message}`));
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  return { page, errors };
}

export function expectNoConsoleErrors(p: UiPage): void {
  expect(p.errors, p.errors.join('\n')).toEqual([]);
}

/** A screenshot at test/e2e/screenshots/<name>.png: the full page, or what the window shows. */
export async function screenshot(page: Page, name: string, { fullPage = true }: { fullPage?: boolean } = {}): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage, animations: 'disabled' });
}

/** No skeleton left on the page (everything it loads has arrived). */
export const settled = async (page: Page): Promise<void> => {
  await page.waitForFunction('document.querySelectorAll(".skeleton").length === 0', undefined, { timeout: 15_000 });
};

/** n rows of an MNIST-like table: a FixedSizeList<Float32>[784] image (a ring), a label, a split. */
export function mnistLike(n: number): Table<any> {
  const values = new Float32Array(n * 784);
  for (let r = 0; r < n; r++) {
    const radius = 5 + (r % 5);
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        const d = Math.hypot(x - 13.5, y - 13.5);
        values[r * 784 + y * 28 + x] = Math.max(0, 1 - Math.abs(d - radius) / 1.5);
      }
    }
  }
  const child = arrow.makeData({ type: new arrow.Float32(), length: values.length, data: values });
  const listType = new arrow.FixedSizeList(784, new arrow.Field('item', new arrow.Float32(), true));
  const image = arrow.makeVector(arrow.makeData({ type: listType, length: n, nullCount: 0, child }));
  const label = arrow.vectorFromArray(
    Array.from({ length: n }, (_, i) => BigInt(i % 10)),
    new arrow.Int64(),
  );
  const split = arrow.vectorFromArray(
    Array.from({ length: n }, (_, i) => (i % 7 === 0 ? 'test' : 'train')),
    new arrow.Utf8(),
  );
  return new arrow.Table({ image, label, split });
}

export async function putDataset(url: string, name: string, table: Table<any>): Promise<void> {
  const r = await request(`${url}/api/v1/datasets/${name}/arrow?mode=overwrite`, {
    method: 'PUT',
    body: Buffer.from(arrow.tableToIPC(table, 'stream')),
    headers: { 'content-type': 'application/vnd.apache.arrow.stream' },
  });
  const text = await r.body.text();
  expect(r.statusCode, text).toBe(200);
}

/** Whether the video-generation backend answers on this server. */
export async function videoBackendReady(url: string): Promise<boolean> {
  try {
    const r = await request(`${url}/v1/video/models`);
    await r.body.text();
    return r.statusCode === 200;
  } catch {
    return false;
  }
}
